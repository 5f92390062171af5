//! Criterion benches of the audio front end (package `sonotag-audio`):
//!
//! ```text
//! cargo bench -p sonotag-audio --bench mel
//! ```
//!
//! * `mel/extract_{60,600}s`: single-threaded log-mel (default config) of 16 kHz audio;
//! * `mel/batch_100x1s`: 100 one-second clips, rayon batch vs one by one;
//! * `wav/decode_600s_pcm16`: our decoder vs hound's per-sample iterator, 10 min 16-bit mono;
//! * `resample/44k1_to_16k_10s`.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sonotag_audio::{MelConfig, MelExtractor, Resampler, synth, wav};

fn extraction(c: &mut Criterion) {
    let mut group = c.benchmark_group("mel");
    group.sample_size(20);
    for seconds in [60.0, 600.0] {
        let y = synth::tones_and_noise(seconds, 16_000, 7);
        let mut ex = MelExtractor::new(&MelConfig::default()).unwrap();
        group.bench_with_input(
            BenchmarkId::new("extract", format!("{seconds}s")),
            &y,
            |b, y| b.iter(|| black_box(ex.extract(black_box(y)).unwrap())),
        );
    }
    let clips: Vec<Vec<f32>> = (0..100)
        .map(|i| synth::tones_and_noise(1.0, 16_000, i))
        .collect();
    let ex = MelExtractor::new(&MelConfig::default()).unwrap();
    group.bench_function("batch_100x1s/rayon", |b| {
        b.iter(|| black_box(ex.extract_batch(black_box(&clips))))
    });
    let mut seq = ex.clone();
    group.bench_function("batch_100x1s/sequential", |b| {
        b.iter(|| {
            for clip in &clips {
                black_box(seq.extract(clip).unwrap());
            }
        })
    });
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let y = synth::tones_and_noise(600.0, 16_000, 7);
    let mut bytes = Cursor::new(Vec::new());
    wav::write_pcm16(&mut bytes, 16_000, &y).unwrap();
    let bytes = bytes.into_inner();
    let mut group = c.benchmark_group("wav");
    group.sample_size(20);
    group.bench_function("decode_600s_pcm16/sonotag", |b| {
        b.iter(|| black_box(wav::decode_bytes(black_box(&bytes)).unwrap()))
    });
    group.bench_function("decode_600s_pcm16/hound_iterator", |b| {
        b.iter(|| {
            let mut r = hound::WavReader::new(Cursor::new(black_box(&bytes))).unwrap();
            let v: Vec<f32> = r
                .samples::<i16>()
                .map(|s| f32::from(s.unwrap()) / 32768.0)
                .collect();
            black_box(v)
        })
    });
    group.finish();
}

fn resampling(c: &mut Criterion) {
    let x = synth::tones_and_noise(10.0, 44_100, 3);
    let mut r = Resampler::new(44_100, 16_000).unwrap();
    let mut group = c.benchmark_group("resample");
    group.sample_size(10);
    group.bench_function("44k1_to_16k_10s", |b| {
        b.iter(|| black_box(r.process(black_box(&x)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, extraction, decoding, resampling);
criterion_main!(benches);
