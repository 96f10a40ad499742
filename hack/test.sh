#!/bin/sh
# The test command: installs what the tests need (by package name), then runs the format check,
# clippy with warnings as errors (with and without the peer tests, and without the demo), and
# every test of every workspace crate: unit, integration (tests/it and, through the `peers`
# feature, tests/peers against the real programs installed here) and each criterion benchmark once
# in test mode. Ends with one summary line: "tests: N passed, M failed".
set -eu
cd "$(dirname "$0")/.."
export BMC_PEERS_VENV=${BMC_PEERS_VENV:-/tmp/bmc-catcher-peers}
sh hack/install-peers.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --locked --features bmc-catcher/peers -- -D warnings
cargo clippy --locked --no-default-features -- -D warnings
log=$(mktemp)
rc=0
cargo test --workspace --locked --all-targets --features bmc-catcher/peers 2>&1 | tee "$log" || true
grep -q '^test result: FAILED' "$log" && rc=1
grep -qE '^error(\[|:)' "$log" && rc=1
passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($i == "passed;") s += $(i-1) } END { print s + 0 }' "$log")
failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($i == "failed;") s += $(i-1) } END { print s + 0 }' "$log")
rm -f "$log"
[ "$passed" -gt 0 ] || rc=1
echo
echo "tests: $passed passed, $failed failed"
exit "$rc"
