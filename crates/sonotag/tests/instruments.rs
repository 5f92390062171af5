//! The instrument-mixture renderer of `examples/instruments.rs`, exercised without the
//! FluidR3 SoundFont: the test builds a tiny but complete SoundFont 2 file in memory (a looped
//! sine for every melodic program, a noise burst on the percussion bank) and renders clips
//! through the example's own code.

#[allow(dead_code)]
#[path = "../examples/instruments/render.rs"]
mod render;

use std::collections::BTreeSet;
use std::sync::Arc;

use rustysynth::SoundFont;

/// Appends a RIFF chunk: id, little-endian size, data, and a pad byte for odd sizes.
fn chunk(out: &mut Vec<u8>, id: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

/// A LIST chunk of type `kind` holding `body` (already-encoded sub-chunks).
fn list(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    let mut data = kind.to_vec();
    data.extend_from_slice(body);
    chunk(out, b"LIST", &data);
}

/// A zero-padded 20-byte name.
fn name20(name: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..name.len()].copy_from_slice(name.as_bytes());
    out
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// phdr record: name, program, bank, first preset bag, library, genre, morphology.
fn preset_header(name: &str, program: u16, bank: u16, bag: u16) -> Vec<u8> {
    let mut r = name20(name).to_vec();
    r.extend(u16s(&[program, bank, bag]));
    r.extend([0u8; 12]);
    r
}

/// shdr record: name, start, end, loop start, loop end, rate, original key, correction, link,
/// type (1 = mono).
fn sample_header(name: &str, span: [u32; 4], rate: u32, key: u8) -> Vec<u8> {
    let mut r = name20(name).to_vec();
    for v in span.into_iter().chain([rate]) {
        r.extend(v.to_le_bytes());
    }
    r.extend([key, 0]);
    r.extend(u16s(&[0, if name.is_empty() { 0 } else { 1 }]));
    r
}

/// A SoundFont 2.01 file with two samples, two instruments and two presets:
/// * preset 0:0 "Sine" -> instrument "Sine": a 440 Hz sine (period 32 samples at 14080 Hz),
///   looped; every melodic program falls back to it (rustysynth's GM fallback);
/// * preset 128:0 "Kit" -> instrument "Noise": 0.25 s of decaying noise at 16 kHz, not looped,
///   the drum kit of the percussion channel.
fn tiny_soundfont() -> Vec<u8> {
    const SINE: u32 = 2048;
    const NOISE: u32 = 4000;
    const GUARD: u32 = 46; // zero samples the format wants after each sample
    let mut wave: Vec<i16> = (0..SINE)
        .map(|i| (12_000.0 * (2.0 * std::f64::consts::PI * f64::from(i) / 32.0).sin()) as i16)
        .collect();
    wave.extend(std::iter::repeat_n(0, GUARD as usize));
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    wave.extend((0..NOISE).map(|i| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let white = (state >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0;
        (16_000.0 * white * (-f64::from(i) / 800.0).exp()) as i16
    }));
    wave.extend(std::iter::repeat_n(0, GUARD as usize));
    let noise_start = SINE + GUARD;
    let noise_end = noise_start + NOISE;

    let mut info = Vec::new();
    chunk(&mut info, b"ifil", &u16s(&[2, 1]));
    chunk(&mut info, b"isng", b"EMU8000\0");
    chunk(&mut info, b"INAM", b"sonotag tiny test font\0\0");
    let mut sdta = Vec::new();
    let samples: Vec<u8> = wave.iter().flat_map(|s| s.to_le_bytes()).collect();
    chunk(&mut sdta, b"smpl", &samples);

    // Generator operators: 41 instrument, 53 sampleID, 54 sampleModes (1 = loop).
    let mut pdta = Vec::new();
    let phdr = [
        preset_header("Sine", 0, 0, 0),
        preset_header("Kit", 0, 128, 1),
        preset_header("EOP", 0, 0, 2),
    ]
    .concat();
    chunk(&mut pdta, b"phdr", &phdr);
    chunk(&mut pdta, b"pbag", &u16s(&[0, 0, 1, 0, 2, 0]));
    chunk(&mut pdta, b"pmod", &[0u8; 10]);
    chunk(&mut pdta, b"pgen", &u16s(&[41, 0, 41, 1, 0, 0]));
    let inst = [
        [name20("Sine").to_vec(), u16s(&[0])].concat(),
        [name20("Noise").to_vec(), u16s(&[1])].concat(),
        [name20("EOI").to_vec(), u16s(&[2])].concat(),
    ]
    .concat();
    chunk(&mut pdta, b"inst", &inst);
    chunk(&mut pdta, b"ibag", &u16s(&[0, 0, 2, 0, 3, 0]));
    chunk(&mut pdta, b"imod", &[0u8; 10]);
    chunk(&mut pdta, b"igen", &u16s(&[54, 1, 53, 0, 53, 1, 0, 0]));
    let shdr = [
        sample_header("Sine", [0, SINE, 0, SINE], 14_080, 69),
        sample_header(
            "Noise",
            [noise_start, noise_end, noise_start, noise_end - 1],
            16_000,
            60,
        ),
        sample_header("", [0; 4], 0, 0),
    ]
    .concat();
    chunk(&mut pdta, b"shdr", &shdr);

    let mut body = b"sfbk".to_vec();
    list(&mut body, b"INFO", &info);
    list(&mut body, b"sdta", &sdta);
    list(&mut body, b"pdta", &pdta);
    let mut file = Vec::new();
    chunk(&mut file, b"RIFF", &body);
    file
}

fn sound_font() -> Arc<SoundFont> {
    let bytes = tiny_soundfont();
    Arc::new(SoundFont::new(&mut bytes.as_slice()).expect("the tiny SoundFont parses"))
}

#[test]
fn tiny_soundfont_is_a_valid_sf2() {
    let sf = sound_font();
    let presets: Vec<(i32, i32, &str)> = sf
        .get_presets()
        .iter()
        .map(|p| (p.get_bank_number(), p.get_patch_number(), p.get_name()))
        .collect();
    assert_eq!(presets, [(0, 0, "Sine"), (128, 0, "Kit")]);
    assert_eq!(sf.get_instruments().len(), 2);
    assert_eq!(sf.get_sample_headers().len(), 2);
}

#[test]
fn a_clip_depends_only_on_seed_and_index() {
    let sf = sound_font();
    let a = render::render_clip(&sf, 7, 3).unwrap();
    // Rendering other clips in between changes nothing.
    let _ = render::render_clip(&sf, 7, 4).unwrap();
    let b = render::render_clip(&sf, 7, 3).unwrap();
    assert_eq!(a, b);
    assert_eq!(render::plan_clip(7, 3), render::plan_clip(7, 3));
    let other_index = render::render_clip(&sf, 7, 4).unwrap();
    let other_seed = render::render_clip(&sf, 8, 3).unwrap();
    assert_ne!(a.samples, other_index.samples);
    assert_ne!(a.samples, other_seed.samples);
    assert_ne!(render::plan_clip(7, 3), render::plan_clip(7, 4));
}

#[test]
fn clips_have_two_or_three_labels_last_one_to_three_seconds_and_are_not_silent() {
    let sf = sound_font();
    let names: BTreeSet<&str> = render::INSTRUMENTS.iter().map(|i| i.name).collect();
    for index in 0..6 {
        let clip = render::render_clip(&sf, 1, index).unwrap();
        assert!(
            (2..=3).contains(&clip.labels.len()),
            "clip {index}: {:?}",
            clip.labels
        );
        let distinct: BTreeSet<&str> = clip.labels.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            clip.labels.len(),
            "clip {index}: duplicates"
        );
        assert!(
            distinct.is_subset(&names),
            "clip {index}: {:?}",
            clip.labels
        );
        let seconds = clip.samples.len() as f64 / f64::from(render::SAMPLE_RATE);
        assert!(
            (render::MIN_SECONDS..=render::MAX_SECONDS).contains(&seconds),
            "clip {index}: {seconds} s"
        );
        let peak = clip.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(
            (peak - render::PEAK).abs() < 1e-6,
            "clip {index}: peak {peak}"
        );
        assert!(
            render::rms(&clip.samples) > 0.02,
            "clip {index} is nearly silent"
        );
        assert!(clip.samples.iter().all(|s| s.is_finite()));
    }
}

