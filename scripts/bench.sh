#!/usr/bin/env bash
# Speed and quality benchmark, every figure measured in this run against a named baseline:
#   per-frame  tracking=false detection-width=0 weak-detection-score=0, model trained on sharp
#              photos only: detect (full frame, one upsample, dlib's usual cut), encode and name
#              every frame on its own (the hobby script's approach, the baseline)
#   default    faceidoverlay's and faceid train's defaults (tracking, local re-detection, votes,
#              weak detections confirmed by name, motion-blurred copies of the training photos)
# on samples/clips/bbt_mv_720p.mp4 (ground truth: score.py), the same clip upscaled to 1080p,
# and the short hamilton clip. Pipeline: filesrc ! parsebin ! decodebin ! videoconvert !
# faceidoverlay ! fakesink (`faceid annotate --no-video`). Prints frames/s, peak memory, scores.
# Then the look-alike members of samples/kpop/clips (BTS, 15 and 5 photos a member), the
# messy download folder built from the 15-photo one (scripts/make-messy-set.sh), and with
# --lopo leave-one-person-out on bbt and bts15 (each person left out of the model in turn: how
# many of their faces get someone else's name; about 10 more minutes).
# Then the live mode (issue 13): each 720p clip played at its own speed (`--realtime`: a sink
# that waits for each frame's time, as a player or OBS does) with `latency-budget=33`, against
# the synchronous mode of the same run; faceidoverlay's own time a frame (median, p99, max) is
# printed for every run, live and synchronous. About 3 more minutes.
# Then small faces (issue 14): bts_small_faces_720p (faces 22-60 px) with find-small-faces on
# and off (the baseline), by face height; and `faceid discover` on the bbt and bts15 clips,
# its frames/s against the clip's own 30 (it must finish before the video would have played).
# Every "default" row is run with both face encoders in the same run: dlib's ResNet (the
# default) and SFace (`--encoder sface`), named in the row; the live and small-face rows use
# the default encoder's models. Rows ending in "yunet" find faces with YuNet
# (`detector=yunet`) instead of dlib's HOG, on the same models; discover runs with both
# detectors, then trains a model from its folders and scores it on the clip.
# Usage: scripts/bench.sh [--quick | --lopo]   (--quick: the bbt 720p clip only)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >/dev/null
cargo build --release --locked --bin faceid 2>/dev/null
bin=target/release/faceid
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

encoders=(dlib sface)
# train NAME DIR [args]: NAME-sface.faceid and NAME-dlib.faceid
train() { local name=$1 dir=$2 enc; shift 2
  for enc in "${encoders[@]}"; do
    $bin train "$dir" -o "$work/$name-$enc.faceid" --encoder $enc "$@" >/dev/null 2>&1
  done
}
train bbt samples/clips/bbt_mv_720p-train
$bin train samples/clips/bbt_mv_720p-train -o "$work/bbt-sharp.faceid" --encoder dlib --no-motion-blur-copies >/dev/null 2>&1
train fr samples/fr_examples
$bin train samples/fr_examples -o "$work/fr-sharp.faceid" --encoder dlib --no-motion-blur-copies >/dev/null 2>&1
baseline=(--set tracking=false --set detection-width=0 --set weak-detection-score=0)
yunet=(--set detector=yunet)

run() { # name clip model gt extra...
  local name=$1 clip=$2 model=$3 gt=$4; shift 4
  local line score
  $bin annotate "$clip" -m "$model" --no-video --detections "$work/d.jsonl" "$@" 2>/dev/null >"$work/out.txt"
  line=$(tail -1 "$work/out.txt")
  score=""
  [ -n "$gt" ] && score=$(python3 scripts/score.py "$gt" "$work/d.jsonl")
  times=$(grep -o 'median.*' "$work/out.txt" | head -1 || true)
  printf '%-34s %s %s\n%-34s %s\n' "$name" "$line" "$score" "" "$times"
}

