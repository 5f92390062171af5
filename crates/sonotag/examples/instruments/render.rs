//! The instrument-mixture dataset: clips of 1-3 s at 16 kHz in which two or three of ten
//! General MIDI instruments play random notes, chords and drum patterns, rendered from a
//! SoundFont with `rustysynth`.
//!
//! Shared by `examples/instruments.rs` (which writes the WAV files and the manifest) and
//! `tests/instruments.rs` (which renders through a tiny SoundFont built in code), each including
//! this file with `#[path = "..."] mod render;`.
//!
//! A clip depends only on the seed and its index: [`plan_clip`] draws everything from a
//! SplitMix64 stream seeded with `splitmix64(seed ^ splitmix64(index))`, and rendering is
//! deterministic (`rustysynth` draws no random numbers), so clips can be rendered in any order,
//! in parallel, or one at a time.

use std::sync::Arc;

use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

/// Sample rate of the rendered clips (the default `MelConfig` rate).
pub const SAMPLE_RATE: u32 = 16_000;
/// Shortest clip in seconds.
pub const MIN_SECONDS: f64 = 1.0;
/// Longest clip in seconds.
pub const MAX_SECONDS: f64 = 3.0;
/// Each clip is scaled so that its largest absolute sample is this.
pub const PEAK: f32 = 0.9;
/// The General MIDI percussion channel (MIDI channel 10, 0-based 9).
pub const DRUM_CHANNEL: u8 = 9;

/// How an instrument plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Single notes and block chords (piano).
    Keys,
    /// Strummed chords and single notes (guitar).
    Strum,
    /// A monophonic line of random-walk notes (bass and the melody instruments).
    Line,
    /// A drum pattern on an eighth-note grid (percussion bank).
    Drums,
}

/// One instrument of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instrument {
    /// The label.
    pub name: &'static str,
    /// General MIDI program (0-based); unused for drums, which play on the percussion channel.
    pub program: u8,
    /// Lowest MIDI key played.
    pub low: u8,
    /// Highest MIDI key played.
    pub high: u8,
    /// How it plays.
    pub style: Style,
}

/// The ten instruments, in label (alphabetical) order.
pub const INSTRUMENTS: [Instrument; 10] = [
    // GM 34 Electric Bass (finger).
    Instrument {
        name: "bass",
        program: 33,
        low: 28,
        high: 55,
        style: Style::Line,
    },
    // GM 43 Cello.
    Instrument {
        name: "cello",
        program: 42,
        low: 36,
        high: 72,
        style: Style::Line,
    },
    // GM 72 Clarinet.
    Instrument {
        name: "clarinet",
        program: 71,
        low: 50,
        high: 89,
        style: Style::Line,
    },
    // Standard kit on the percussion channel (bank 128).
    Instrument {
        name: "drums",
        program: 0,
        low: 35,
        high: 81,
        style: Style::Drums,
    },
    // GM 74 Flute.
    Instrument {
        name: "flute",
        program: 73,
        low: 60,
        high: 96,
        style: Style::Line,
    },
    // GM 26 Acoustic Guitar (steel).
    Instrument {
        name: "guitar",
        program: 25,
        low: 40,
        high: 81,
        style: Style::Strum,
    },
    // GM 1 Acoustic Grand Piano.
    Instrument {
        name: "piano",
        program: 0,
        low: 36,
        high: 96,
        style: Style::Keys,
    },
    // GM 66 Alto Sax.
    Instrument {
        name: "sax",
        program: 65,
        low: 49,
        high: 80,
        style: Style::Line,
    },
    // GM 57 Trumpet.
    Instrument {
        name: "trumpet",
        program: 56,
        low: 55,
        high: 82,
        style: Style::Line,
    },
    // GM 41 Violin.
    Instrument {
        name: "violin",
        program: 40,
        low: 55,
        high: 96,
        style: Style::Line,
    },
];

