#!/bin/sh
# meson install step: put dlib's weights into the install location (honours DESTDIR). Copied
# from this checkout's models/dlib when they are there (no network, and `sudo meson install`
# does not depend on root's download cache), else fetched by models/fetch-weights.sh.
set -eu
dest="${DESTDIR:-}$1"
src="$MESON_SOURCE_ROOT/models/dlib"
files="shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat"
for f in $files; do
  [ -s "$src/$f" ] || exec "$MESON_SOURCE_ROOT/models/fetch-weights.sh" "$dest"
done
mkdir -p "$dest"
for f in $files; do
  install -m 644 "$src/$f" "$dest/$f"
done
echo "dlib weights installed in $dest"
