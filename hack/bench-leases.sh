#!/bin/bash
# Memory of the daemon with a huge, entirely unreachable fleet: N active leases on 127.200.0.0/14
# addresses where nothing answers, polled with the default [poll] settings. Samples the daemon's
# RSS (just before a scrape, and right after it) and a /metrics scrape (size, polls done) every STEP
# seconds until every BMC was polled once (or DURATION passed), then prints Markdown. The daemon
# keeps a rendered body for 1 s (concurrent scrapes share it), so "after" includes one body and
# "before" (STEP seconds after the last scrape) does not.
#
# MODE refused (default): nothing listens, so each connection is refused at once (TCP RST, ICMP
#   port unreachable): every BMC fails fast and holds a failed snapshot within seconds. This is
#   what "200,000 unreachable leases" on loopback measures, and what fills /metrics.
# MODE blackhole: a TCP listener that never accepts (its backlog full, SYNs are dropped) and a UDP
#   socket that never reads, on the Redfish and IPMI ports: each poll waits for its deadlines, as
#   with BMCs that are powered off or firewalled; few BMCs are polled per minute, so this measures
#   the cost of a fleet waiting for its first poll.
#
# After every BMC was polled once it keeps sampling for AFTER seconds (issue evaluation, scrapes),
# then times three scrapes of the whole fleet as curl asks (text) and as Prometheus asks (gzip).
#
#   hack/bench-leases.sh [N=200000] [MODE=refused] [DURATION=300] [STEP=10] [AFTER=60]
#   BIN=/tmp/old-bmc-catcher hack/bench-leases.sh      # measure another build
set -euo pipefail
N=${1:-200000}; MODE=${2:-refused}; DURATION=${3:-300}; STEP=${4:-10}; AFTER=${5:-60}
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p bmc-catcher --bin bmc-catcher
  BIN=target/release/bmc-catcher
fi
RUN=$(mktemp -d /tmp/bench-leases.XXXX)
PIDS=()
# The run's files (the daemon logs every failed poll: hundreds of MB) go with it, unless KEEP=1.
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || { sleep 1; rm -rf "$RUN"; }' EXIT
free() { python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.$1); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
RF=$(free SOCK_STREAM); IPMI=$(free SOCK_DGRAM); HTTP=$(free SOCK_STREAM)

python3 - "$RUN/dhcpd.leases" "$N" <<'PY'
import sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = int(time.time())
base = (127 << 24) | (200 << 16)
with open(path, "w") as f:
    host = 0
    for i in range(n):
        host += 1
        while host & 0xff in (0, 255):
            host += 1
        a = base + host
        ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        mac = "02:bb:" + ":".join(f"{(i >> s) & 255:02x}" for s in (24, 16, 8, 0))
        f.write(f"lease {ip} {{\n  starts epoch {now - 60};\n  ends epoch {now + 86400};\n"
                f"  binding state active;\n  hardware ethernet {mac};\n"
                f"  client-hostname \"bmc-{i}\";\n}}\n")
PY

if [ "$MODE" = blackhole ]; then
  # Listens on every loopback address (0.0.0.0) at the two free ports and never answers.
  python3 - "$RF" "$IPMI" > /dev/null 2>&1 <<'PY' & HOLE=$!; PIDS+=("$HOLE")
import socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", int(sys.argv[1]))); t.listen(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", int(sys.argv[2])))
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
while True: time.sleep(3600)
PY
  sleep 0.5
fi

printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
cat > "$RUN/config.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[redfish]
port = $RF
tls = "insecure"
[ipmi]
port = $IPMI
[http]
listen = "127.0.0.1:$HTTP"
CONF

"$BIN" run --config "$RUN/config.toml" 2> "$RUN/run.log" & D=$!; PIDS+=("$D")
echo "bench-leases: $N leases ($MODE), $(wc -c < "$RUN/dhcpd.leases") bytes, daemon $BIN pid $D, files in $RUN (removed at the end unless KEEP=1)" >&2
kib() { awk -v k="$1" '$1 == k":" {printf "%.0f", $2/1024}' "/proc/$D/status"; }
echo "| s | polls done | RSS MiB before scrape | RSS MiB after | peak RSS MiB | /metrics bytes |"
echo "|---|---|---|---|---|---|"
t=0; polls=0; size=0; done_at=""
while [ "$t" -le "$DURATION" ]; do
  kill -0 "$D" 2>/dev/null || { echo "the daemon exited: $(tail -3 "$RUN/run.log")" >&2; exit 1; }
  before=$(kib VmRSS)
  size=$(curl -s -m 60 -o "$RUN/metrics.txt" -w '%{size_download}' "http://127.0.0.1:$HTTP/metrics" || echo 0)
  polls=$(awk '/^bmc_catcher_polls_total/ {s += $2} END {printf "%d", s}' "$RUN/metrics.txt" 2>/dev/null || echo 0)
  echo "| $t | $polls | $before | $(kib VmRSS) | $(kib VmHWM) | $size |"
  [ "$polls" -ge "$N" ] && [ -z "$done_at" ] && done_at=$t
  [ -n "$done_at" ] && [ $((t - done_at)) -ge "$AFTER" ] && break
  sleep "$STEP"; t=$((t + STEP))
done
# Scrape times of the whole fleet at the end: as curl asks (text) and as Prometheus asks (gzip).
echo
echo "| scrape | bytes | seconds |"
echo "|---|---|---|"
for i in 1 2 3; do
  sleep 2
  curl -s -m 60 -o /dev/null -w "| text | %{size_download} | %{time_total} |\n" "http://127.0.0.1:$HTTP/metrics"
  sleep 2
  curl -s -m 60 -o /dev/null -H 'Accept-Encoding: gzip' -w "| gzip | %{size_download} | %{time_total} |\n" "http://127.0.0.1:$HTTP/metrics"
done
per=$(awk -v s="$size" -v n="$N" 'BEGIN {printf "%.0f", s / n}')
echo
echo "N=$N ($MODE), $(nproc) cores: polls done $polls, RSS $before MiB before the last scrape, $(kib VmRSS) MiB after it (peak $(kib VmHWM) MiB), /metrics $size bytes ($per bytes per lease)"
echo "series per family:"; grep -v '^#' "$RUN/metrics.txt" | sed -E 's/[{ ].*//' | sort | uniq -c | sort -rn | head -12
