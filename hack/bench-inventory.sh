#!/bin/bash
# How the daemon spreads its slow reads: N BMCs (bmc-sim --components, half Redfish/HTTPS, half
# IPMI) polled every 60 s with `inventory-interval` and `component-interval` at 2m, for D seconds.
# bmc-sim tallies the fleet's Redfish requests per second (--tally): all of them, the firmware
# inventory GETs (one per inventory read) and the Memory collection GETs (one per read of the parts
# in full). Prints Markdown: per kind, the average and the busiest second, in the first round
# (every BMC is new: read at once) and from 2m after the start (each read at the BMC's own slot).
#
#   hack/bench-inventory.sh [N=10000] [D=480]
set -euo pipefail
N=${1:-10000}; D=${2:-480}
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q --workspace
RUN=$(mktemp -d /tmp/bench-inventory.XXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

target/release/bmc-sim --count "$N" --first-ip 127.1.0.1 --port 0 --ipmi-port 6230 \
  --protocol redfish,ipmi --shape legacy,subsystem,sensors --components \
  --leases "$RUN/dhcpd.leases" --tally "$RUN/tally.csv" \
  > "$RUN/sim.out" 2> "$RUN/sim.err" & SIM=$!; PIDS+=("$SIM")
for _ in $(seq 600); do grep -q "leases written" "$RUN/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q "leases written" "$RUN/sim.out" || { echo "bmc-sim did not start: $(cat "$RUN/sim.err")" >&2; exit 1; }
PORT=$(grep -m1 https:// "$RUN/sim.out" | sed -E 's|.*https://[0-9.]+:([0-9]+).*|\1|')
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
HTTP=$(port)
cat > "$RUN/config.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[poll]
interval = "60s"
timeout = "30s"
concurrency = 64
inventory-interval = "2m"
component-interval = "2m"
[redfish]
port = $PORT
tls = "insecure"
[ipmi]
port = 6230
[http]
listen = "127.0.0.1:$HTTP"
CONF

# The tally counts from the simulator's start; the daemon starts a moment later.
sim_t0=$(date +%s)
target/release/bmc-catcher run --config "$RUN/config.toml" 2> "$RUN/run.log" & DAEMON=$!; PIDS+=("$DAEMON")
start=$(( $(date +%s) - sim_t0 ))
polled=0
for _ in $(seq 1200); do
  polled=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^bmc_catcher_polls_total/ {s += $2} END {print s + 0}')
  [ "${polled%.*}" -ge "$N" ] && break
  sleep 0.5
done
first=$(( $(date +%s) - sim_t0 ))
sleep $(( D - (first - start) > 0 ? D - (first - start) : 0 ))
end=$(( $(date +%s) - sim_t0 ))
steady=$(( start + 120 ))  # each BMC's next reads are due 2m after its first poll, at its own slot
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
kill -TERM "$SIM"; wait "$SIM" 2>/dev/null || true

# Per kind (column 2-4) over seconds [from, to): total, average per second, busiest second.
stats() {
  awk -F, -v c="$1" -v from="$2" -v to="$3" 'NR > 1 && $1 >= from && $1 < to {
      n++; s += $c; if ($c > m) { m = $c; at = $1 } }
    END { a = n ? s / n : 0; printf "%d | %.1f | %d (second %d) | %.2f", s, a, m, at, a ? m / a : 0 }' "$RUN/tally.csv"
}
echo
echo "N=$N simulated BMCs with components (half Redfish/HTTPS, half IPMI/RMCP+), interval 60 s, inventory-interval and component-interval 2m, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); the daemon ran ${D} s from second $start; every BMC was polled once by second $first"
echo
echo "| Redfish requests | seconds | total | average / s | busiest second | busiest / average |"
echo "|---|---|---|---|---|---|"
for k in "firmware inventory GETs:3" "Memory GETs (the parts in full):4" "all requests:2"; do
  name=${k%:*}; col=${k##*:}
  echo "| $name, first round | $start-$first | $(stats "$col" "$start" "$((first + 1))") |"
  echo "| $name, from one inventory-interval after the start | $steady-$end | $(stats "$col" "$steady" "$end") |"
done
