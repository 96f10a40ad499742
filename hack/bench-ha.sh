#!/bin/bash
# Two catchers of one partition and a 3-node JetStream cluster (R3 stream and buckets) against
# bmc-sim with N BMCs (half Redfish/HTTPS, half IPMI/RMCP+), all on loopback:
#  1. steady state: the BMCs each catcher owns, its CPU over one poll interval, the polls it made;
#  2. one power flip on F BMCs: the `power-changed` events the stream received for them (1 each);
#  3. K times: kill -9 one catcher (alternately), time until the other owns every BMC and until it
#     has polled each one it gained (the takeover; the survivor's CPU and the machine's CPU busy
#     share over it), the oldest KV snapshot right then (KV lag),
#     then restart the killed one and wait until it has its share back and has polled it.
# Prints Markdown. Needs nats-server >= 2.10 and the peers venv (hack/install-peers.sh) for nats-py.
#
#   hack/bench-ha.sh [N=10000] [K=5] [F=20]
set -euo pipefail
N=${1:-10000}; K=${2:-5}; F=${3:-20}
cd "$(dirname "$0")/.."
PEERS=${BMC_CATCHER_PEERS:-/tmp/bmc-catcher-peers}
PY="$PEERS/bin/python"; NATS_SERVER=$(command -v "$PEERS/bin/nats-server" || command -v nats-server)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q --workspace
RUN=$(mktemp -d /tmp/bench-ha.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$RUN" || true; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { { curl -s "http://127.0.0.1:$1/metrics" || true; } | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {printf "%d", s}'; }
now() { date +%s.%N; }
# The machine's CPU jiffies: "busy total" (all cores, from /proc/stat).
jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
since() { echo "$1 $(now)" | awk '{printf "%.1f", $2-$1}'; }

# 1. The NATS cluster.
C=(); R=()
for i in 1 2 3; do C+=("$(port)"); R+=("$(port)"); done
routes=""; for i in 0 1 2; do routes+="\"nats-route://127.0.0.1:${R[$i]}\", "; done
for i in 0 1 2; do
  cat > "$RUN/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:${C[$i]}
jetstream { store_dir: "$RUN/js$i" }
cluster { name: bench, listen: 127.0.0.1:${R[$i]}, routes: [ ${routes%, } ] }
CONF
  "$NATS_SERVER" -c "$RUN/n$i.conf" > "$RUN/n$i.log" 2>&1 & PIDS+=("$!")
done
URL="nats://127.0.0.1:${C[0]},nats://127.0.0.1:${C[1]},nats://127.0.0.1:${C[2]}"
sleep 5  # the meta leader

# 2. The simulated fleet.
target/release/bmc-sim --count "$N" --first-ip 127.1.0.1 --port 0 --ipmi-port 6230 \
  --protocol redfish,ipmi --shape legacy,subsystem,sensors --leases "$RUN/dhcpd.leases" \
  > "$RUN/sim.out" 2> "$RUN/sim.err" & SIM=$!; PIDS+=("$SIM")
for _ in $(seq 600); do grep -q "leases written" "$RUN/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q "leases written" "$RUN/sim.out" || { echo "bmc-sim did not start: $(cat "$RUN/sim.err")" >&2; exit 1; }
PORT=$(grep -m1 https:// "$RUN/sim.out" | sed -E 's|.*https://[0-9.]+:([0-9]+).*|\1|')
printf 'username = "admin"\npassword = "password"\n' > "$RUN/creds.toml"; chmod 600 "$RUN/creds.toml"

# 3. Two catchers.
INTERVAL=60
declare -A HTTP PID
start() {  # member id
  cat > "$RUN/$1.toml" <<CONF
partition = "bench"
credentials-file = "$RUN/creds.toml"
[discovery]
leases-file = "$RUN/dhcpd.leases"
[poll]
interval = "${INTERVAL}s"
timeout = "30s"
concurrency = 64
protocol = "auto"
[redfish]
port = $PORT
tls = "insecure"
[ipmi]
port = 6230
[http]
listen = "127.0.0.1:${HTTP[$1]}"
[nats]
url = "$URL"
replicas = 3
member-id = "$1"
CONF
  target/release/bmc-catcher run --config "$RUN/$1.toml" 2>> "$RUN/$1.log" & PID[$1]=$!; PIDS+=("${PID[$1]}")
}
HTTP[a]=$(port); HTTP[b]=$(port)
start a; start b
owned() { metric "${HTTP[$1]}" bmc_catcher_owned_bmcs; }
polls() { metric "${HTTP[$1]}" bmc_catcher_polls_total; }
t0=$(now)
for _ in $(seq 1200); do
  oa=$(owned a); ob=$(owned b)
  [ $((oa + ob)) -eq "$N" ] && [ "$oa" -gt 0 ] && [ "$ob" -gt 0 ] && \
    [ $(( $(polls a) + $(polls b) )) -ge "$N" ] && break
  sleep 0.5
done
first=$(since "$t0")

# Steady state: one interval, after one more (the first polls at discovery and at each BMC's own
# slot overlap in the first period).
sleep "$INTERVAL"
ca0=$(cpu "${PID[a]}"); cb0=$(cpu "${PID[b]}"); pa0=$(polls a); pb0=$(polls b)
sleep "$INTERVAL"
ca=$(echo "$ca0 $(cpu "${PID[a]}")" | awk '{printf "%.2f", $2-$1}'); cb=$(echo "$cb0 $(cpu "${PID[b]}")" | awk '{printf "%.2f", $2-$1}')
pa=$(( $(polls a) - pa0 )); pb=$(( $(polls b) - pb0 ))
oa=$(owned a); ob=$(owned b)
echo "steady: a owns $oa ($pa polls, $ca s CPU), b owns $ob ($pb polls, $cb s CPU)" >&2

# Power flips: F Redfish BMCs switched off; count power-changed events in the stream for them.
awk -v f="$F" '/https:\/\// && n < f {print; n++}' "$RUN/sim.out" > "$RUN/flip.txt"
"$PY" - "$URL" "$RUN/flip.txt" "$PORT" "$INTERVAL" > "$RUN/flips.out" <<'PY' &
import asyncio, json, ssl, sys, urllib.request, base64
import nats
url, flips, port, interval = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [l.split() for l in open(flips)]
async def main():
    nc = await nats.connect(servers=url.split(","))
    macs = {mac.replace(":", "-") for mac, *_ in rows}
    got = []
    async def on(msg):
        if msg.subject.split(".")[2] in macs:
            got.append(json.loads(msg.data)["id"])
    await nc.subscribe("bmc.bench.*.event.power-changed", cb=on)
    await nc.flush()
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    auth = base64.b64encode(b"admin:password").decode()
    for mac, addr, *_ in rows:
        host = addr.split("//")[1].split(":")[0]
        req = urllib.request.Request(f"https://{host}:{port}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
            data=b'{"ResetType": "ForceOff"}', headers={"Content-Type": "application/json", "Authorization": "Basic " + auth})
        urllib.request.urlopen(req, context=ctx).read()
    await asyncio.sleep(interval + 20)
    print(len(rows), len(got), len(set(got)))
    await nc.close()
asyncio.run(main())
PY
FLIPS=$!
wait "$FLIPS"
read -r flipped events unique < "$RUN/flips.out"
echo "flips: $flipped BMCs switched off, $events power-changed events ($unique distinct ids)" >&2

# KV lag: the oldest snapshot in the bucket, in seconds.
kv_lag() {
  "$PY" - "$URL" <<'PY'
import asyncio, json, sys, time
import nats
async def main():
    nc = await nats.connect(servers=sys.argv[1].split(","))
    kv = await nc.jetstream().key_value("bmc_state")
    oldest, key, n = None, None, 0
    for k in set(await kv.keys()):
        e = await kv.get(k)
        s = json.loads(e.value)
        n += 1
        if oldest is None or s["polled_at_ms"] < oldest:
            oldest, key = s["polled_at_ms"], k
    print(n, f"{time.time() - oldest / 1000:.1f}", key)
    await nc.close()
asyncio.run(main())
PY
}

# Takeovers.
TAKE=(); OWN=(); LAG=(); BUSY=(); SCPU=()
victim=b
for k in $(seq "$K"); do
  other=$([ "$victim" = a ] && echo b || echo a)
  lost=$(owned "$victim"); before=$(polls "$other")
  kill -9 "${PID[$victim]}"; wait "${PID[$victim]}" 2>/dev/null || true; t0=$(now); seen=""
  read -r busy0 total0 <<<"$(jiffies)"; sc0=$(cpu "${PID[$other]}")
  for _ in $(seq 600); do
    o=$(owned "$other")
    [ -z "$seen" ] && [ "$o" -eq "$N" ] && seen=$(since "$t0")
    [ "$o" -eq "$N" ] && [ $(( $(polls "$other") - before )) -ge "$lost" ] && break
    sleep 0.1
  done
  TAKE+=("$(since "$t0")"); OWN+=("$seen")
  read -r busy1 total1 <<<"$(jiffies)"; SCPU+=("$(echo "$sc0 $(cpu "${PID[$other]}")" | awk '{printf "%.1f", $2-$1}')")
  BUSY+=("$(echo "$busy0 $total0 $busy1 $total1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')")
  read -r keys lag oldest_key <<<"$(kv_lag)"; LAG+=("$lag")
  echo "takeover $k: $victim killed owning $lost, $other owned them after ${OWN[-1]} s and polled them all after ${TAKE[-1]} s (survivor ${SCPU[-1]} s CPU, machine ${BUSY[-1]} % busy); KV: $keys keys, oldest $lag s ($oldest_key)" >&2
  start "$victim"
  # Back to steady state before the next kill: the restarted one has its share and has polled it
  # (else the next survivor would still be busy with its own start).
  p0=$(polls "$victim" || echo 0)
  for _ in $(seq 1200); do
    ov=$(owned "$victim")
    [ "$ov" -gt $((N / 3)) ] && [ $(( $(polls "$victim") - p0 )) -ge "$ov" ] && break
    sleep 0.5
  done
  sleep 5
  victim=$other
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo
echo "N=$N simulated BMCs (half Redfish, half IPMI), two catchers of one partition, a 3-node JetStream cluster (R3), poll interval ${INTERVAL} s, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| measure | catcher a | catcher b |"
echo "|---|---|---|"
echo "| BMCs owned (steady) | $oa | $ob |"
echo "| polls in one interval (${INTERVAL} s) | $pa | $pb |"
echo "| CPU in that interval | $ca s | $cb s |"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| start to every BMC polled once, split between the two | $first s |"
echo "| power flips / power-changed events in the stream (distinct ids) | $flipped / $events ($unique) |"
echo "| takeover after kill -9: the survivor owns every BMC (member-ttl), $K runs | ${OWN[*]} s; median $(median "${OWN[@]}") s |"
echo "| takeover after kill -9: the survivor has polled every BMC it gained, $K runs | ${TAKE[*]} s; median $(median "${TAKE[@]}") s |"
echo "| oldest KV snapshot right after each takeover | ${LAG[*]} s (interval ${INTERVAL} s) |"
echo "| from the kill until every gained BMC was polled: the survivor's CPU | ${SCPU[*]} s |"
echo "| ... and the machine's CPU busy (all processes, $(nproc) cores) | ${BUSY[*]} % |"
