#!/bin/sh
# The micro-benchmarks (benches/*.rs, criterion): runs each bench target with a short warm-up and
# measurement, keeps criterion's full output in <target>/bench-micro.log, and prints one line per
# benchmark: the median time per iteration and the throughput at that median, then the facts the
# benches print about their inputs (sizes, counts). Works from a clean checkout (cargo builds first).
#
#   hack/bench-micro.sh              # all of them
#   hack/bench-micro.sh leases rmcp  # some of them (leases, rmcp, redfish_json, metrics)
set -eu
cd "$(dirname "$0")/.."
benches=${*:-leases rmcp redfish_json metrics}
target=${CARGO_TARGET_DIR:-target}
crit=${CRITERION_HOME:-$target/criterion}
mkdir -p "$target"
log=$target/bench-micro.log
marker=$target/.bench-micro-start
: >"$log"
touch "$marker"
sleep 1 # estimates written in this second would not count as newer than the marker

for b in $benches; do
    echo "== cargo bench --bench $b" >&2
    cargo bench --locked --bench "$b" -- --warm-up-time 1 --measurement-time 3 >>"$log" 2>&1 || {
        tail -n 30 "$log" >&2
        echo "bench $b failed; full output in $log" >&2
        exit 1
    }
done

echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "median per iteration (criterion, --warm-up-time 1 --measurement-time 3):"
# estimates.json: {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":NS,...},...}
# benchmark.json: {..."throughput":{"Elements":N}|{"Bytes":N}|null,"full_id":"group/name",...}
find "$crit" -path '*/new/estimates.json' -newer "$marker" | sort | while read -r est; do
    meta=${est%estimates.json}benchmark.json
    ns=$(sed -n 's/.*"median":{"confidence_interval":{[^}]*},"point_estimate":\([^,}]*\).*/\1/p' "$est")
    id=$(sed -n 's/.*"full_id":"\([^"]*\)".*/\1/p' "$meta")
    kind=$(sed -n 's/.*"throughput":{"\([A-Za-z]*\)":\([0-9]*\)}.*/\1/p' "$meta")
    count=$(sed -n 's/.*"throughput":{"\([A-Za-z]*\)":\([0-9]*\)}.*/\2/p' "$meta")
    awk -v id="$id" -v ns="$ns" -v kind="$kind" -v n="$count" 'BEGIN {
        if (ns >= 1e9) t = sprintf("%.3f s", ns / 1e9)
        else if (ns >= 1e6) t = sprintf("%.2f ms", ns / 1e6)
        else if (ns >= 1e3) t = sprintf("%.2f us", ns / 1e3)
        else t = sprintf("%.1f ns", ns)
        r = ""
        if (kind == "Elements") {
            per = n / (ns / 1e9)
            if (per >= 1e6) r = sprintf("%.2f Melem/s", per / 1e6)
            else if (per >= 1e3) r = sprintf("%.1f Kelem/s", per / 1e3)
            else r = sprintf("%.1f elem/s", per)
            if (n > 1) r = r sprintf("  (%d per iteration)", n)
        } else if (kind == "Bytes") {
            r = sprintf("%.1f MiB/s", n / (ns / 1e9) / 1048576)
        }
        printf "  %-44s %12s   %s\n", id, t, r
    }'
done
echo "inputs:"
grep -E '^(leases|rmcp|redfish_json|metrics): ' "$log" | sed 's/^/  /' || true
rm -f "$marker"
