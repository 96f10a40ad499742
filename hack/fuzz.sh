#!/usr/bin/env bash
# Fuzzes the parsers and decoders with cargo-fuzz on stable Rust (no sanitizer): installs
# cargo-fuzz if missing, seeds fuzz/corpus/<target>/ from tests/fixtures, runs every target for
# SECONDS (default 60) and exits 1 naming the crash files if any target crashed.
#
#   hack/fuzz.sh [SECONDS] [TARGET...]      e.g. hack/fuzz.sh 600 rmcp_packet
#
# A crash reproduces with: cd fuzz && cargo fuzz run -s none -a TARGET artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(leases_dhcpd leases_kea leases_dnsmasq rmcp_packet ipmi_decode redfish_json sel_decode)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# hex "0a 0b ..." or "0a0b..." (spaces allowed) -> binary file $2
unhex() {
    local h=${1//[[:space:]]/}
    [[ -n $h && $h =~ ^([0-9a-fA-F]{2})+$ ]] || return 0
    printf '%b' "$(sed 's/../\\x&/g' <<<"$h")" >"$2"
}

seed() {
    local t=$1 dir=fuzz/corpus/$1 f n i line
    mkdir -p "$dir"
    case $t in
    leases_dhcpd) cp tests/fixtures/leases/dhcpd*.leases "$dir/" ;;
    leases_kea) cp tests/fixtures/leases/kea*.csv "$dir/" ;;
    leases_dnsmasq) cp tests/fixtures/leases/dnsmasq*.leases "$dir/" ;;
    rmcp_packet)
        # "c2s <hex>" / "s2c <hex>": one UDP payload per line
        for f in crates/ipmi-wire/tests/fixtures/rmcp/*.txt; do
            n=$(basename "$f" .txt)
            i=0
            while read -r dir_ hex _; do
                case $dir_ in c2s | s2c) unhex "$hex" "$dir/$n-$i" && i=$((i + 1)) ;; esac
            done <"$f"
        done
        ;;
    ipmi_decode)
        # "<key>: <hex bytes>" lines (records, responses, readings, FRU images); and each
        # simulator's SDR records concatenated, as a whole repository.
        for f in tests/fixtures/ipmi/sim/*/*.hex; do
            n=$(basename "$(dirname "$f")")-$(basename "$f" .hex)
            i=0
            while IFS= read -r line; do
                [[ $line == \#* || $line != *:* ]] && continue
                unhex "${line#*:}" "$dir/$n-$i"
                i=$((i + 1))
            done <"$f"
        done
        for f in tests/fixtures/ipmi/sim/*/sdr_records.hex; do
            n=$(basename "$(dirname "$f")")
            unhex "$(grep -v '^#' "$f" | sed 's/^[^:]*://' | tr -d '\n')" "$dir/$n-repository"
        done
        ;;
    sel_decode)
        # "<Get SEL Entry response hex> | <what ipmitool printed>": one record per line.
        i=0
        while IFS= read -r line; do
            [[ $line == \#* || $line != *\|* ]] && continue
            unhex "${line%%|*}" "$dir/ipmi_sim-$i"
            i=$((i + 1))
        done <crates/ipmi-wire/tests/fixtures/sel/ipmi_sim.txt
        ;;
    redfish_json)
        while IFS= read -r f; do
            n=${f#tests/fixtures/}
            cp "$f" "$dir/${n//\//_}"
        done < <(find tests/fixtures/redfish-mockups tests/fixtures/captures -name '*.json')
        ;;
    esac
    # Drop empty seeds (unhex of a "cc=.." line writes nothing, but be safe).
    find "$dir" -type f -empty -delete
}

new_crashes() {
    find "$1" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) \
        -newer "$stamp" 2>/dev/null | sort
}

cd fuzz
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
# -s none: no sanitizer, so stable rustc works; -a: debug assertions and overflow checks on.
cargo fuzz build -s none -a
cd "$root"
# Only crash files written by this run count (older ones may be kept for reference).
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
failed=()
for t in "${targets[@]}"; do
    seed "$t"
    echo "== $t: ${secs}s, $(find "fuzz/corpus/$t" -type f | wc -l) corpus files"
    mkdir -p "fuzz/artifacts/$t"
    if ! (cd fuzz && cargo fuzz run -s none -a "$t" -- -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=4096 -print_final_stats=1 2>&1 | tee "artifacts/$t/run.log" | grep -E \
        '^(#[0-9]+.*DONE|stat::|==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' \
        ); then
        :
    fi
    # cargo fuzz's exit status is lost in the pipe: judge by the artifacts it wrote.
    if [ -n "$(new_crashes "fuzz/artifacts/$t")" ]; then
        failed+=("$t")
    fi
done

crashes=$(new_crashes fuzz/artifacts)
if [ -n "$crashes" ]; then
    echo "FAILED: ${failed[*]}; crash files:"
    echo "$crashes"
    exit 1
fi
echo "fuzzing clean: ${targets[*]} (${secs}s each)"