/// SplitMix64 finaliser (Steele, Lea & Flood 2014), as `sonotag::synthetic` mixes seeds.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A SplitMix64 stream: small, fast, and the same on every platform and crate version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream of clip `index` under `seed`.
    pub fn for_clip(seed: u64, index: u64) -> Self {
        Self(splitmix64(seed ^ splitmix64(index)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [lo, hi] (inclusive).
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i32
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// What happens at an [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Key pressed with a velocity in 1..=127.
    NoteOn { key: u8, velocity: u8 },
    /// Key released.
    NoteOff { key: u8 },
}

/// A MIDI event of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Time in samples from the start of the clip.
    pub at: usize,
    /// MIDI channel (0-based; 9 is percussion).
    pub channel: u8,
    /// Index into [`INSTRUMENTS`] of the part that plays it.
    pub part: usize,
    /// Note on or off.
    pub action: Action,
}

/// One instrument of a clip and how its channel is set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// Index into [`INSTRUMENTS`].
    pub instrument: usize,
    /// MIDI channel (0-based).
    pub channel: u8,
    /// Level in the mix: the part is rendered alone, scaled to this RMS level in dB (0 dB =
    /// RMS 0.1), then summed with the others.
    pub gain_db: f64,
}

/// Everything drawn for one clip, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipPlan {
    /// Clip index.
    pub index: u64,
    /// Length in samples.
    pub n_samples: usize,
    /// The instruments that play, in label order.
    pub parts: Vec<Part>,
    /// Note events sorted by time.
    pub events: Vec<Event>,
}

impl ClipPlan {
    /// The labels of the clip, in label (alphabetical) order.
    pub fn labels(&self) -> Vec<&'static str> {
        self.parts
            .iter()
            .map(|p| INSTRUMENTS[p.instrument].name)
            .collect()
    }
}

/// A rendered clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Clip index.
    pub index: u64,
    /// Labels, in label (alphabetical) order.
    pub labels: Vec<&'static str>,
    /// Mono samples at [`SAMPLE_RATE`], peak-normalised to [`PEAK`].
    pub samples: Vec<f32>,
}

fn seconds(s: f64) -> usize {
    (s * f64::from(SAMPLE_RATE)).round() as usize
}

/// Draws clip `index` of the dataset with `seed`: its length, two or three distinct
/// instruments, and their notes. A pure function of `(seed, index)`.
pub fn plan_clip(seed: u64, index: u64) -> ClipPlan {
    let mut rng = Rng::for_clip(seed, index);
    let n_samples = seconds(rng.range(MIN_SECONDS, MAX_SECONDS));
    let n_parts = if rng.chance(0.5) { 2 } else { 3 };
    // Partial Fisher-Yates: the first `n_parts` of a shuffled 0..10.
    let mut order: Vec<usize> = (0..INSTRUMENTS.len()).collect();
    for i in 0..n_parts {
        let j = rng.int(i as i32, (order.len() - 1) as i32) as usize;
        order.swap(i, j);
    }
    let mut chosen = order[..n_parts].to_vec();
    chosen.sort_unstable();

    let mut parts = Vec::with_capacity(n_parts);
    let mut events = Vec::new();
    let mut next_channel = 0u8;
    for &instrument in &chosen {
        let spec = INSTRUMENTS[instrument];
        let channel = if spec.style == Style::Drums {
            DRUM_CHANNEL
        } else {
            let c = next_channel;
            next_channel += 1;
            c
        };
        let part = Part {
            instrument,
            channel,
            gain_db: rng.range(-8.0, 0.0),
        };
        parts.push(part);
        let mut notes = Notes {
            events: &mut events,
            part: &part,
            n_samples,
        };
        match spec.style {
            Style::Line => line(&mut rng, &spec, &mut notes),
            Style::Keys => chords(&mut rng, &spec, &mut notes, false),
            Style::Strum => chords(&mut rng, &spec, &mut notes, true),
            Style::Drums => drums(&mut rng, &mut notes),
        }
    }
    // Stable: simultaneous events keep their drawing order (a note-off before a re-strike).
    events.sort_by_key(|e| e.at);
    ClipPlan {
        index,
        n_samples,
        parts,
        events,
    }
}

/// Collects the note events of one part; events at or after the clip's end are dropped.
struct Notes<'a> {
    events: &'a mut Vec<Event>,
    part: &'a Part,
    n_samples: usize,
}

impl Notes<'_> {
    fn note(&mut self, start_s: f64, length_s: f64, key: i32, velocity: i32) {
        let start = seconds(start_s);
        if start >= self.n_samples {
            return;
        }
        let key = key.clamp(0, 127) as u8;
        let velocity = velocity.clamp(1, 127) as u8;
        let (channel, part) = (self.part.channel, self.part.instrument);
        self.events.push(Event {
            at: start,
            channel,
            part,
            action: Action::NoteOn { key, velocity },
        });
        let end = seconds(start_s + length_s);
        if end < self.n_samples {
            self.events.push(Event {
                at: end,
                channel,
                part,
                action: Action::NoteOff { key },
            });
        }
    }
}

/// A monophonic line: notes of 0.12-0.6 s wandering by up to four semitones, with occasional
/// rests, from a random start in the first 0.15 s to the end of the clip.
fn line(rng: &mut Rng, spec: &Instrument, notes: &mut Notes<'_>) {
    let (low, high) = (i32::from(spec.low), i32::from(spec.high));
    let mut key = rng.int(low, high);
    let loudness = rng.int(70, 115);
    let end_s = notes.n_samples as f64 / f64::from(SAMPLE_RATE);
    let mut t = rng.range(0.0, 0.15);
    while t < end_s {
        let length = rng.range(0.12, 0.6);
        let velocity = loudness + rng.int(-15, 15);
        notes.note(t, length * rng.range(0.8, 1.0), key, velocity);
        t += length;
        if rng.chance(0.15) {
            t += rng.range(0.05, 0.25);
        }
        key = (key + rng.int(-4, 4)).clamp(low, high);
    }
}

/// Single notes and chords (major, minor, sus4 or seventh); strummed chords start their notes
/// 8-25 ms apart.
fn chords(rng: &mut Rng, spec: &Instrument, notes: &mut Notes<'_>, strum: bool) {
    const SHAPES: [&[i32]; 4] = [&[0, 4, 7], &[0, 3, 7], &[0, 5, 7], &[0, 4, 7, 10]];
    let (low, high) = (i32::from(spec.low), i32::from(spec.high));
    let loudness = rng.int(65, 115);
    let end_s = notes.n_samples as f64 / f64::from(SAMPLE_RATE);
    let mut t = rng.range(0.0, 0.15);
    while t < end_s {
        let length = rng.range(0.2, 0.8);
        let velocity = loudness + rng.int(-20, 15);
        if rng.chance(if strum { 0.65 } else { 0.5 }) {
            let shape = SHAPES[rng.int(0, SHAPES.len() as i32 - 1) as usize];
            let root = rng.int(low, (high - 12).max(low));
            let spread = if strum { rng.range(0.008, 0.025) } else { 0.0 };
            for (i, interval) in shape.iter().enumerate() {
                let offset = spread * i as f64;
                notes.note(
                    t + offset,
                    length - offset,
                    root + interval,
                    velocity - 3 * i as i32,
                );
            }
        } else {
            notes.note(t, length, rng.int(low, high), velocity);
        }
        t += length;
        if rng.chance(0.1) {
            t += rng.range(0.05, 0.2);
        }
    }
}

/// A kick/snare/hi-hat pattern at 80-160 beats per minute on an eighth-note grid, with random
/// variations, tom fills and crashes.
fn drums(rng: &mut Rng, notes: &mut Notes<'_>) {
    const KICK: i32 = 36;
    const SNARE: i32 = 38;
    const CLOSED_HAT: i32 = 42;
    const OPEN_HAT: i32 = 46;
    const CRASH: i32 = 49;
    const RIDE: i32 = 51;
    const TOMS: [i32; 3] = [45, 47, 50];
    let eighth = 30.0 / rng.range(80.0, 160.0);
    let loudness = rng.int(80, 120);
    let cymbal = if rng.chance(0.7) { CLOSED_HAT } else { RIDE };
    let end_s = notes.n_samples as f64 / f64::from(SAMPLE_RATE);
    let mut t = rng.range(0.0, 0.1);
    let mut step = 0usize;
    while t < end_s {
        let beat = step % 8;
        let mut hit = |rng: &mut Rng, key: i32, accent: i32| {
            let velocity = loudness + accent + rng.int(-12, 8);
            notes.note(t, 0.1, key, velocity);
        };
        if rng.chance(0.9) {
            let key = if cymbal == CLOSED_HAT && rng.chance(0.1) {
                OPEN_HAT
            } else {
                cymbal
            };
            hit(rng, key, -10);
        }
        // The first step always has a kick, so the drums are heard from the start.
        if step == 0 || ((beat == 0 || beat == 4) && rng.chance(0.95)) || rng.chance(0.12) {
            hit(rng, KICK, 5);
        }
        if (beat == 2 || beat == 6) && rng.chance(0.95) {
            hit(rng, SNARE, 0);
        }
        if beat == 0 && rng.chance(0.25) {
            hit(rng, CRASH, 0);
        }
        if beat >= 5 && rng.chance(0.1) {
            let tom = TOMS[rng.int(0, TOMS.len() as i32 - 1) as usize];
            hit(rng, tom, 0);
        }
        t += eighth;
        step += 1;
    }
}

