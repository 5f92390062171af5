//! Audio front end of sonotag: decoding (WAV, and with the default `symphonia` feature FLAC,
//! MP3, Ogg Vorbis, MP4/M4A AAC and ALAC, ADTS AAC, AIFF and CAF, chosen by content; see
//! [`decode`]), resampling, segmentation, STFT, mel filterbanks, log-mel features and the
//! z-score normaliser. This crate knows nothing of burn.
//!
//! From a file to normalised features:
//!
//! ```no_run
//! use sonotag_audio::{MelConfig, MelExtractor, Normalizer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MelConfig::default(); // 16 kHz, 64 Slaney mels, 25 ms window, 10 ms hop
//! let audio = sonotag_audio::decode_file("clip.flac")?; // any supported format
//! let mono = sonotag_audio::resample(&audio.to_mono(), audio.sample_rate(), config.sample_rate)?;
//! let mut extractor = MelExtractor::new(&config)?; // plan once, run many
//! let mut mel = extractor.extract(&mono)?; // [n_mels][n_frames], dB
//! let norm = Normalizer::fit([&mel], config.n_mels, 1e-3)?; // on training features only
//! norm.apply(&mut mel)?;
//! # Ok(()) }
//! ```
//!
//! Every number from outside (file headers, configs, arguments) is checked against
//! [`AudioLimits`] before it sizes an allocation; see [`limits`].
//!
//! Semantics follow librosa 0.11 / soundfile 0.14 and are checked against their outputs (the
//! golden fixtures); see the module docs for each step.
#![warn(missing_docs)]
// `unsafe` is used in three places (huge-page advice in `buffer.rs`, the AVX2 frame loop in
// `mel/mod.rs`, a complex-to-f32 view in `mel/spectrum.rs`); each block states why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod buffer;
pub mod decode;
pub mod error;
pub mod features;
pub mod limits;
pub mod mel;
pub mod normalize;
pub mod resample;
pub mod segment;
pub mod synth;
pub mod wav;

pub use decode::{
    AUDIO_EXTENSIONS, AudioFormat, AudioInfo, AudioReader, DecodeWarning, DecodedAudio,
    decode_bytes, decode_bytes_within, decode_file, decode_file_within, has_audio_extension, sniff,
};
pub use error::{
    AudioError, ConfigError, DecodeError, MelError, NormalizerError, ResampleError, WavError,
};
pub use limits::{AudioLimits, Bound, LimitError, LimitValue};
pub use mel::{LogMel, MelConfig, MelExtractor, MelFilterbank, MelNorm, MelScale, PadMode};
pub use normalize::{Normalizer, NormalizerFit};
pub use resample::{ResampleStream, Resampler, resample, resample_within};
pub use segment::{PadFill, Segment, SegmentConfig, SegmentStream, segment, segment_within};
pub use wav::DecodedWav;
