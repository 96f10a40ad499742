#!/bin/bash
# One full poll (power state + every sensor) of N ipmi_sim BMCs (OpenIPMI, real third-party BMCs)
# by bmc-catcher (`poll-once --rounds 3`: the first round opens sessions, the third is the daemon's
# steady state), ipmitool, FreeIPMI and prometheus-ipmi-exporter, PAR at a time, in one run. Prints a
# Markdown table: wall time, CPU (user+sys of every client process, and of the exporter), and the
# ratios to bmc-catcher's steady-state round.
#
#   hack/bench-ipmi-peers.sh [N=200] [PAR=16]      (root: ipmi_sim listens on UDP 623)
#
# Every ipmi_sim runs on its own address 127.0.3.1.. and is stopped by PID at the end.
set -euo pipefail
N=${1:-200}; PAR=${2:-16}
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=""
for c in ipmi_sim ipmitool ipmi-sensors prometheus-ipmi-exporter curl ss python3; do command -v "$c" >/dev/null || need=1; done
if [ -n "$need" ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends openipmi ipmitool freeipmi-tools \
    prometheus-ipmi-exporter curl iproute2 python3 >/dev/null
fi
cargo build --release -q
BIN=target/release/bmc-catcher
RUN=$(mktemp -d /tmp/bench-ipmi.XXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "$RUN"/bmc-*; do [ -f "$d/ipmi_sim.pid" ] && kill "$(cat "$d/ipmi_sim.pid")" 2>/dev/null || true; done
}
trap cleanup EXIT

ip_of() { echo "127.0.3.$1"; }   # N <= 250
[ "$N" -le 250 ] || { echo "N must be <= 250" >&2; exit 2; }

echo "starting $N ipmi_sim BMCs ..." >&2
for i in $(seq 1 "$N"); do
  WAIT=0 sh tests/peers/ipmi_sim/start-ipmi-sim.sh "b$i" "$(ip_of "$i")" 623 "$RUN/bmc-$i" >/dev/null
done
# Ready when every one answers once (also warms nothing in our favour: each client opens its own sessions).
for i in $(seq 1 "$N"); do echo "$(ip_of "$i")"; done |
  xargs -P "$PAR" -I{} sh -c 'for t in $(seq 50); do ipmitool -I lanplus -H {} -U admin -P password -C 3 -N 1 -R 1 raw 0x06 0x01 >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1'

now=$(date +%s)
: > "$RUN/dhcpd.leases"
for i in $(seq 1 "$N"); do
  printf 'lease %s {\n  starts epoch %d;\n  ends epoch %d;\n  binding state active;\n  hardware ethernet 52:54:00:03:%02x:%02x;\n}\n' \
    "$(ip_of "$i")" $((now - 60)) $((now + 36000)) $((i / 256)) $((i % 256)) >> "$RUN/dhcpd.leases"
done
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"
cat > "$RUN/config.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[poll]
interval = "30s"
timeout = "20s"
concurrency = $PAR
protocol = "ipmi"
[ipmi]
cipher-suites = [3]
[http]
listen = "127.0.0.1:0"
CONF

TIMEFORMAT='%R %U %S'
measure() {  # prints "wall user sys" of the command, including its children
  { time "$@" >/dev/null 2>"$RUN/err.log"; } 2>&1 | tail -1
}
ROWS=()
row() { ROWS+=("$1|$2"); }

# 1. bmc-catcher: three rounds over the same sessions; round 1 opens the sessions and reads the SDR
#    repositories and FRUs (a cold start), round 3 is what the daemon does every interval.
# (exit 2: some BMC answered nothing; counted below, not fatal)
"$BIN" poll-once --config "$RUN/config.toml" --rounds 3 > "$RUN/poll.json" 2> "$RUN/rounds.log" \
  || [ $? -eq 2 ]
ok=$(grep -c '"up": true' "$RUN/poll.json" || true)
echo "poll-once: $ok of $N BMCs up" >&2; cat "$RUN/rounds.log" >&2
round() { awk -v r="round $1:" 'index($0, r) == 1 { for (i = 1; i <= NF; i++) { if ($i == "wall,") w = $(i-2); if ($i == "CPU") c = $(i-2) } print w, c, 0 }' "$RUN/rounds.log"; }
row "bmc-catcher, steady-state round (sessions kept, SDR cached)" "$(round 3)"
row "bmc-catcher, first round (sessions opened, SDR and FRU read)" "$(round 1)"

# 3. ipmitool: power status + sensor list per BMC, PAR in parallel
export IPMITOOL="ipmitool -I lanplus -U admin -P password -C 3"
row "ipmitool (chassis power status + sensor list)" "$(measure sh -c "seq 1 $N | xargs -P $PAR -I{} sh -c '\$IPMITOOL -H 127.0.3.{} chassis power status >/dev/null && \$IPMITOOL -H 127.0.3.{} sensor list >/dev/null'")"

# 4. FreeIPMI
export FI="--username=admin --password=password --driver-type=LAN_2_0 --cipher-suite-id=3 --workaround-flags=opensesspriv"
row "FreeIPMI (ipmi-chassis --get-status + ipmi-sensors)" "$(measure sh -c "seq 1 $N | xargs -P $PAR -I{} sh -c 'ipmi-chassis \$FI --hostname=127.0.3.{} --get-status >/dev/null && ipmi-sensors \$FI --hostname=127.0.3.{} >/dev/null'")"

# 5. prometheus-ipmi-exporter: one scrape per target; its CPU is the exporter's and its children's
EXP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
prometheus-ipmi-exporter --config.file=tests/peers/ipmi-exporter/ipmi_remote.yml \
  --web.listen-address="127.0.0.1:$EXP_PORT" >"$RUN/exporter.log" 2>&1 & EPID=$!; PIDS+=("$EPID")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$EXP_PORT/" >/dev/null && break; sleep 0.1; done
hz=$(getconf CLK_TCK)
child_cpu() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
e1=$(child_cpu "$EPID")
m=$(measure sh -c "seq 1 $N | xargs -P $PAR -I{} curl -sf -o /dev/null 'http://127.0.0.1:$EXP_PORT/ipmi?target=127.0.3.{}&module=sim'")
e2=$(child_cpu "$EPID")
exp_cpu=$(echo "$e1 $e2 $hz" | awk '{printf "%.2f", ($2-$1)/$3}')
set -- $m
row "prometheus-ipmi-exporter (one scrape per target; CPU incl. its FreeIPMI children)" "$1 $(echo "$2 $3 $exp_cpu" | awk '{printf "%.2f", $1+$2+$3}') 0"

# Table
base=$(echo "${ROWS[0]}" | cut -d'|' -f2)
bw=$(echo "$base" | awk '{print $1}'); bc=$(echo "$base" | awk '{print $2+$3}')
echo
echo "N=$N BMCs, $PAR in parallel, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| client | wall s | CPU s (user+sys) | wall / bmc-catcher steady | CPU / bmc-catcher steady |"
echo "|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
  name=${r%%|*}; v=${r#*|}
  set -- $v
  if [ "$1" = n/a ]; then w=n/a; rw=n/a; else w=$1; rw=$(echo "$1 $bw" | awk '{printf "%.1fx", $1/$2}'); fi
  c=$(echo "$2 $3" | awk '{printf "%.2f", $1+$2}')
  rc=$(echo "$c $bc" | awk '{ if ($2 > 0) printf "%.1fx", $1/$2; else print "-" }')
  echo "| $name | $w | $c | $rw | $rc |"
done
