//! Harnesses shared with the fuzz targets in `fuzz/` (which include these files with
//! `#[path]`), so that CI runs the fuzz targets' exact checks as property tests.

pub mod audio_decode;
pub mod mel_config;
pub mod wav_features;