mv=samples/clips/bbt_mv_720p.mp4
gt=samples/clips/bbt_mv_720p.gt.jsonl
echo "== bbt_mv_720p.mp4 (1280x720, 600 frames), $(nproc) cores"
run "720p per-frame (baseline)" $mv "$work/bbt-sharp.faceid" $gt "${baseline[@]}"
for enc in "${encoders[@]}"; do run "720p default, $enc" $mv "$work/bbt-$enc.faceid" $gt; done
run "720p default, dlib, yunet" $mv "$work/bbt-dlib.faceid" $gt "${yunet[@]}"
[ "${1:-}" = "--quick" ] && exit 0
echo "== the same clip upscaled to 1920x1080 (boxes scaled, so no score)"
run "1080p per-frame (baseline)" $mv "$work/bbt-sharp.faceid" "" --resize 1920x1080 "${baseline[@]}"
for enc in "${encoders[@]}"; do run "1080p default, $enc" $mv "$work/bbt-$enc.faceid" "" --resize 1920x1080; done
run "1080p default, dlib, yunet" $mv "$work/bbt-dlib.faceid" "" --resize 1920x1080 "${yunet[@]}"
kpop=samples/kpop/clips
train bts15 $kpop/bts15_mv_720p-train
$bin train $kpop/bts15_mv_720p-train -o "$work/bts15-sharp.faceid" --encoder dlib --no-motion-blur-copies >/dev/null 2>&1
train bts $kpop/bts_mv_720p-train
$bin train $kpop/bts_mv_720p-train -o "$work/bts-sharp.faceid" --encoder dlib --no-motion-blur-copies >/dev/null 2>&1
scripts/make-messy-set.sh $kpop/bts15_mv_720p-train samples/johns samples/bbt/_group "$work/messy" >/dev/null
train messy "$work/messy"
echo "== look-alikes: bts15_mv_720p (15 photos a member) and bts_mv_720p (5), 1280x720, 600 frames"
run "bts15 per-frame (baseline)" $kpop/bts15_mv_720p.mp4 "$work/bts15-sharp.faceid" $kpop/bts15_mv_720p.gt.jsonl "${baseline[@]}"
for enc in "${encoders[@]}"; do
  run "bts15 default, $enc" $kpop/bts15_mv_720p.mp4 "$work/bts15-$enc.faceid" $kpop/bts15_mv_720p.gt.jsonl
  run "bts15 messy training, $enc" $kpop/bts15_mv_720p.mp4 "$work/messy-$enc.faceid" $kpop/bts15_mv_720p.gt.jsonl
  run "bts15 default, $enc, yunet" $kpop/bts15_mv_720p.mp4 "$work/bts15-$enc.faceid" $kpop/bts15_mv_720p.gt.jsonl "${yunet[@]}"
done
run "bts per-frame (baseline)" $kpop/bts_mv_720p.mp4 "$work/bts-sharp.faceid" $kpop/bts_mv_720p.gt.jsonl "${baseline[@]}"
for enc in "${encoders[@]}"; do
  run "bts default, $enc" $kpop/bts_mv_720p.mp4 "$work/bts-$enc.faceid" $kpop/bts_mv_720p.gt.jsonl
  run "bts default, $enc, yunet" $kpop/bts_mv_720p.mp4 "$work/bts-$enc.faceid" $kpop/bts_mv_720p.gt.jsonl "${yunet[@]}"
done
if [ "${1:-}" = "--lopo" ]; then
  lopo() { # name train-dir clip gt: per person left out, their faces given a name / their faces
    local name=$1 dir=$2 clip=$3 gt=$4 p q enc
    for enc in "${encoders[@]}"; do
      for p in $(ls "$dir"); do
        rm -rf "$work/lopo" && mkdir -p "$work/lopo"
        for q in $(ls "$dir"); do [ "$q" = "$p" ] || ln -s "$PWD/$dir/$q" "$work/lopo/$q"; done
        $bin train "$work/lopo" -o "$work/lopo.faceid" --encoder $enc >/dev/null 2>&1
        $bin annotate "$clip" -m "$work/lopo.faceid" --no-video --detections "$work/d.jsonl" >/dev/null 2>&1
        printf '%-34s %s\n' "$name without $p, $enc" "$(python3 scripts/score.py "$gt" "$work/d.jsonl" --named-as-others "$p")"
      done
    done
  }
  echo "== leave one person out: the left-out person's faces that get another's name"
  lopo bbt samples/clips/bbt_mv_720p-train $mv $gt
  lopo bts $kpop/bts_mv_720p-train $kpop/bts_mv_720p.mp4 $kpop/bts_mv_720p.gt.jsonl
  lopo bts15 $kpop/bts15_mv_720p-train $kpop/bts15_mv_720p.mp4 $kpop/bts15_mv_720p.gt.jsonl
