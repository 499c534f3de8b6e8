#!/usr/bin/env bash
# Sets up like scripts/demo.sh, then runs every check and test: formatting, clippy, unit and
# integration tests (real dlib on the photos and clips in samples/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
G_DEBUG=fatal_warnings cargo test --locked --all-targets
