//! The shipped demo clip (data/demo_16k.wav) is what `synth::demo_clip` generates.

use std::path::PathBuf;

use sonotag_audio::{MelConfig, MelExtractor, synth, wav};

fn demo_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo_16k.wav"))
}

#[test]
fn shipped_demo_clip_matches_its_generator() {
    let shipped =
        wav::decode_file(demo_path()).expect("data/demo_16k.wav is part of the repository");
    assert_eq!(
        (
            shipped.sample_rate(),
            shipped.n_channels(),
            shipped.n_frames()
        ),
        (16_000, 1, 64_000)
    );
    // 16-bit quantisation of the generator's output; allow one code for libm differences.
    for (i, (&got, want)) in shipped
        .channel(0)
        .iter()
        .zip(synth::demo_clip())
        .enumerate()
    {
        assert!(
            (got - want).abs() <= 1.5 / 32768.0,
            "sample {i}: {got} vs {want}"
        );
    }
    let mel = MelExtractor::new(&MelConfig::default())
        .unwrap()
        .extract(shipped.channel(0))
        .unwrap();
    assert_eq!((mel.n_mels(), mel.n_frames()), (64, 401));
}

/// `cargo test -p sonotag-audio --test demo_clip -- --ignored` rewrites the file.
#[test]
#[ignore = "rewrites data/demo_16k.wav"]
fn regenerate_demo_clip() {
    let file = std::fs::File::create(demo_path()).unwrap();
    wav::write_pcm16(std::io::BufWriter::new(file), 16_000, &synth::demo_clip()).unwrap();
}
