//! Decode speed of `decode::decode_file` and `AudioReader` on one file, as x-realtime.
//!
//! ```text
//! ffmpeg -f lavfi -i "sine=f=440:d=600:sample_rate=48000" -f lavfi -i "anoisesrc=d=600:a=0.1:r=48000" \
//!     -filter_complex "[0:a][1:a]amerge=inputs=2,aformat=sample_fmts=s16:channel_layouts=stereo[a]" \
//!     -map "[a]" -c:a flac 10min.flac
//! cargo run --release -p sonotag-audio --example decode_bench -- 10min.flac
//! ```

use std::time::Instant;

use sonotag_audio::decode::{self, AudioReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: decode_bench FILE [REPEATS]")?;
    let repeats: usize = std::env::args().nth(2).map_or(Ok(3), |s| s.parse())?;
    let mut best_whole = f64::INFINITY;
    let mut best_stream = f64::INFINITY;
    let mut duration = 0.0;
    for _ in 0..repeats {
        let t = Instant::now();
        let audio = decode::decode_file(&path)?;
        let mono = audio.to_mono();
        best_whole = best_whole.min(t.elapsed().as_secs_f64());
        duration = audio.duration_s();
        drop(mono);

        let t = Instant::now();
        let mut reader = AudioReader::open(&path)?;
        let mut block = Vec::with_capacity(1 << 16);
        loop {
            block.clear();
            if reader.read_mono(&mut block, 1 << 15)? == 0 {
                break;
            }
        }
        best_stream = best_stream.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{path}: {duration:.1} s of audio; decode_file + to_mono {best_whole:.3} s ({:.0}x realtime); AudioReader::read_mono {best_stream:.3} s ({:.0}x realtime); best of {repeats}",
        duration / best_whole,
        duration / best_stream
    );
    Ok(())
}
