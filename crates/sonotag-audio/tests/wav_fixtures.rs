//! WAV decoding against the soundfile/libsndfile golden fixtures (tests/fixtures/wav).

use crate::common::{cases, f32_matrix, f64_vec, fixtures_dir, load};
use sonotag_audio::wav::{self, SampleEncoding};

#[test]
fn every_wav_fixture_decodes_like_soundfile() {
    let files = cases("wav", "");
    assert!(
        files.len() >= 7,
        "expected at least 7 wav cases, found {}",
        files.len()
    );
    for case_path in files {
        let case = load(&case_path);
        let name = case_path.display().to_string();
        let wav_path = fixtures_dir()
            .join("wav")
            .join(case["inputs"]["file"].as_str().expect("inputs.file"));
        let exp = &case["expected"];
        let got = wav::decode_file(&wav_path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            u64::from(got.sample_rate()),
            exp["sample_rate"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            got.n_channels() as u64,
            exp["channels"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            got.n_frames() as u64,
            exp["frames"].as_u64().unwrap(),
            "{name}"
        );
        let first_n = exp["first_n"].as_u64().unwrap() as usize;
        let want32 = f32_matrix(&exp["first_samples_float32"]);
        assert_eq!(want32.len(), got.n_channels(), "{name}");
        for (c, want) in want32.iter().enumerate() {
            assert_eq!(want.len(), first_n, "{name}");
            let have = &got.channel(c)[..first_n];
            for (i, (h, w)) in have.iter().zip(want).enumerate() {
                assert_eq!(
                    h.to_bits(),
                    w.to_bits(),
                    "{name}: channel {c} sample {i}: {h} vs {w}"
                );
            }
        }
        // float64 reference: equal to our f32 within half an f32 ulp (exact for <= 24 bits).
        for (c, want) in exp["first_samples"].as_array().unwrap().iter().enumerate() {
            for (i, (h, w)) in got.channel(c).iter().zip(f64_vec(want)).enumerate() {
                let tol = if got.encoding() == SampleEncoding::PcmI32 {
                    w.abs() * 6e-8
                } else {
                    0.0
                };
                assert!(
                    (f64::from(*h) - w).abs() <= tol,
                    "{name}: ch {c} [{i}] {h} vs {w}"
                );
            }
        }
        // Raw integer codes (null for float files) map through the documented scaling.
        if let Some(codes) = exp["first_codes"].as_array() {
            let bits = case["params"]["bits_per_sample"].as_u64().unwrap() as i32;
            for (c, row) in codes.iter().enumerate() {
                for (i, code) in row.as_array().unwrap().iter().enumerate() {
                    let code = code.as_i64().unwrap() as f64;
                    let want = if bits == 8 {
                        (code - 128.0) / 128.0
                    } else {
                        code / 2f64.powi(bits - 1)
                    };
                    assert_eq!(got.channel(c)[i], want as f32, "{name}: code ch {c} [{i}]");
                }
            }
        }
        // Mono downmix is the per-frame channel mean.
        let mono = got.to_mono();
        for (t, m) in mono.iter().enumerate().step_by(97) {
            let mean = got.channels().iter().map(|ch| ch[t]).sum::<f32>() / got.n_channels() as f32;
            assert_eq!(*m, mean, "{name}: mono frame {t}");
        }
    }
}

#[test]
fn decoding_from_bytes_and_reader_matches_decoding_from_path() {
    for case_path in cases("wav", "") {
        let case = load(&case_path);
        let wav_path = fixtures_dir()
            .join("wav")
            .join(case["inputs"]["file"].as_str().unwrap());
        let bytes = std::fs::read(&wav_path).unwrap();
        let a = wav::decode_file(&wav_path).unwrap();
        let b = wav::decode_bytes(&bytes).unwrap();
        let c = wav::decode_reader(std::io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}

/// hound's own sample iterator is an independent decoder for the files it can read: every
/// sample must agree with ours after the soundfile scaling.
#[test]
fn agrees_with_hound_sample_by_sample() {
    let mut checked = 0;
    for case_path in cases("wav", "") {
        let case = load(&case_path);
        let wav_path = fixtures_dir()
            .join("wav")
            .join(case["inputs"]["file"].as_str().unwrap());
        let Ok(mut reader) = hound::WavReader::open(&wav_path) else {
            continue;
        };
        let spec = reader.spec();
        let ours = wav::decode_file(&wav_path).unwrap();
        let n_ch = usize::from(spec.channels);
        let theirs: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
            hound::SampleFormat::Int => {
                let scale = 2f64.powi(i32::from(spec.bits_per_sample) - 1);
                // hound returns 8-bit samples already re-centred on 0 (code - 128).
                reader
                    .samples::<i32>()
                    .map(|s| (f64::from(s.unwrap()) / scale) as f32)
                    .collect()
            }
        };
        assert_eq!(theirs.len(), ours.n_frames() * n_ch);
        for (i, v) in theirs.iter().enumerate() {
            assert_eq!(
                *v,
                ours.channel(i % n_ch)[i / n_ch],
                "{}: sample {i}",
                case_path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "hound could read only {checked} fixture files"
    );
}
