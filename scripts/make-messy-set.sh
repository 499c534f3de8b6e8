#!/usr/bin/env bash
# Builds a fan's messy training folder from a clean one (one folder per person), the way bulk
# downloads come: for each person, on top of their own photos,
#   - 2 photos of another person (the next one in the list), as other copies (resized, mirrored)
#   - 2 strangers (photos of people in no model, from STRANGERS/<someone>/)
#   - a group shot: the person beside the next person, side by side in one picture
#   - a group shot of strangers only (from GROUPS/)
#   - a duplicate: one of their own photos again, resized and recompressed
#   - a phone photo: one of their own photos stored sideways with EXIF orientation 6
#   - a thumbnail: one of their own photos at 100 px wide
#   - a "drawing": one of their own photos through an edge filter
# Usage: scripts/make-messy-set.sh CLEAN_DIR STRANGERS_DIR GROUPS_DIR OUT_DIR
# Needs gst-launch-1.0 with the good plugins (scripts/setup.sh installs them).
set -euo pipefail
clean=$1 strangers=$2 groups=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
cp -r "$clean"/. "$out"/
mapfile -t people < <(find "$clean" -mindepth 1 -maxdepth 1 -type d ! -name '_*' ! -name '.*' -printf '%f\n' | sort)
mapfile -t others < <(find "$strangers" -mindepth 1 -maxdepth 1 -type d ! -name '_*' -printf '%f\n' | sort)
mapfile -t crowds < <(find "$groups" -maxdepth 1 -type f -name '*.jpg' | sort)
n=${#people[@]}

photo() { # the k-th photo (from 0) of a folder, sorted
  find "$1" -maxdepth 1 -type f | sort | sed -n "$(($2 + 1))p"
}
convert() { # in out "gst elements between decode and encode"
  gst-launch-1.0 -q filesrc location="$1" ! decodebin ! videoconvert ! $3 ! videoconvert ! jpegenc quality=85 ! filesink location="$2" >/dev/null
}

for i in "${!people[@]}"; do
  p=${people[$i]} next=${people[$(((i + 1) % n))]}
  dir=$out/$p
  for k in 0 1; do
    convert "$(photo "$clean/$next" "$((k + 3))")" "$dir/zz-other-$k.jpg" "videoflip video-direction=horiz ! videoscale ! video/x-raw,width=300,pixel-aspect-ratio=1/1"
  done
  for k in 0 1; do
    s=${others[$(((2 * i + k) % ${#others[@]}))]}
    cp "$(photo "$strangers/$s" "$i")" "$dir/zz-stranger-$k.jpg"
  done
  # The person and the next person side by side, both 240x300.
  gst-launch-1.0 -q compositor name=c sink_1::xpos=240 ! videoconvert ! jpegenc ! filesink location="$dir/zz-group.jpg" \
    filesrc location="$(photo "$clean/$p" 2)" ! decodebin ! videoconvert ! videoscale ! video/x-raw,width=240,height=300 ! imagefreeze num-buffers=1 ! c.sink_0 \
    filesrc location="$(photo "$clean/$next" 2)" ! decodebin ! videoconvert ! videoscale ! video/x-raw,width=240,height=300 ! imagefreeze num-buffers=1 ! c.sink_1 >/dev/null
  cp "${crowds[$((i % ${#crowds[@]}))]}" "$dir/zz-crowd.jpg"
  convert "$(photo "$clean/$p" 0)" "$dir/zz-duplicate.jpg" "videoscale ! video/x-raw,width=200,pixel-aspect-ratio=1/1"
  gst-launch-1.0 -q filesrc location="$(photo "$clean/$p" 1)" ! decodebin ! videoconvert ! videoflip video-direction=90l ! videoconvert ! jpegenc \
    ! taginject tags="image-orientation=rotate-90" ! jifmux ! filesink location="$dir/zz-phone.jpg" >/dev/null
  convert "$(photo "$clean/$p" 4)" "$dir/zz-thumbnail.jpg" "videoscale ! video/x-raw,width=100,pixel-aspect-ratio=1/1"
  convert "$(photo "$clean/$p" 5)" "$dir/zz-drawing.jpg" "edgetv"
done
echo "messy set in $out: $(find "$out" -type f | wc -l) files for $n people"
