#!/usr/bin/env bash
# faceidoverlay in real OBS Studio (issue 13), with tests/obs/ (Debian's OBS 29, headless, with the
# obs-gstreamer filter): builds the plugin, trains on samples/fr_examples, then records the 640x360
# hamilton clip in OBS for FACEID_OBS_SECONDS (default 15) twice: with the filter pipeline `identity`
# (the control) and with `faceidoverlay model=...`. tests/obs/check.py then checks and prints a table:
#  - lagged frames in OBS's log with faceidoverlay at most FACEID_OBS_MAX_LAGGED_PCT % (default 2),
#    and OBS's graphics-thread timing (median / p99 / max) of both runs;
#  - no GStreamer error ([obs-gstreamer] lines in OBS's log, ERROR lines of GStreamer's debug log);
#  - names in the recording on the right frames: recorded frames are matched to the clip's frames,
#    and where `faceid annotate` names lin_manuel_miranda the recording must show a name label in
#    the known colour near his face, and nowhere else; the identity recording must show none.
# Output (recordings, OBS logs, per-frame figures in frames.jsonl) in FACEID_OBS_OUT (default
# out/obs-check). About 1.5 minutes once OBS is installed (the first run installs it with apt).
# FACEID_SKIP_OBS=1 skips the whole check (machines without OBS). FACEID_OBS_TIMING=report prints
# the lag and the share of named frames without asserting them (see scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -n "${FACEID_SKIP_OBS:-}" ] && [ "${FACEID_SKIP_OBS}" != 0 ]; then
  echo "obs-check: skipped (FACEID_SKIP_OBS=$FACEID_SKIP_OBS)"
  exit 0
fi
root=$PWD
secs=${FACEID_OBS_SECONDS:-15}
max_lagged=${FACEID_OBS_MAX_LAGGED_PCT:-2}
out=${FACEID_OBS_OUT:-$root/out/obs-check}
clip=$root/samples/fr_examples/_video/short_hamilton_clip.mp4
person=lin_manuel_miranda
export OBS_WORK=${OBS_WORK:-$root/target/obs-headless}   # OBS's scratch HOME, per checkout
export FACEID_MODELS_DIR=$root/models/dlib
export GST_DEBUG=${GST_DEBUG:-2} GST_DEBUG_NO_COLOR=1     # GStreamer errors and warnings in OBS's stderr
start=$(date +%s)

models/fetch-weights.sh >/dev/null
cargo build --release --locked
rm -rf "$out" && mkdir -p "$out"
model=$out/people.faceid
target/release/faceid train samples/fr_examples -o "$model" >"$out/train.log" 2>&1 ||
  { cat "$out/train.log" >&2; echo "obs-check: FAILED: faceid train" >&2; exit 1; }
# Where the faces are and who they are, frame by frame, in the synchronous offline mode.
target/release/faceid annotate "$clip" -m "$model" --no-video --detections "$out/clip.jsonl" \
  >"$out/annotate.log" 2>&1 || { cat "$out/annotate.log" >&2; echo "obs-check: FAILED: faceid annotate" >&2; exit 1; }

status=0
run() {  # NAME PIPELINE
  echo "== OBS, ${secs} s, filter pipeline: $2"
  mkdir -p "$out/$1"
  if ! GST_PLUGIN_PATH="$root/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
      tests/obs/run-obs.sh "$clip" "$2" "$out/$1" "$secs" >"$out/$1/run.log" 2>&1; then
    tail -n 5 "$out/$1/run.log" >&2
    echo "FAIL: $1: tests/obs/run-obs.sh failed (see $out/$1/run.log)"
    status=1
  fi
}
run identity identity
run faceidoverlay "faceidoverlay model=$model"

timing=(--max-lagged-pct "$max_lagged")
if [ "${FACEID_OBS_TIMING:-assert}" = report ]; then
  # The lag and the share of his frames with a name depend on how fast the machine is right now:
  # printed in the table, not asserted (a name on a fifth of them still is, so the identity
  # control must fail it). Names on the right frames, nowhere else, and no GStreamer error too.
  timing=(--max-lagged-pct 100 --min-hit-share 0.2)
  echo "obs-check: FACEID_OBS_TIMING=report: lagged frames and the share of named frames are reported, not asserted (a fifth named still is)"
fi
python3 tests/obs/check.py --clip "$clip" --detections "$out/clip.jsonl" --name "$person" \
  --control "$out/identity" --run "$out/faceidoverlay" "${timing[@]}" || status=1
echo "obs-check: $(($(date +%s) - start)) s; output in $out"
exit $status
