#!/usr/bin/env bash
# Checks that the installs described in the README work, without writing outside a scratch
# folder (nothing in /usr, nothing in ~):
#  1. `meson setup build && meson install -C build` (default prefix /usr), staged with DESTDIR:
#     the plugin lands in GStreamer's own plugin folder (pkg-config pluginsdir, the one place
#     GStreamer searches without GST_PLUGIN_PATH), the command in /usr/bin, the weights in
#     /usr/share/gst-faceid/models, and the plugin looks for them there.
#  2. The same into a scratch prefix, used with a clean environment (env -i: no
#     FACEID_MODELS_DIR, no cargo, a fresh registry) where only GST_PLUGIN_PATH points at the
#     prefix: gst-inspect-1.0 lists both elements, `faceid train` builds a model and a
#     gst-launch-1.0 pipeline names two faces with the installed plugin and weights.
#  3. `cargo install --path crates/faceid --root DIR` builds a `faceid` that trains a model.
# The first run builds everything in release mode (about 6 minutes on 2 busy cores), then
# checks for about 2 minutes; later runs reuse FACEID_INSTALL_CHECK_DIR (default
# /tmp/faceid-install-check) and take 2-3 minutes.
# Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$PWD
work=${FACEID_INSTALL_CHECK_DIR:-${TMPDIR:-/tmp}/faceid-install-check}
build=$work/build
prefix=$work/prefix
stage=$work/stage
mkdir -p "$work/home"
rm -rf "$prefix" "$stage" "$work/cargo-root" "$work"/*.faceid "$work/registry.bin"

fail() { echo "install-check: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

weights=(shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat)
pluginsdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)

# A clean environment: what a user's shell has after installing, and nothing from this checkout.
clean() {
  env -i PATH=/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8 \
    GST_REGISTRY="$work/registry.bin" "$@"
}

[ -d "$build" ] || meson setup "$build" >/dev/null

step "1. default install (prefix /usr), staged in $stage"
meson configure "$build" -Dprefix=/usr
DESTDIR=$stage meson install -C "$build" --quiet
[ -f "$stage$pluginsdir/libgstfaceid.so" ] || fail "plugin not in GStreamer's plugin folder $pluginsdir"
[ -x "$stage/usr/bin/faceid" ] || fail "faceid not in /usr/bin"
for f in "${weights[@]}"; do
  [ -s "$stage/usr/share/gst-faceid/models/$f" ] || fail "weight $f not in /usr/share/gst-faceid/models"
done
grep -qaF /usr/share/gst-faceid/models "$stage$pluginsdir/libgstfaceid.so" ||
  fail "the plugin does not look for its weights in /usr/share/gst-faceid/models"
echo "plugin in $pluginsdir, faceid in /usr/bin, weights in /usr/share/gst-faceid/models"

step "2. install into $prefix, used with a clean environment"
meson configure "$build" -Dprefix="$prefix"
meson install -C "$build" --quiet
plugin_dir=$(dirname "$(find "$prefix" -name libgstfaceid.so)")
[ -x "$prefix/bin/faceid" ] || fail "faceid not in $prefix/bin"
for f in "${weights[@]}"; do
  [ -s "$prefix/share/gst-faceid/models/$f" ] || fail "weight $f not installed"
done
inspect=$(clean GST_PLUGIN_PATH="$plugin_dir" gst-inspect-1.0 faceidoverlay) ||
  fail "gst-inspect-1.0 faceidoverlay"
grep -q "known-color" <<<"$inspect" || fail "faceidoverlay without its properties"
clean GST_PLUGIN_PATH="$plugin_dir" gst-inspect-1.0 faceidtrain >/dev/null || fail "gst-inspect-1.0 faceidtrain"
log=$(clean "$prefix/bin/faceid" train "$src/samples/fr_examples" -o "$work/people.faceid" 2>&1) ||
  fail "installed faceid train: $log"
out=$(clean GST_PLUGIN_PATH="$plugin_dir" GST_DEBUG=faceidoverlay:4 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 -m \
  filesrc location="$src/samples/fr_examples/_group/obama_and_biden.jpg" ! decodebin ! \
  videoconvert ! faceidoverlay model="$work/people.faceid" ! fakesink 2>&1) ||
  fail "gst-launch-1.0 with the installed plugin: $out"
for name in barack_obama joe_biden; do
  # (the faces list is printed escaped: label\=\(string\)NAME)
  tr -d '\\' <<<"$out" | grep -q "label=(string)$name" || fail "the installed plugin did not name $name: $out"
done
grep -qF "dlib weights from $prefix/share/gst-faceid/models" <<<"$out" ||
  fail "the installed plugin did not use the installed weights: $out"
echo "gst-inspect-1.0 finds both elements; faceid trains; the plugin names Obama and Biden"
echo "with the weights from $prefix/share/gst-faceid/models"

step "3. cargo install --path crates/faceid --root $work/cargo-root"
CARGO_TARGET_DIR=$build/target cargo install --quiet --locked --path crates/faceid --root "$work/cargo-root"
log=$(clean "$work/cargo-root/bin/faceid" train "$src/samples/fr_examples" -o "$work/cargo.faceid" 2>&1) ||
  fail "cargo-installed faceid train: $log"
echo "cargo install builds a faceid that trains"

echo "install-check: OK"
