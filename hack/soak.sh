#!/bin/bash
# Soak: the daemon against a simulated fleet (Redfish and IPMI alternating) for ROUNDS rounds at a
# short interval, with a third of the BMCs unreachable (their leases point at addresses where
# nothing listens, so the failure, back-off and event paths run all the time). The script samples
# the daemon's open fds, threads and RSS, prints them, and checks they stay flat (the last sample
# within 20 % + 16 of the first after warm-up).
#
# With FAULT_CYCLE (seconds), another third of the BMCs change fault while the daemon runs: good ->
# hang (10 s per answer) -> hostile (bodies that are not JSON or cut short, IPMI replies with a bad
# AuthCode) -> good, one phase per FAULT_CYCLE seconds (`bmc-sim --fault-cycle-secs`).
#
#   hack/soak.sh [ROUNDS=1000] [N=60] [INTERVAL=1s] [FAULT_CYCLE=0]
set -euo pipefail
ROUNDS=${1:-1000}; N=${2:-60}; INTERVAL=${3:-1s}; FAULT_CYCLE=${4:-0}; FAULT_CYCLE=${FAULT_CYCLE%s}
cd "$(dirname "$0")/.."
cargo build --release -q --workspace  # bmc-catcher and the bmc-sim crate's binary
RUN=$(mktemp -d /tmp/soak.XXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
target/release/bmc-sim --count "$N" --first-ip 127.0.6.1 --port 0 --ipmi-port 6232 \
  --protocol redfish,ipmi --leases "$RUN/dhcpd.leases" --fault-cycle-secs "$FAULT_CYCLE" \
  > "$RUN/sim.out" 2>&1 & SIM=$!; PIDS+=("$SIM")
for _ in $(seq 100); do grep -q "leases written" "$RUN/sim.out" && break; sleep 0.1; done
PORT=$(grep -m1 https:// "$RUN/sim.out" | sed -E 's|.*https://[0-9.]+:([0-9]+).*|\1|')
# Faulty BMCs: every third one's address points at nothing or at a black hole.
python3 - "$RUN/dhcpd.leases" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
blocks = text.split("lease ")
out = [blocks[0]]
for i, b in enumerate(blocks[1:]):
    if i % 3 == 2:
        b = re.sub(r"^127\.0\.6\.\d+", "127.0.7.%d" % (i + 1), b)   # nobody listens there
    out.append(b)
open(p, "w").write("lease ".join(out))
PY
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
HTTP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$RUN/config.toml" <<CONF
partition = "soak"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
refresh = "1s"
[poll]
interval = "$INTERVAL"
timeout = "800ms"
concurrency = 16
[redfish]
port = $PORT
tls = "insecure"
[ipmi]
port = 6232
request-timeout = "200ms"
retries = 1
keepalive = "0s"
[http]
listen = "127.0.0.1:$HTTP"
CONF
target/release/bmc-catcher run --config "$RUN/config.toml" 2> "$RUN/run.log" & D=$!; PIDS+=("$D")
secs=$(echo "$INTERVAL" | sed 's/s$//')
total=$(echo "$ROUNDS $secs" | awk '{printf "%d", $1*$2}')
cycling=""; [ "$FAULT_CYCLE" -gt 0 ] && cycling=", a third cycling good/hang/hostile every ${FAULT_CYCLE}s"
echo "soak: $N BMCs (a third unreachable$cycling), $ROUNDS rounds of $INTERVAL = ${total}s" >&2
sample() { echo "$(ls /proc/$D/fd | wc -l) $(awk '/^Threads/ {print $2}' /proc/$D/status) $(awk '/^VmRSS/ {printf "%.0f", $2/1024}' /proc/$D/status)"; }
echo "| elapsed s | polls | open fds | threads | RSS MiB |"
echo "|---|---|---|---|---|"
first=""; t=0; step=$(( total / 10 > 0 ? total / 10 : 1 ))
while [ "$t" -le "$total" ]; do
  polls=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^bmc_catcher_polls_total/ {s += $2} END {print s + 0}')
  read -r fds thr rss <<<"$(sample)"
  echo "| $t | $polls | $fds | $thr | $rss |"
  [ "$t" -ge "$step" ] && [ -z "$first" ] && first="$fds $thr $rss"
  last="$fds $thr $rss"
  sleep "$step"; t=$((t + step))
done
read -r f1 t1 r1 <<<"$first"; read -r f2 t2 r2 <<<"$last"
flat() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b <= a * 1.2 + 16) }'; }
if flat "$f1" "$f2" && flat "$t1" "$t2" && flat "$r1" "$r2"; then
  echo; echo "flat: fds $f1 -> $f2, threads $t1 -> $t2, RSS $r1 -> $r2 MiB"
else
  echo; echo "GROWING: fds $f1 -> $f2, threads $t1 -> $t2, RSS $r1 -> $r2 MiB" >&2; exit 1
fi
