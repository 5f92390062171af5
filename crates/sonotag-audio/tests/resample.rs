//! Resampling: frequency preserved, aliases/images below -60 dB, exact length, no delay.

use sonotag_audio::{ResampleError, Resampler, resample};

/// Magnitude spectrum (Hann window) of `x`, by a plain DFT on the bins we look at.
fn spectrum_db(x: &[f32], sr: f64, freqs: &[f64]) -> Vec<f64> {
    let n = x.len();
    let w: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos())
        .collect();
    freqs
        .iter()
        .map(|&f| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, (&v, &wi)) in x.iter().zip(&w).enumerate() {
                let ph = std::f64::consts::TAU * f * i as f64 / sr;
                re += f64::from(v) * wi * ph.cos();
                im -= f64::from(v) * wi * ph.sin();
            }
            20.0 * (re.hypot(im) + 1e-300).log10()
        })
        .collect()
}

fn sine(freq: f64, sr: f64, n: usize, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / sr).sin()) as f32)
        .collect()
}

#[test]
fn tone_keeps_its_frequency_and_aliases_stay_below_60_db() {
    // 1 kHz (kept) + 12 kHz (above the new Nyquist: must be filtered, else it aliases to
    // 16 - 12 = 4 kHz), equal amplitudes, 1 s at 44.1 kHz.
    let n = 44_100;
    let x: Vec<f32> = sine(1000.0, 44_100.0, n, 0.4)
        .iter()
        .zip(sine(12_000.0, 44_100.0, n, 0.4))
        .map(|(a, b)| a + b)
        .collect();
    let y = resample(&x, 44_100, 16_000).unwrap();
    assert_eq!(y.len(), 16_000);
    // Steady part only (skip the edges where the filter sees the clip boundary).
    let steady = &y[2000..14_000];
    let grid: Vec<f64> = (1..800).map(|k| f64::from(k) * 10.0).collect(); // 10 Hz .. 7.99 kHz
    let spec = spectrum_db(steady, 16_000.0, &grid);
    let (peak_i, &peak) = spec
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!(grid[peak_i], 1000.0, "peak moved to {} Hz", grid[peak_i]);
    // Everything farther than 30 Hz from the tone (Hann main lobe is +-2 bins of 1.33 Hz,
    // sidelobes fall fast) must be 60 dB down: that covers the 4 kHz alias and any image.
    let worst = grid
        .iter()
        .zip(&spec)
        .filter(|(f, _)| (**f - 1000.0).abs() > 30.0)
        .map(|(_, &d)| d - peak)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(worst < -60.0, "worst spur {worst:.1} dB re tone");
    let alias = spectrum_db(steady, 16_000.0, &[4000.0])[0] - peak;
    assert!(alias < -60.0, "4 kHz alias at {alias:.1} dB");
    eprintln!("44.1 -> 16 kHz: worst spur {worst:.1} dB, 4 kHz alias {alias:.1} dB re the tone");
}

#[test]
fn output_is_not_delayed() {
    // A slow sine: any delay shows up as an error against the analytic output. One output
    // sample of delay at 16 kHz would give 2 pi 50 / 16000 * 0.5 = 0.0098.
    for (from, to) in [
        (44_100u32, 16_000u32),
        (48_000, 16_000),
        (22_050, 16_000),
        (8_000, 16_000),
        (16_000, 44_100),
    ] {
        let x = sine(50.0, f64::from(from), from as usize, 0.5);
        let y = resample(&x, from, to).unwrap();
        let want = sine(50.0, f64::from(to), to as usize, 0.5);
        let (a, b) = (to as usize / 16, to as usize * 15 / 16);
        let err = y[a..b]
            .iter()
            .zip(&want[a..b])
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(err < 2e-4, "{from} -> {to}: max error {err}");
    }
}

#[test]
fn lengths_are_rounded_and_rates_checked() {
    let mut r = Resampler::new(22_050, 16_000).unwrap();
    for n in [0usize, 1, 2, 3, 100, 4095, 4096, 4097, 22_050, 50_001] {
        let x = vec![0.1f32; n];
        let want = (n as f64 * 16_000.0 / 22_050.0).round() as usize;
        assert_eq!(r.process(&x).unwrap().len(), want, "n = {n}");
    }
    // Upsampling too.
    assert_eq!(
        resample(&vec![0.0; 8000], 8000, 16_000).unwrap().len(),
        16_000
    );
    assert_eq!(
        resample(&[1.0, 2.0], 16_000, 16_000).unwrap(),
        vec![1.0, 2.0]
    );
    assert_eq!(
        resample(&[1.0], 0, 16_000),
        Err(ResampleError::ZeroRate {
            from: 0,
            to: 16_000
        })
    );
}

#[test]
fn reusing_a_resampler_gives_the_same_output() {
    let x = sine(440.0, 48_000.0, 30_000, 0.3);
    let mut r = Resampler::new(48_000, 16_000).unwrap();
    let a = r.process(&x).unwrap();
    let b = r.process(&x).unwrap();
    assert_eq!(a, b);
}

mod streaming {
    use proptest::prelude::*;
    use sonotag_audio::Resampler;

    fn resample_in_pushes(r: &mut Resampler, x: &[f32], pushes: &[usize]) -> Vec<f32> {
        let mut stream = r.stream();
        let mut out = Vec::new();
        let mut rest = x;
        for &size in pushes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            let before = out.len();
            stream.push(r, chunk, &mut out).unwrap();
            // Output never runs ahead of the input: at most floor(n_in * to / from).
            let n_in = x.len() - tail.len();
            assert!(out.len() >= before);
            assert!(
                out.len() as u64 <= n_in as u64 * u64::from(r.to_rate()) / u64::from(r.from_rate())
            );
            rest = tail;
        }
        stream.finish(r, &mut out).unwrap();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Pushed in chunks of any sizes, the stream's output is bit-for-bit the whole clip's.
        #[test]
        fn a_stream_gives_the_whole_clips_output(
            rates in prop::sample::select(vec![(44_100u32, 16_000u32), (48_000, 16_000), (8_000, 16_000), (22_050, 32_000), (96_000, 44_100), (768_000, 8_001), (8_001, 32_000)]),
            n in 0usize..20_000,
            pushes in proptest::collection::vec(1usize..9_000, 1..5),
        ) {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 0.5).collect();
            let mut r = Resampler::new(rates.0, rates.1).unwrap();
            let whole = r.process(&x).unwrap();
            prop_assert_eq!(resample_in_pushes(&mut r, &x, &pushes), whole);
        }
    }

    #[test]
    fn a_long_stream_in_one_sample_pushes_matches_too() {
        let x: Vec<f32> = (0..9_001).map(|i| (i as f32 * 0.011).cos()).collect();
        let mut r = Resampler::new(44_100, 16_000).unwrap();
        let whole = r.process(&x).unwrap();
        assert_eq!(resample_in_pushes(&mut r, &x, &[1]), whole);
    }
}
