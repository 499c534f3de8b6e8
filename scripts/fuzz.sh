#!/usr/bin/env bash
# Fuzzes the parsers of outside input (fuzz/README.md) for SECONDS each (default 60) and fails
# on any crash, panic, leak-sized allocation or hang. The committed corpus (fuzz/corpus, kept
# minimised) is read, never written: new interesting inputs go to a temporary folder, so a
# `git add -A` after a test run cannot commit them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.12.0 --quiet
export RUSTC_BOOTSTRAP=1
for target in model_file json_lines; do
  echo "fuzzing $target for ${seconds}s"
  log=$(mktemp)
  new=$(mktemp -d)
  if ! (cd fuzz && cargo fuzz run "$target" "$new" "corpus/$target" -- \
     -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
     -print_final_stats=1) >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (failing inputs, if any, in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$log" || true
  rm -rf "$log" "$new"
done
