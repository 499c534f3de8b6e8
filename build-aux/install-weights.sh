#!/bin/sh
# meson install step: fetch dlib's weights into the install location (honours DESTDIR).
set -eu
dest="${DESTDIR:-}$1"
exec "$MESON_SOURCE_ROOT/models/fetch-weights.sh" "$dest"
