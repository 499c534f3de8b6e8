#!/usr/bin/env bash
# Many pipelines in one process: plays samples/clips/bbt_mv_720p.mp4 once through
# filesrc ! decodebin ! videoconvert ! faceidoverlay ! fakesink in 1, then N (default 4)
# concurrent pipelines of one process (a fresh process each time, so each peak is its own),
# and prints frames/s per pipeline and in total, the peak memory and how many times the dlib
# weights were read from disk (1: every element of a process shares them).
# Usage: scripts/multi.sh [N] [VIDEO]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-4}
video=${2:-samples/clips/bbt_mv_720p.mp4}
cargo build --release --locked --bin faceid --example stress 2>/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/faceid train samples/clips/bbt_mv_720p-train -o "$work/bbt.faceid" >/dev/null 2>&1
echo "== 1 pipeline, $(nproc) cores"
target/release/examples/stress multi "$video" "$work/bbt.faceid" --pipelines 1
echo "== $n pipelines at once in one process"
target/release/examples/stress multi "$video" "$work/bbt.faceid" --pipelines "$n"