fi
echo "== live mode: played in real time, latency-budget=33 (synchronous: latency-budget=0, same run)"
live=(--realtime --set latency-budget=33)
run "bbt live" $mv "$work/bbt-dlib.faceid" $gt "${live[@]}"
run "bbt 1080p live" $mv "$work/bbt-dlib.faceid" "" --resize 1920x1080 "${live[@]}"
run "bts15 live" $kpop/bts15_mv_720p.mp4 "$work/bts15-dlib.faceid" $kpop/bts15_mv_720p.gt.jsonl "${live[@]}"
run "bts live" $kpop/bts_mv_720p.mp4 "$work/bts-dlib.faceid" $kpop/bts_mv_720p.gt.jsonl "${live[@]}"
run "bbt live, yunet" $mv "$work/bbt-dlib.faceid" $gt "${live[@]}" "${yunet[@]}"
run "bts15 live, yunet" $kpop/bts15_mv_720p.mp4 "$work/bts15-dlib.faceid" $kpop/bts15_mv_720p.gt.jsonl "${live[@]}" "${yunet[@]}"
echo "== small faces: bts_small_faces_720p (faces 22-60 px, 1176 of 1251 under 40), model bts15; baseline find-small-faces=false"
small=$kpop/bts_small_faces_720p
for setting in "find-small-faces=false" "find-small-faces=true" "detector=yunet"; do
  $bin annotate $small.mp4 -m "$work/bts15-dlib.faceid" --no-video --detections "$work/d.jsonl" --set $setting 2>/dev/null >"$work/out.txt"
  printf '%-34s %s %s\n' "$setting" "$(tail -1 "$work/out.txt")" "$(python3 scripts/score.py $small.gt.jsonl "$work/d.jsonl" --by-size)"
done
echo "== faceid discover (the video plays at 30 frames/s: discover must be faster)"
for c in "bbt $mv $gt" "bts15 $kpop/bts15_mv_720p.mp4 $kpop/bts15_mv_720p.gt.jsonl" \
  "bts $kpop/bts_mv_720p.mp4 $kpop/bts_mv_720p.gt.jsonl"; do
  set -- $c
  for det in hog yunet; do
    rm -rf "$work/people" "$work/named"
    $bin discover "$2" -o "$work/people" --detector $det 2>/dev/null >"$work/out.txt"
    printf '%-34s %s\n%-34s %s\n' "discover $1, $det" "$(tail -1 "$work/out.txt")" "" \
      "$(python3 scripts/score_discover.py "$3" "$work/people" | grep -E 'purity|split' | tr '\n' ' ')"
    # As the README asks of a user: folders named, then a model trained from them, same detector.
    python3 scripts/score_discover.py "$3" "$work/people" --name-as-user "$work/named" >/dev/null
    $bin train "$work/named" -o "$work/named.faceid" --encoder dlib --detector $det >/dev/null 2>&1
    run "  model from its folders, $det" "$2" "$work/named.faceid" "$3" --set detector=$det
  done
done
echo "== short_hamilton_clip.mp4 (640x360, 275 frames)"
ham=samples/fr_examples/_video/short_hamilton_clip.mp4
run "hamilton per-frame (baseline)" $ham "$work/fr-sharp.faceid" "" "${baseline[@]}"
for enc in "${encoders[@]}"; do run "hamilton default, $enc" $ham "$work/fr-$enc.faceid" ""; done
