#!/bin/sh
# The test command: installs what the tests need (by package name), then runs the format check,
# clippy with warnings as errors, and every test (unit, and integration against real peers).
set -eu
cd "$(dirname "$0")/.."
export BMC_PEERS_VENV=${BMC_PEERS_VENV:-/tmp/bmc-catcher-peers}
sh hack/install-peers.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets
