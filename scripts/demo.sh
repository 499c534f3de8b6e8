#!/usr/bin/env bash
# The main job on the bundled sample data: set up, build, train on the sample photos, put names
# on the sample clip (keeping its audio). Output in out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo build --release --locked --bin faceid
mkdir -p out
target/release/faceid train samples/fr_examples -o out/people.faceid
target/release/faceid annotate samples/fr_examples/_video/short_hamilton_clip.mp4 \
  -m out/people.faceid -o out/hamilton-named.mp4 --detections out/hamilton-named.jsonl
echo "Done: play out/hamilton-named.mp4 (names drawn, original audio); per-frame faces in out/hamilton-named.jsonl"
