#!/bin/bash
# One full poll (power state, thermal, power) of N simulated Redfish BMCs (bmc-sim, HTTPS, legacy
# Thermal/Power, sessions) by bmc-catcher (`poll-once --rounds 3`: round 1 logs in, round 3 is the
# daemon's steady state) and by Python sushy (the client OpenStack Ironic uses: a login per run,
# PAR threads), in one run. Prints a Markdown table of wall time, client CPU and ratios.
#
#   hack/bench-redfish-peers.sh [N=200] [PAR=16]
set -euo pipefail
N=${1:-200}; PAR=${2:-16}
cd "$(dirname "$0")/.."
venv=${BMC_PEERS_VENV:-/tmp/bmc-catcher-peers}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import sushy' 2>/dev/null || "$venv/bin/pip" install -q sushy
cargo build --release -q --workspace  # bmc-catcher and the bmc-sim crate's binary
RUN=$(mktemp -d /tmp/bench-redfish.XXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

target/release/bmc-sim --count "$N" --first-ip 127.0.4.1 --port 0 --shape legacy \
  --leases "$RUN/dhcpd.leases" > "$RUN/sim.out" 2>&1 & SIM=$!; PIDS+=("$SIM")
for _ in $(seq 100); do grep -q "leases written" "$RUN/sim.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(head -1 "$RUN/sim.out" | sed -E 's|.*https://[0-9.]+:([0-9]+).*|\1|')
IPS=$(sed -nE 's|.*https://([0-9.]+):.*|\1|p' "$RUN/sim.out")
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
cat > "$RUN/config.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[poll]
timeout = "30s"
concurrency = $PAR
protocol = "redfish"
[redfish]
port = $PORT
tls = "insecure"
[http]
listen = "127.0.0.1:0"
CONF

simcpu() { awk '{print $14 + $15}' "/proc/$SIM/stat"; }
hz=$(getconf CLK_TCK)
TIMEFORMAT='%R %U %S'
s0=$(simcpu)
target/release/bmc-catcher poll-once --config "$RUN/config.toml" --rounds 3 > "$RUN/poll.json" 2> "$RUN/rounds.log"
s1=$(simcpu)
cat "$RUN/rounds.log" >&2
round() { awk -v r="round $1:" 'index($0, r) == 1 { for (i = 1; i <= NF; i++) { if ($i == "wall,") w = $(i-2); if ($i == "CPU") c = $(i-2) } print w, c }' "$RUN/rounds.log"; }
# shellcheck disable=SC2086
sushy_t=$({ time "$venv/bin/python" hack/sushy-poll.py "$PORT" admin password "$PAR" $IPS 2>"$RUN/sushy.err"; } 2>&1 | tail -1)
s2=$(simcpu)
cat "$RUN/sushy.err" >&2

read -r bw bc <<<"$(round 3)"
echo
echo "N=$N simulated Redfish BMCs (HTTPS), $PAR at a time, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| client | wall s | client CPU s | wall / bmc-catcher steady | CPU / bmc-catcher steady |"
echo "|---|---|---|---|---|"
line() { echo "| $1 | $2 | $3 | $(echo "$2 $bw" | awk '{printf "%.1fx", $1/$2}') | $(echo "$3 $bc" | awk '{ if ($2 > 0) printf "%.1fx", $1/$2; else print "-" }') |"; }
read -r w c <<<"$(round 3)"; line "bmc-catcher, steady-state round (sessions kept)" "$w" "$c"
read -r w c <<<"$(round 1)"; line "bmc-catcher, first round (logins, layout discovery)" "$w" "$c"
set -- $sushy_t
line "Python sushy (login per run, $PAR threads)" "$1" "$(echo "$2 $3" | awk '{printf "%.2f", $1+$2}')"
echo
echo "Simulator CPU (bmc-sim, all $N BMCs): $(echo "$s0 $s1 $hz" | awk '{printf "%.2f", ($2-$1)/$3}') s during bmc-catcher's three rounds, $(echo "$s1 $s2 $hz" | awk '{printf "%.2f", ($2-$1)/$3}') s during sushy's one."