/// Renders one part of `plan` alone, at the synthesizer's own level: mono (mean of the two
/// output channels) at [`SAMPLE_RATE`], reverb and chorus on. `None` if `instrument` does not
/// play in the clip.
pub fn render_part(
    sound_font: &Arc<SoundFont>,
    plan: &ClipPlan,
    instrument: usize,
) -> Result<Option<Vec<f32>>, String> {
    let Some(part) = plan.parts.iter().find(|p| p.instrument == instrument) else {
        return Ok(None);
    };
    let settings = SynthesizerSettings::new(SAMPLE_RATE as i32);
    let mut synth = Synthesizer::new(sound_font, &settings).map_err(|e| e.to_string())?;
    let channel = i32::from(part.channel);
    if part.channel != DRUM_CHANNEL {
        // Program change.
        let program = i32::from(INSTRUMENTS[part.instrument].program);
        synth.process_midi_message(channel, 0xC0, program, 0);
    }
    let n = plan.n_samples;
    let (mut left, mut right) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut done = 0usize;
    for event in plan.events.iter().filter(|e| e.part == instrument) {
        let at = event.at.min(n);
        if at > done {
            synth.render(&mut left[done..at], &mut right[done..at]);
            done = at;
        }
        match event.action {
            Action::NoteOn { key, velocity } => {
                synth.note_on(channel, i32::from(key), i32::from(velocity));
            }
            Action::NoteOff { key } => synth.note_off(channel, i32::from(key)),
        }
    }
    if done < n {
        synth.render(&mut left[done..], &mut right[done..]);
    }
    Ok(Some(
        left.iter()
            .zip(&right)
            .map(|(l, r)| 0.5 * (l + r))
            .collect(),
    ))
}

/// Renders `plan`: each part alone ([`render_part`]), scaled to its [`Part::gain_db`], summed.
/// Not peak-normalised.
pub fn render_plan(sound_font: &Arc<SoundFont>, plan: &ClipPlan) -> Result<Vec<f32>, String> {
    let mut mix = vec![0.0f32; plan.n_samples];
    for part in &plan.parts {
        let samples = render_part(sound_font, plan, part.instrument)?.unwrap_or_default();
        let level = rms(&samples);
        if level > 0.0 {
            let gain = (0.1 * 10f64.powf(part.gain_db / 20.0) / level) as f32;
            for (m, s) in mix.iter_mut().zip(&samples) {
                *m += gain * s;
            }
        }
    }
    Ok(mix)
}

/// Scales `samples` so that the largest absolute value is [`PEAK`]; silence stays silence.
pub fn normalise_peak(samples: &mut [f32]) {
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak > 0.0 {
        let gain = PEAK / peak;
        samples.iter_mut().for_each(|s| *s *= gain);
    }
}

/// Renders clip `index` of the dataset with `seed`: [`plan_clip`], [`render_plan`],
/// [`normalise_peak`].
pub fn render_clip(sound_font: &Arc<SoundFont>, seed: u64, index: u64) -> Result<Clip, String> {
    let plan = plan_clip(seed, index);
    let mut samples = render_plan(sound_font, &plan)?;
    normalise_peak(&mut samples);
    Ok(Clip {
        index,
        labels: plan.labels(),
        samples,
    })
}

/// Root-mean-square level of `samples`.
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64)
        .sqrt()
}
