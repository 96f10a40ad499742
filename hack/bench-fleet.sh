#!/bin/bash
# A simulated fleet of N BMCs on one machine (bmc-sim: half Redfish over HTTPS, half IPMI over
# RMCP+, each on its own 127.x.y.z), polled by bmc-catcher:
#  1. `poll-once --rounds 3`: wall and CPU per round over the same sessions (round 1 = every
#     session handshake; rounds 2-3 = steady state), peak RSS;
#  2. the daemon (`run`): its first round, then one /metrics scrape of the whole fleet (time, size),
#     peak RSS, and the sessions the simulator saw created (must equal N, once each).
# Prints Markdown. Also reports the simulator's own CPU.
#
#   hack/bench-fleet.sh [N=10000] [CONCURRENCY=64]
#   LOGS=off hack/bench-fleet.sh      # the same without reading the BMCs' logs ([logs] enabled = false)
#   LOGS=grow hack/bench-fleet.sh     # logs on, and every BMC logs one new entry per poll
#                                     # (bmc-sim --sel-per-poll): the steady rounds follow N new entries
#   COMPONENTS=on hack/bench-fleet.sh # the Redfish BMCs serve drives, a RAID volume, DIMMs, CPUs, NIC
#                                     # ports and a firmware inventory (bmc-sim --components: 7 more
#                                     # GETs per steady poll, the firmware inventory once per day)
#   COMPONENTS=on COMPONENT_INTERVAL=0s hack/bench-fleet.sh
#                                     # ... with the parts read in full at every poll ([poll]
#                                     # component-interval; default 30m: in full only when due)
set -euo pipefail
N=${1:-10000}; CONC=${2:-64}
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q --workspace  # bmc-catcher and the bmc-sim crate's binary
RUN=$(mktemp -d /tmp/bench-fleet.XXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

t0=$(date +%s.%N)
target/release/bmc-sim --count "$N" --first-ip 127.1.0.1 --port 0 --ipmi-port 6230 \
  --protocol redfish,ipmi --shape legacy,subsystem,sensors --leases "$RUN/dhcpd.leases" \
  $( [ "${LOGS:-on}" = grow ] && echo --sel-per-poll ) \
  $( [ "${COMPONENTS:-off}" = on ] && echo --components ) \
  > "$RUN/sim.out" 2> "$RUN/sim.err" & SIM=$!; PIDS+=("$SIM")
for _ in $(seq 600); do grep -q "leases written" "$RUN/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q "leases written" "$RUN/sim.out" || { echo "bmc-sim did not start: $(cat "$RUN/sim.err")" >&2; exit 1; }
sim_start=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2-$1}')
PORT=$(grep -m1 https:// "$RUN/sim.out" | sed -E 's|.*https://[0-9.]+:([0-9]+).*|\1|')
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
HTTP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$RUN/config.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[poll]
interval = "10m"
timeout = "30s"
concurrency = $CONC
protocol = "auto"
[redfish]
port = $PORT
tls = "insecure"
[ipmi]
port = 6230
[http]
listen = "127.0.0.1:$HTTP"
CONF
if [ -n "${COMPONENT_INTERVAL:-}" ]; then
  sed -i "s/^protocol = \"auto\"$/&\ncomponent-interval = \"$COMPONENT_INTERVAL\"/" "$RUN/config.toml"
fi
if [ "${LOGS:-on}" = off ]; then printf '[logs]\nenabled = false\n' >> "$RUN/config.toml"; fi

# 1. poll-once, three rounds over the same sessions.
s0=$(cpu "$SIM")
/usr/bin/time -f "%M" -o "$RUN/rss.txt" target/release/bmc-catcher poll-once --config "$RUN/config.toml" \
  --rounds 3 > /dev/null 2> "$RUN/rounds.log" || [ $? -eq 2 ]  # 2: some BMC answered nothing
s1=$(cpu "$SIM")
cat "$RUN/rounds.log" >&2
rss1=$(awk '{printf "%.0f", $1/1024}' "$RUN/rss.txt")

# 2. the daemon: first round, then a scrape of the whole fleet.
s2=$(cpu "$SIM")
target/release/bmc-catcher run --config "$RUN/config.toml" 2> "$RUN/run.log" & D=$!; PIDS+=("$D")
start=$(date +%s.%N)
polled=0
for _ in $(seq 1200); do
  polled=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^bmc_catcher_polls_total/ {s += $2} END {print s + 0}')
  [ "${polled%.*}" -ge "$N" ] && break
  sleep 0.5
done
round=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2-$1}')
dcpu=$(cpu "$D")
scrape=$(curl -s -o "$RUN/metrics.txt" -w '%{time_total}' "http://127.0.0.1:$HTTP/metrics")
size=$(wc -c < "$RUN/metrics.txt")
series=$(grep -vc '^#' "$RUN/metrics.txt")
up=$(grep -c '^bmc_up{.*} 1' "$RUN/metrics.txt" || true)
entries=$(awk '/^bmc_log_entries_total/ {s += $2} END {printf "%d", s}' "$RUN/metrics.txt")
rss2=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$D/status")
kill "$D"; wait "$D" 2>/dev/null || true
s3=$(cpu "$SIM")
kill -TERM "$SIM"; wait "$SIM" 2>/dev/null || true
sessions=$(grep "sessions created" "$RUN/sim.err" | tail -1)

round_of() { awk -v r="round $1:" 'index($0, r) == 1 { for (i = 1; i <= NF; i++) { if ($i == "wall,") w = $(i-2); if ($i == "CPU") c = $(i-2); if ($i == "up)") u = $(i-1) } gsub(/\(/, "", u); print w, c, u }' "$RUN/rounds.log"; }
echo
echo "N=$N simulated BMCs (half Redfish/HTTPS, half IPMI/RMCP+), logs ${LOGS:-on}, components ${COMPONENTS:-off}${COMPONENT_INTERVAL:+ (component-interval $COMPONENT_INTERVAL)}, concurrency $CONC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); simulator started in ${sim_start} s"
echo
echo "| poll-once --rounds 3 | wall s | daemon CPU s | BMCs up |"
echo "|---|---|---|---|"
for r in 1 2 3; do read -r w c u <<<"$(round_of $r)"; echo "| round $r$( [ $r = 1 ] && echo ' (every session handshake)' || echo ' (steady state)') | $w | $c | $u |"; done
echo
echo "| measure | value |"
echo "|---|---|"
echo "| poll-once peak RSS | $rss1 MiB |"
echo "| daemon first round (start to $N polls done) | $round s, $dcpu s CPU |"
echo "| daemon peak RSS | $rss2 MiB |"
echo "| /metrics scrape of the whole fleet | $scrape s, $size bytes, $series samples, bmc_up=1 for $up BMCs |"
echo "| log entries the daemon sent (bmc_log_entries_total, first round: none are new) | $entries |"
echo "| simulator CPU | $(echo "$s0 $s1" | awk '{printf "%.2f", $2-$1}') s during poll-once, $(echo "$s2 $s3" | awk '{printf "%.2f", $2-$1}') s during the daemon's round |"
echo "| simulator count (two client runs: poll-once, then the daemon) | ${sessions#bmc-sim: } |"
