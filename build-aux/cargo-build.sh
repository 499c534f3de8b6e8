#!/bin/sh
# Called by meson: cargo build, then copy the plugin and the command where meson expects them.
# Usage: cargo-build.sh CARGO PROFILE MODELS_INSTALL_DIR TARGET_DIR MANIFEST OUTDIR
set -eu
cargo=$1 profile=$2 models_dir=$3 target_dir=$4 manifest=$5 outdir=$6
release=""
[ "$profile" = release ] && release="--release"
FACEID_MODELS_INSTALL_DIR="$models_dir" FACEID_ONNX_INSTALL_DIR="$models_dir/onnx" "$cargo" build --locked $release \
  --manifest-path "$manifest" --target-dir "$target_dir" --lib --bin faceid
cp "$target_dir/$profile/libgstfaceid.so" "$outdir/libgstfaceid.so"
cp "$target_dir/$profile/faceid" "$outdir/faceid"
