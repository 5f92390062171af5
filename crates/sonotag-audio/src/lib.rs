//! Audio front end of sonotag: WAV decoding, resampling, segmentation, STFT, mel filterbanks,
//! log-mel features and the z-score normaliser. This crate knows nothing of burn.
#![warn(missing_docs)]
