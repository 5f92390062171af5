//! Times single-threaded log-mel extraction with the default [`MelConfig`].
//!
//! ```text
//! cargo run --release -p sonotag-audio --example mel_bench -- --input F.wav --json
//! ```
//!
//! Decodes `F.wav` (timed too: warm-up + median of 5, as `decode_seconds`), resamples it to
//! 16 kHz if needed, then extracts log-mels once to warm up and `--runs` more times (default
//! 7), printing the median wall time and, on Linux, the median CPU time of the thread.
//! Without `--input`, 600 s of deterministic tones and noise are generated in memory.
//! `--output F.json` also writes the features (`sonotag features` format), for comparisons.
//! `--json` prints one JSON line:
//! `{"seconds", "cpu_seconds", "n_frames", "n_mels", "audio_seconds", "realtime_factor",
//! "decode_seconds", "decode_cpu_seconds", "runs"}` (CPU times are null off Linux).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use sonotag_audio::{MelConfig, MelExtractor, resample, synth, wav};

struct Args {
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    json: bool,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        input: None,
        output: None,
        json: false,
        runs: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--input" => {
                args.input = Some(PathBuf::from(it.next().ok_or("--input needs a path")?));
            }
            "--output" => {
                args.output = Some(PathBuf::from(it.next().ok_or("--output needs a path")?));
            }
            "--json" => args.json = true,
            "--runs" => {
                let v = it.next().ok_or("--runs needs a number")?;
                args.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--runs: expected a positive integer, got {v:?}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: mel_bench [--input F.wav] [--output F.json] [--json] [--runs N]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time of the calling thread in seconds (Linux), to report alongside wall time: on a
/// shared machine wall time also counts the time other processes held the core.
#[cfg(target_os = "linux")]
fn thread_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_seconds() -> Option<f64> {
    None
}

/// Runs `f` once to warm up, then `runs` times; returns the last result and the median wall
/// and CPU seconds.
fn timed<T>(
    runs: usize,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<(T, f64, Option<f64>), String> {
    let mut out = f()?;
    let (mut wall, mut cpu) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let c0 = thread_cpu_seconds();
        let t0 = Instant::now();
        // Drop the previous result first so that only one output buffer is alive at a time.
        drop(out);
        out = std::hint::black_box(f()?);
        wall.push(t0.elapsed().as_secs_f64());
        if let (Some(c0), Some(c1)) = (c0, thread_cpu_seconds()) {
            cpu.push(c1 - c0);
        }
    }
    let cpu = (cpu.len() == runs).then(|| median(cpu));
    Ok((out, median(wall), cpu))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let config = MelConfig::default();
    let (audio, decode) = match &args.input {
        Some(path) => {
            let (wav, wall, cpu) = timed(5, || wav::decode_file(path).map_err(|e| e.to_string()))?;
            let sr = wav.sample_rate();
            let mono =
                resample(&wav.into_mono(), sr, config.sample_rate).map_err(|e| e.to_string())?;
            (mono, Some((wall, cpu)))
        }
        None => (synth::tones_and_noise(600.0, config.sample_rate, 7), None),
    };
    let mut extractor = MelExtractor::new(&config).map_err(|e| e.to_string())?;
    let (mel, seconds, cpu_seconds) = timed(args.runs, || {
        extractor.extract(&audio).map_err(|e| e.to_string())
    })?;
    if let Some(path) = &args.output {
        // A plain write: this is a comparison aid, not a user-facing output (the `sonotag
        // features` command writes atomically through the facade).
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        serde_json::to_writer(&mut w, &mel).map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut w, b"\n").map_err(io)?;
        std::io::Write::flush(&mut w).map_err(io)?;
    }
    let audio_seconds = audio.len() as f64 / f64::from(config.sample_rate);
    if args.json {
        let line = serde_json::json!({
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "n_frames": mel.n_frames(),
            "n_mels": mel.n_mels(),
            "audio_seconds": audio_seconds,
            "realtime_factor": audio_seconds / seconds,
            "decode_seconds": decode.map(|d| d.0),
            "decode_cpu_seconds": decode.and_then(|d| d.1),
            "runs": args.runs,
        });
        println!("{line}");
    } else {
        let ms = |s: Option<f64>| s.map_or("n/a".to_string(), |s| format!("{:.2} ms", s * 1e3));
        println!(
            "log-mel of {audio_seconds:.1} s ({} frames x {} mels): {:.2} ms wall ({} CPU), median of {} runs, {:.0}x real time{}",
            mel.n_frames(),
            mel.n_mels(),
            seconds * 1e3,
            ms(cpu_seconds),
            args.runs,
            audio_seconds / seconds,
            decode
                .map(|(w, c)| format!("; decode {:.2} ms wall ({} CPU)", w * 1e3, ms(c)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mel_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
