#!/usr/bin/env bash
# Re-runs a cargo-fuzz target for N seconds on one core, starting from the committed corpus.
#
#   fuzz/run.sh [TARGET] [SECONDS] [extra libFuzzer flags...]
#   fuzz/run.sh                      # wav_decode for 60 s
#   fuzz/run.sh wav_decode 900       # 15 minutes, as recorded in docs/reliability.md
#   fuzz/run.sh manifest_parse 420   # targets: wav_decode, wav_features, audio_decode, mel_config,
#                                    #   manifest_parse, model_load, checkpoint_load, metrics_csv
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz passes nightly-only flags
# (-Zsanitizer=address); on the stable toolchain RUSTC_BOOTSTRAP=1 unlocks them, on nightly
# it is harmless. New interesting inputs go to fuzz/target/work-corpus/TARGET (ignored by
# git); the committed seeds in fuzz/corpus/TARGET are only read. A crash leaves its input in
# fuzz/artifacts/TARGET/ (ignored too): reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...
# then add a regression test (crates/sonotag-audio/tests/hostile_wav.rs) before fixing it.
set -euo pipefail
cd "$(dirname "$0")"

target=${1:-wav_decode}
secs=${2:-60}
shift $(( $# < 2 ? $# : 2 ))

work="target/work-corpus/$target"
mkdir -p "$work" "artifacts/$target"

# A dictionary of format tokens (chunk ids, tags) per target, or per format family.
dict=()
if [[ -f "$target.dict" ]]; then
  dict=(-dict="$target.dict")
elif [[ "$target" == wav_* ]]; then
  dict=(-dict=wav.dict)
fi

# One in-process libFuzzer job (its default; `-jobs=1` would only move its output into a
# fuzz-0.log file), at low priority so builds on the same machine keep their cores.
# -malloc_limit_mb: inputs are at most a few tens of KB, so any single allocation above 64 MB
# means a size field was trusted; libFuzzer reports it as a crash.
# model_load trains a small model once at start-up and runs burn on every input: it gets a
# larger single-allocation limit and more time per input.
limits=(-malloc_limit_mb=64 -rss_limit_mb=1024)
if [[ "$target" == model_load || "$target" == checkpoint_load || "$target" == metrics_csv ]]; then
  limits=(-malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=30)
fi
# The audio targets do not need the facade (and so burn): build them without it.
features=()
if [[ "$target" == wav_* || "$target" == mel_* || "$target" == audio_* ]]; then
  features=(--no-default-features)
fi
# AS_LIMIT_MB=N runs without AddressSanitizer under an address-space limit of N MiB
# (`ulimit -v`; ASan reserves terabytes of shadow memory, so the two do not mix): any
# allocation the limit cannot hold fails, and the abort is reported as a crash instead of the
# machine swapping. libFuzzer's -malloc_limit_mb needs a sanitizer, so it is dropped then.
sanitizer=()
if [[ -n "${AS_LIMIT_MB:-}" ]]; then
  sanitizer=(-s none)
  kept=()
  for flag in "${limits[@]}"; do
    [[ "$flag" == -malloc_limit_mb=* ]] || kept+=("$flag")
  done
  limits=("${kept[@]}")
  ulimit -v $(( AS_LIMIT_MB * 1024 ))
fi
RUSTC_BOOTSTRAP=1 exec nice -n 10 cargo fuzz run "${sanitizer[@]}" "${features[@]}" "$target" \
  "$work" "corpus/$target" -- \
  -max_total_time="$secs" -print_final_stats=1 "${limits[@]}" "${dict[@]}" "$@"
