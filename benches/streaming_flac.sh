#!/usr/bin/env bash
# Streaming prediction on a long FLAC: peak RSS and real-time factor of `sonotag predict`.
#
#   bash benches/streaming_flac.sh            # 2 hours, 48 kHz stereo
#   HOURS=0.5 bash benches/streaming_flac.sh  # shorter
#
# Needs ffmpeg (apt-get install ffmpeg) and GNU time (/usr/bin/time). Files go to $WORK
# (default /tmp/sonotag-stream-bench; the 2-hour FLAC takes about 520 MB). Run it on an idle
# machine: the figures are wall-clock.
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${HOURS:-2}
work=${WORK:-/tmp/sonotag-stream-bench}
mkdir -p "$work"
seconds=$(python3 -c "print(int(float('$hours') * 3600))")
flac="$work/long-${seconds}s-48k.flac"

target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p sonotag-cli
if [ ! -d "$work/model" ]; then
  # A separate build: the example's dev-dependencies change feature unification, so building
  # it with the CLI would rebuild the CLI's dependencies too.
  cargo run --release -q -p sonotag --example bench_model -- "$work/model"
fi
if [ ! -f "$flac" ]; then
  # Pink noise with a sweeping tone, two channels that differ (so the downmix is real work).
  ffmpeg -loglevel error -y \
    -f lavfi -i "anoisesrc=d=$seconds:c=pink:r=48000:a=0.05" \
    -f lavfi -i "sine=f=660:r=48000:d=$seconds" \
    -filter_complex "[0][1]amerge=inputs=2" -c:a flac -sample_fmt s16 "$flac"
fi

/usr/bin/time -v "$target/release/sonotag" predict --model "$work/model" "$flac" \
  > "$work/predictions.csv" 2> "$work/time.log"
rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.log")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time.log")
python3 - "$seconds" "$rss_kb" "$wall" "$(wc -l < "$work/predictions.csv")" <<'PY'
import sys
seconds, rss_kb, wall, rows = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
parts = [float(p) for p in wall.split(":")]
wall_s = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"audio {seconds / 3600:.2f} h (48 kHz stereo FLAC), peak RSS {rss_kb / 1024:.0f} MiB, "
      f"wall {wall_s:.1f} s, real-time factor {seconds / wall_s:.0f}x, {rows - 1} csv rows")
PY
