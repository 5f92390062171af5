//! An on-disk cache of clip features, keyed by the clip's audio and the feature settings, so
//! that a second training run on the same files skips decoding, resampling and the log-mel.
//!
//! One file per clip, named by a SHA-256 of the feature settings, the sample rate and the
//! samples. Files are written atomically; a file that cannot be read back exactly (another
//! version, truncated, altered) is treated as a miss and recomputed, never trusted.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::bounded::{self, SizeBound};
use crate::error::{Error, Result};
use crate::prep::{ClipFeatures, FeatureConfig, SegmentFeatures};

const MAGIC: &[u8; 8] = b"STFEAT01";

/// A folder of cached clip features for one [`FeatureConfig`].
#[derive(Debug, Clone)]
pub(crate) struct FeatureCache {
    dir: PathBuf,
    config_hash: [u8; 32],
}

impl FeatureCache {
    /// Opens (creating it if needed) the cache folder `dir` for features made with `config`.
    pub fn new(dir: &Path, config: &FeatureConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let json = serde_json::to_vec(config).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config_hash: Sha256::digest(&json).into(),
        })
    }

    /// The cache file of a clip.
    pub fn path_for(&self, samples: &[f32], sample_rate: u32) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(self.config_hash);
        hasher.update(sample_rate.to_le_bytes());
        hasher.update((samples.len() as u64).to_le_bytes());
        for s in samples {
            hasher.update(s.to_le_bytes());
        }
        let digest = hasher.finalize();
        let name = crate::digest::hex(&digest[..16]);
        self.dir.join(format!("{name}.feat"))
    }

    /// The cached features at `path`, or `None` when absent or unreadable. The file is read
    /// only if it is a regular file no larger than `max_segments` segments of `segment_len`
    /// values take (what the clip can give), so a planted file cannot make the read unbounded.
    pub fn get(
        &self,
        path: &Path,
        segment_len: usize,
        max_segments: usize,
    ) -> Option<ClipFeatures> {
        let per_segment = 16u64.checked_add(4u64.checked_mul(segment_len as u64)?)?;
        let max_bytes = per_segment
            .checked_mul(max_segments as u64)?
            .checked_add(24)?;
        let bytes = bounded::read(path, SizeBound::AtMost(max_bytes)).ok()?;
        decode(&bytes, segment_len)
    }

    /// Stores `features` at `path` atomically.
    pub fn put(&self, path: &Path, features: &ClipFeatures) -> Result<()> {
        crate::atomic::write_file(path, &encode(features))
    }
}

fn encode(features: &ClipFeatures) -> Vec<u8> {
    let segment_len = features.segments.first().map_or(0, |s| s.mel.len());
    let mut out = Vec::with_capacity(24 + features.segments.len() * (16 + 4 * segment_len));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(features.segments.len() as u64).to_le_bytes());
    out.extend_from_slice(&(segment_len as u64).to_le_bytes());
    for s in &features.segments {
        out.extend_from_slice(&s.start_s.to_le_bytes());
        out.extend_from_slice(&s.end_s.to_le_bytes());
        for v in &s.mel {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn decode(bytes: &[u8], segment_len: usize) -> Option<ClipFeatures> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (n, rest) = read_u64(rest)?;
    let (len, mut rest) = read_u64(rest)?;
    let n = usize::try_from(n).ok()?;
    if usize::try_from(len).ok()? != segment_len || n == 0 {
        return None;
    }
    // Refuse before allocating: the length must match the header exactly.
    let per_segment = 16usize.checked_add(4usize.checked_mul(segment_len)?)?;
    if rest.len() != n.checked_mul(per_segment)? {
        return None;
    }
    let mut segments = Vec::with_capacity(n);
    for _ in 0..n {
        let (start, r) = read_f64(rest)?;
        let (end, r) = read_f64(r)?;
        let (mel_bytes, r) = r.split_at(4 * segment_len);
        let mel: Vec<f32> = mel_bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if mel.iter().any(|v| !v.is_finite()) {
            return None;
        }
        segments.push(SegmentFeatures {
            start_s: start,
            end_s: end,
            mel,
        });
        rest = r;
    }
    Some(ClipFeatures { segments })
}

fn read_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*head), rest))
}

fn read_f64(bytes: &[u8]) -> Option<(f64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((f64::from_le_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> ClipFeatures {
        ClipFeatures {
            segments: vec![
                SegmentFeatures {
                    start_s: 0.0,
                    end_s: 1.0,
                    mel: vec![1.0, -2.5, 3.25],
                },
                SegmentFeatures {
                    start_s: 0.5,
                    end_s: 1.5,
                    mel: vec![0.0, 7.0, -1e-3],
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let bytes = encode(&features());
        assert_eq!(decode(&bytes, 3), Some(features()));
        // Another segment length, a truncated file, a flipped magic: all misses.
        assert_eq!(decode(&bytes, 4), None);
        assert_eq!(decode(&bytes[..bytes.len() - 1], 3), None);
        let mut altered = bytes.clone();
        altered[0] ^= 1;
        assert_eq!(decode(&altered, 3), None);
        // A header claiming a huge count is refused without allocating it.
        let mut huge = bytes;
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode(&huge, 3), None);
    }

    #[test]
    fn keys_depend_on_audio_rate_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let config = FeatureConfig::default();
        let cache = FeatureCache::new(dir.path(), &config).unwrap();
        let a = cache.path_for(&[0.0, 0.5], 16_000);
        assert_eq!(a, cache.path_for(&[0.0, 0.5], 16_000));
        assert_ne!(a, cache.path_for(&[0.0, 0.25], 16_000));
        assert_ne!(a, cache.path_for(&[0.0, 0.5], 22_050));
        let mut other = config;
        other.mel.n_mels += 1;
        let other = FeatureCache::new(dir.path(), &other).unwrap();
        assert_ne!(a, other.path_for(&[0.0, 0.5], 16_000));
        cache.put(&a, &features()).unwrap();
        assert_eq!(cache.get(&a, 3, 2), Some(features()));
        assert_eq!(cache.get(&dir.path().join("missing.feat"), 3, 2), None);
        // A file larger than the clip can give is not read (a miss, recomputed).
        assert_eq!(cache.get(&a, 3, 1), None);
        #[cfg(unix)]
        {
            let endless = dir.path().join("endless.feat");
            std::os::unix::fs::symlink("/dev/zero", &endless).unwrap();
            assert_eq!(cache.get(&endless, 3, 2), None);
        }
    }
}
