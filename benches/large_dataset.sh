#!/usr/bin/env bash
# Peak memory of `sonotag train` against the length of the dataset: generates synthetic
# labelled WAV datasets of each given length (not committed; under $WORK), trains one epoch on
# each with the default feature memory budget, and prints "hours, peak RSS MiB, wall s".
#
#   benches/large_dataset.sh [HOURS...]        (default: 5 20)
#
# Environment: WORK (scratch folder, default /tmp/sonotag-bench; needs about 120 MB of disk
# per hour of audio plus the spilled features), SONOTAG (a sonotag binary to use instead of
# building the release one), MODEL (network preset, default tiny), EXTRA (more train flags).
set -euo pipefail

cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/sonotag-bench}
MODEL=${MODEL:-tiny}
HOURS=("$@")
[ ${#HOURS[@]} -gt 0 ] || HOURS=(5 20)
mkdir -p "$WORK"

if [ -z "${SONOTAG:-}" ]; then
    cargo build --release -p sonotag-cli -p sonotag --example make_dataset >&2
    TARGET=${CARGO_TARGET_DIR:-target}
    SONOTAG=$TARGET/release/sonotag
    MAKE_DATASET=$TARGET/release/examples/make_dataset
else
    MAKE_DATASET=${MAKE_DATASET:?set MAKE_DATASET with SONOTAG}
fi

echo "# $(uname -srm), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hours, peak RSS MiB, wall s"
for h in "${HOURS[@]}"; do
    data=$WORK/data-${h}h
    [ -f "$data/manifest.csv" ] || "$MAKE_DATASET" "$data" "$h" >&2
    log=$WORK/train-${h}h.log
    # shellcheck disable=SC2086
    /usr/bin/time -v "$SONOTAG" train --manifest "$data/manifest.csv" --out "$WORK/model-${h}h" \
        --model "$MODEL" --epochs 1 ${EXTRA:-} 2> "$log" >/dev/null || {
        tail -n 30 "$log" >&2
        exit 1
    }
    rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    echo "$h, $((rss_kib / 1024)), $wall (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
