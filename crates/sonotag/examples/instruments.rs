//! Render a multilabel instrument-tagging dataset from a General MIDI SoundFont.
//!
//! ```sh
//! apt-get install fluid-soundfont-gm      # FluidR3_GM.sf2 (MIT licence), about 140 MiB
//! cargo run --release -p sonotag --example instruments -- data/instruments-train --n-clips 2000 --seed 1
//! cargo run --release -p sonotag --example instruments -- data/instruments-test --n-clips 500 --seed 2
//! cargo run --release -p sonotag-cli -- train --manifest data/instruments-train/manifest.csv --out model/
//! ```
//!
//! Each clip lasts 1-3 s at 16 kHz; two or three of ten instruments (piano, guitar, bass,
//! violin, cello, trumpet, sax, clarinet, flute, drums) play random notes, chords and
//! velocities, the drums on the General MIDI percussion channel. Every clip is normalised to a
//! peak of 0.9 and written as 16-bit WAV under `OUT/clips/`, with `OUT/manifest.csv`
//! (`path,labels`, labels separated by `;`) for `sonotag train --manifest`. A clip depends only
//! on `--seed` and its index, so the same arguments always give the same files.
//!
//! Arguments: `OUT [--n-clips N] [--seed S] [--soundfont PATH] [--check]`. `--check` renders
//! nothing to disk: it prints, for each of the first N clips, the RMS level of every
//! instrument played alone (a numerical listening test). In a clip each instrument is rendered
//! alone, scaled to a random RMS level between -8 and 0 dB relative to the others, and mixed.

#[allow(dead_code)]
#[path = "instruments/render.rs"]
mod render;

use std::error::Error;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use rustysynth::SoundFont;

const DEFAULT_SOUNDFONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
const USAGE: &str = "usage: instruments OUT [--n-clips N] [--seed S] [--soundfont PATH] [--check]";

struct Args {
    out: Option<PathBuf>,
    n_clips: u64,
    seed: u64,
    soundfont: PathBuf,
    check: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        out: None,
        n_clips: 100,
        seed: 0,
        soundfont: PathBuf::from(DEFAULT_SOUNDFONT),
        check: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--n-clips" => {
                let v = value("--n-clips")?;
                args.n_clips = v
                    .parse()
                    .map_err(|_| format!("--n-clips: `{v}` is not a count"))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: `{v}` is not a number"))?;
            }
            "--soundfont" => args.soundfont = PathBuf::from(value("--soundfont")?),
            "--check" => args.check = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{USAGE}"));
            }
            other if args.out.is_none() => args.out = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    if args.out.is_none() && !args.check {
        return Err(USAGE.to_string());
    }
    Ok(args)
}

/// Loads the SoundFont, with a one-line error saying how to get it when it is missing.
fn load_soundfont(path: &Path) -> Result<Arc<SoundFont>, String> {
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "SoundFont {} not found: install it with `apt-get install fluid-soundfont-gm` or pass --soundfont PATH",
                path.display()
            )
        } else {
            format!("cannot open SoundFont {}: {e}", path.display())
        }
    })?;
    let sound_font = SoundFont::new(&mut std::io::BufReader::new(file))
        .map_err(|e| format!("cannot read SoundFont {}: {e}", path.display()))?;
    Ok(Arc::new(sound_font))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let started = Instant::now();
    let sound_font = load_soundfont(&args.soundfont)?;
    eprintln!(
        "loaded {} ({} presets) in {:.1} s",
        args.soundfont.display(),
        sound_font.get_presets().len(),
        started.elapsed().as_secs_f64()
    );
    if args.check {
        return check(&sound_font, &args);
    }
    let out = args.out.as_deref().ok_or(USAGE)?;
    let clips_dir = out.join("clips");
    std::fs::create_dir_all(&clips_dir)?;
    let started = Instant::now();
    let rows = (0..args.n_clips)
        .into_par_iter()
        .map(|index| -> Result<String, String> {
            let clip = render::render_clip(&sound_font, args.seed, index)?;
            let name = format!("clips/{index:05}.wav");
            let path = out.join(&name);
            let file = std::fs::File::create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            sonotag::audio::wav::write_pcm16(
                BufWriter::new(file),
                render::SAMPLE_RATE,
                &clip.samples,
            )
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(format!("{name},{}\n", clip.labels.join(";")))
        })
        .collect::<Result<Vec<String>, String>>()?;
    let mut manifest = String::from("path,labels\n");
    manifest.extend(rows);
    let manifest_path = out.join("manifest.csv");
    std::fs::write(&manifest_path, &manifest)?;

    let mut counts = [0usize; render::INSTRUMENTS.len()];
    let mut seconds = 0.0;
    for index in 0..args.n_clips {
        let plan = render::plan_clip(args.seed, index);
        seconds += plan.n_samples as f64 / f64::from(render::SAMPLE_RATE);
        for part in &plan.parts {
            counts[part.instrument] += 1;
        }
    }
    println!(
        "wrote {} clips ({:.0} s of audio, seed {}) and {} in {:.1} s",
        args.n_clips,
        seconds,
        args.seed,
        manifest_path.display(),
        started.elapsed().as_secs_f64()
    );
    for (instrument, count) in render::INSTRUMENTS.iter().zip(counts) {
        println!("  {:<9} {count}", instrument.name);
    }
    Ok(())
}

/// Prints, for the first clips, the RMS level (dB relative to full scale) of every instrument
/// played alone at the synthesizer's own level, and of the mix before peak normalisation.
fn check(sound_font: &Arc<SoundFont>, args: &Args) -> Result<(), Box<dyn Error>> {
    let db = |x: f64| 20.0 * x.max(1e-10).log10();
    let mut levels: Vec<Vec<f64>> = vec![Vec::new(); render::INSTRUMENTS.len()];
    for index in 0..args.n_clips {
        let plan = render::plan_clip(args.seed, index);
        let mix = render::rms(&render::render_plan(sound_font, &plan)?);
        let mut line = format!(
            "clip {index:3} {:.2} s, mix {:6.1} dB:",
            plan.n_samples as f64 / f64::from(render::SAMPLE_RATE),
            db(mix)
        );
        for part in &plan.parts {
            let solo = render::render_part(sound_font, &plan, part.instrument)?;
            let level = render::rms(&solo.unwrap_or_default());
            levels[part.instrument].push(db(level));
            line.push_str(&format!(
                " {} {:.1} dB",
                render::INSTRUMENTS[part.instrument].name,
                db(level)
            ));
        }
        println!("{line}");
    }
    println!("instrument  clips  min dB  mean dB  max dB");
    for (instrument, l) in render::INSTRUMENTS.iter().zip(&levels) {
        if l.is_empty() {
            println!("{:<10} {:>6}", instrument.name, 0);
            continue;
        }
        let min = l.iter().copied().fold(f64::INFINITY, f64::min);
        let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = l.iter().sum::<f64>() / l.len() as f64;
        println!(
            "{:<10} {:>6} {min:7.1} {mean:8.1} {max:7.1}",
            instrument.name,
            l.len()
        );
    }
    Ok(())
}
