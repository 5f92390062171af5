//! Criterion benchmarks of sonotag-metrics on synthetic data.
//!
//! `cargo bench -p sonotag-metrics --bench metrics`. The side-by-side comparison with
//! scikit-learn lives in the workspace's `benches/compare_metrics.py`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sonotag_metrics::{
    BinnedConfig, ScoreMatrix, StreamingRanking, TargetMatrix, TemperatureOptions,
    calibration_error, fit_temperature, ranking_metrics, ranking_per_label,
};

/// Deterministic scores/targets: prevalence 1%..30% across labels, sigmoid(signal + noise).
fn data(n: usize, l: usize) -> (Vec<f32>, Vec<u8>) {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut s = Vec::with_capacity(n * l);
    let mut t = Vec::with_capacity(n * l);
    for _ in 0..n {
        for j in 0..l {
            let y = uniform() < 0.01 + 0.29 * j as f64 / (l.max(2) - 1) as f64;
            let z = if y { 1.0 } else { -1.0 } + 3.0 * (uniform() - 0.5);
            s.push((1.0 / (1.0 + (-z).exp())) as f32);
            t.push(u8::from(y));
        }
    }
    (s, t)
}

fn bench(c: &mut Criterion) {
    let (n, l) = (100_000, 20);
    let (scores, targets) = data(n, l);
    let s = ScoreMatrix::new(&scores, n, l).expect("shape");
    let t = TargetMatrix::new(&targets, n, l).expect("shape");

    c.bench_function("ranking_per_label 100k x 20", |b| {
        b.iter(|| ranking_per_label(black_box(&s), black_box(&t)))
    });
    c.bench_function("ranking_metrics (with micro) 100k x 20", |b| {
        b.iter(|| ranking_metrics(black_box(&s), black_box(&t)))
    });
    c.bench_function("streaming binned 1e4 bins 100k x 20", |b| {
        b.iter(|| {
            let mut acc = StreamingRanking::binned(l, BinnedConfig::default()).expect("config");
            acc.push(&s, &t).expect("shape");
            acc.finish()
        })
    });
    c.bench_function("calibration_error 15 bins 2M pairs", |b| {
        b.iter(|| calibration_error(black_box(&scores), black_box(&targets), 15))
    });
    let logits: Vec<f32> = scores[..100_000]
        .iter()
        .map(|&p| (p / (1.0 - p)).ln() * 2.0)
        .collect();
    c.bench_function("fit_temperature 100k", |b| {
        b.iter(|| {
            fit_temperature(
                black_box(&logits),
                &targets[..100_000],
                &TemperatureOptions::default(),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