#[test]
fn every_part_sounds_alone_including_the_drums() {
    let sf = sound_font();
    let mut heard = BTreeSet::new();
    let mut index = 0;
    // Enough clips to cover the percussion channel and a melodic one.
    while !(heard.contains("drums") && heard.len() >= 3) {
        let plan = render::plan_clip(5, index);
        for part in &plan.parts {
            let solo = render::render_part(&sf, &plan, part.instrument).unwrap();
            let level = render::rms(&solo.unwrap());
            let name = render::INSTRUMENTS[part.instrument].name;
            assert!(level > 1e-4, "clip {index}: {name} alone has RMS {level}");
            heard.insert(name);
        }
        index += 1;
        assert!(index < 50, "no drums in 50 clips");
    }
}

#[test]
fn plans_cover_all_instruments_and_stay_inside_the_clip() {
    let mut counts = [0usize; render::INSTRUMENTS.len()];
    let mut sizes = BTreeSet::new();
    for index in 0..500 {
        let plan = render::plan_clip(11, index);
        sizes.insert(plan.parts.len());
        for part in &plan.parts {
            counts[part.instrument] += 1;
            let drums = render::INSTRUMENTS[part.instrument].name == "drums";
            assert_eq!(part.channel == render::DRUM_CHANNEL, drums);
            // Every part starts playing within the first 0.2 s.
            let first = plan.events.iter().find(|e| e.part == part.instrument);
            assert!(
                first.is_some_and(|e| e.at < 3_200),
                "clip {index}: late start"
            );
        }
        assert!(plan.events.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(plan.events.iter().all(|e| e.at < plan.n_samples));
        let labels = plan.labels();
        assert!(labels.windows(2).all(|w| w[0] < w[1]), "{labels:?}");
    }
    assert_eq!(sizes, BTreeSet::from([2, 3]));
    // 500 clips x 2.5 parts / 10 instruments = 125 each on average.
    for (instrument, count) in render::INSTRUMENTS.iter().zip(counts) {
        assert!((80..=170).contains(&count), "{}: {count}", instrument.name);
    }
}
