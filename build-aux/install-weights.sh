#!/bin/sh
# meson install step: put dlib's weights into the install location (honours DESTDIR), and ONNX
# Runtime with SFace's weights and their licences (and YuNet's, whose weights are compiled in)
# into its onnx/ folder. Copied from this
# checkout's models/dlib and models/onnx when they are there (no network, and `sudo meson
# install` does not depend on root's download cache), else fetched by models/fetch-weights.sh
# and models/fetch-onnx.sh.
set -eu
dest="${DESTDIR:-}$1"
src="$MESON_SOURCE_ROOT/models/dlib"
files="shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat"
onnx_files="libonnxruntime.so.1.32.0 face_recognition_sface_2021dec.onnx onnxruntime-LICENSE.txt onnxruntime-ThirdPartyNotices.txt face_recognition_sface_2021dec.onnx.LICENSE-Apache-2.0.txt"
for f in $onnx_files; do
  [ -s "$MESON_SOURCE_ROOT/models/onnx/$f" ] || { "$MESON_SOURCE_ROOT/models/fetch-onnx.sh" "$dest/onnx"; break; }
done
if [ ! -s "$dest/onnx/libonnxruntime.so.1.32.0" ]; then
  mkdir -p "$dest/onnx"
  for f in $onnx_files; do
    install -m 644 "$MESON_SOURCE_ROOT/models/onnx/$f" "$dest/onnx/$f"
  done
fi
# YuNet's weights are compiled into the plugin and the command; its licence goes beside the rest.
install -m 644 "$MESON_SOURCE_ROOT/crates/faceid-onnx/weights/LICENSE-MIT-yunet.txt" \
  "$dest/onnx/face_detection_yunet_2023mar.onnx.LICENSE-MIT.txt"
echo "ONNX Runtime and SFace installed in $dest/onnx (YuNet's licence beside them)"
for f in $files; do
  [ -s "$src/$f" ] || exec "$MESON_SOURCE_ROOT/models/fetch-weights.sh" "$dest"
done
mkdir -p "$dest"
for f in $files; do
  install -m 644 "$src/$f" "$dest/$f"
done
echo "dlib weights installed in $dest"
