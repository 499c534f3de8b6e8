#!/usr/bin/env bash
# Strangers of the group's own kind (README, "Look-alike members"): how many faces of East Asian
# people who are in no model get a BTS member's name. A development check on data that is NOT in
# this repository and must not be copied into it (TV footage): the shared data folder's
#   data/real/fresh-off-the-boat-720p.mp4   an 82 s TV scene of an East Asian family of six
#   data/kpop/bts/<member>/                 171 photos of the 7 BTS members
# It runs, in WORK (default /tmp/faceid-strangers):
#   1. the TV scene through the bts15, bts and bbt sample models: the share of its faces named;
#   2. faceid discover on the scene (no model): crops of the family, one folder per person;
#   3. for 3 shuffles of the BTS photos, clips made with make_mv.py (15 and 8 training photos a
#      member) with the family's crops as extras (ground truth "unknown"), a model trained on
#      each clip's training folder, and score.py: the clip's named_ok (an extra left unnamed
#      counts as right) and wrong_name (over the faces given a name), and the share of the
#      extras' faces given a name (named_as_others "unknown").
# Needs make_mv.py's Python packages (its docstring: face_recognition, opencv, numpy) and ffmpeg.
# The family's crops, the galleries and the clips are kept in WORK: a second run (another build)
# scores the same clips. About 15 minutes the first time, 5 after.
# Usage: scripts/stranger-check.sh [SHARED_DIR] [WORK]   (SHARED_DIR default: ../shared)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=$(realpath "${1:-../shared}")
work=${2:-/tmp/faceid-strangers}
scene=$shared/data/real/fresh-off-the-boat-720p.mp4
[ -f "$scene" ] || { echo "no $scene: give the shared data folder" >&2; exit 2; }
python3 -c 'import face_recognition, cv2' 2>/dev/null && command -v ffmpeg >/dev/null ||
  { echo "make_mv.py needs face_recognition, opencv-python-headless and ffmpeg (see its docstring)" >&2; exit 2; }
cargo build --release --locked --bin faceid 2>/dev/null
bin=$PWD/target/release/faceid
mkdir -p "$work"
kpop=samples/kpop/clips

named_share() { # detections file: faces given a name, over all faces
  python3 -c 'import json,sys
n=named=0
for line in open(sys.argv[1]):
    for f in json.loads(line)["faces"]:
        n += 1; named += f.get("label") not in (None, "", "unknown")
print("%.3f of %d faces" % (named / max(n, 1), n))' "$1"
}

for m in bts15 bts bbt; do
  train=$kpop/${m}_mv_720p-train
  [ $m = bbt ] && train=samples/clips/bbt_mv_720p-train # a Western cast, for comparison
  $bin train "$train" -o "$work/$m.faceid" >/dev/null 2>&1
  $bin annotate "$scene" -m "$work/$m.faceid" --no-video --detections "$work/scene-$m.jsonl" >/dev/null 2>&1
  echo "TV scene, $m model: named $(named_share "$work/scene-$m.jsonl")"
done

# The family's crops and the clips are made once and kept in WORK, so that two builds can be
# compared on the same clips.
if [ ! -d "$work/extras" ]; then
  rm -rf "$work/family"
  $bin discover "$scene" -o "$work/family" >/dev/null 2>&1
  mkdir -p "$work/extras"
  for d in "$work"/family/person-*; do ln -s "$d" "$work/extras/"; done
fi

for s in 1 2 3; do
  [ -d "$work/gallery-$s" ] || python3 - "$shared/data/kpop/bts" "$work/gallery-$s" "$s" <<'PY'
import os, random, shutil, sys
src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.rmtree(out, ignore_errors=True)
rnd = random.Random(100 + seed)
for member in sorted(os.listdir(src)):
    if not os.path.isdir(os.path.join(src, member)):
        continue
    files = sorted(os.listdir(os.path.join(src, member)))
    rnd.shuffle(files)
    os.makedirs(os.path.join(out, member))
    for i, f in enumerate(files):
        os.symlink(os.path.join(src, member, f), os.path.join(out, member, f"{i:02d}_{f}"))
PY
  for k in 15 8; do
    clip=$work/s${s}_k$k
    [ -f "$clip.mp4" ] || python3 "$shared/tools/make_mv.py" "$work/gallery-$s" "$clip" \
      --train-per-person $k --seconds 20 --seed $((s + (k == 15 ? 10 : 20))) --distractors "$work/extras" >/dev/null 2>&1
    $bin train "$clip-train" -o "$clip.faceid" >/dev/null 2>&1
    $bin annotate "$clip.mp4" -m "$clip.faceid" --no-video --detections "$clip.jsonl" >/dev/null 2>&1
    python3 scripts/score.py "$clip.gt.jsonl" "$clip.jsonl" --named-as-others unknown |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], "named_ok %.3f, wrong_name %.3f; extras named %.3f" % (d["named_ok"], d["wrong_name"], d["named_as_others"]))' "s${s}_k$k"
  done
done
