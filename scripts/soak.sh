#!/usr/bin/env bash
# Soak test: loops samples/clips/bbt_mv_720p.mp4 through faceidoverlay (default properties) in
# one process for MINUTES (default 30) with segment seeks, and prints the resident memory every
# minute, then start/end/peak and the growth from minute 1 to the end, which must stay flat.
# The model is trained on samples/clips/bbt_mv_720p-train with `faceid train`.
# Usage: scripts/soak.sh [MINUTES] [VIDEO]   (environment: EVERY=seconds between lines, default 60)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
minutes=${1:-30}
video=${2:-samples/clips/bbt_mv_720p.mp4}
cargo build --release --locked --bin faceid --example stress 2>/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/faceid train samples/clips/bbt_mv_720p-train -o "$work/bbt.faceid" >/dev/null 2>&1
target/release/examples/stress soak "$video" "$work/bbt.faceid" --minutes "$minutes" --every "${EVERY:-60}"
