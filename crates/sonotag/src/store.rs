//! Training segments kept in memory up to a limit, then in an anonymous temporary file, so
//! that a dataset larger than memory can still be trained on. Segments are stored as computed
//! (log-mel dB) and normalised when a batch is read.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use sonotag_audio::Normalizer;

use crate::error::{Error, Result};

/// An append-only table of fixed-length `f32` segments.
pub(crate) struct SegmentStore {
    segment_len: usize,
    len: usize,
    limit_bytes: usize,
    memory: Vec<f32>,
    /// Once the limit is reached, every segment lives here (the memory part is moved too).
    spill: Option<Spill>,
    /// SHA-256 of every value pushed, in order (a checkpoint's fingerprint of the data).
    hasher: Sha256,
}

struct Spill {
    writer: Option<BufWriter<File>>,
    reader: Mutex<File>,
}

impl SegmentStore {
    /// A store for segments of `segment_len` values holding at most about `limit_bytes` in
    /// memory.
    pub fn new(segment_len: usize, limit_bytes: usize) -> Self {
        Self {
            segment_len,
            len: 0,
            limit_bytes,
            memory: Vec::new(),
            spill: None,
            hasher: Sha256::new(),
        }
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segments spilled to disk.
    #[cfg(test)]
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Appends one segment.
    pub fn push(&mut self, segment: &[f32]) -> Result<()> {
        debug_assert_eq!(segment.len(), self.segment_len);
        for v in segment {
            self.hasher.update(v.to_le_bytes());
        }
        let next_bytes = (self.memory.len() + segment.len()) * 4;
        if self.spill.is_none() && next_bytes > self.limit_bytes {
            self.start_spill()?;
        }
        match &mut self.spill {
            None => self.memory.extend_from_slice(segment),
            Some(spill) => {
                let writer = spill.writer.as_mut().ok_or_else(sealed)?;
                write_floats(writer, segment)?;
            }
        }
        self.len += 1;
        Ok(())
    }

    /// SHA-256 of all values pushed so far.
    pub fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Ends writing: flushes the file part so it can be read.
    pub fn seal(&mut self) -> Result<()> {
        if let Some(spill) = &mut self.spill
            && let Some(writer) = spill.writer.take()
        {
            writer
                .into_inner()
                .map_err(|e| spill_error(e.into_error()))?;
        }
        Ok(())
    }

    /// Appends segment `i` to `out`.
    pub fn read(&self, i: usize, out: &mut Vec<f32>) -> Result<()> {
        let n = self.segment_len;
        match &self.spill {
            None => out.extend_from_slice(&self.memory[i * n..(i + 1) * n]),
            Some(spill) => {
                if spill.writer.is_some() {
                    return Err(sealed());
                }
                let mut bytes = vec![0u8; n * 4];
                let mut file = spill
                    .reader
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                file.seek(SeekFrom::Start((i * n * 4) as u64))
                    .map_err(spill_error)?;
                file.read_exact(&mut bytes).map_err(spill_error)?;
                out.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
        }
        Ok(())
    }

    /// Appends segment `i`, normalised by `normalizer`, to `out`.
    pub fn read_normalized(
        &self,
        i: usize,
        normalizer: &Normalizer,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let start = out.len();
        self.read(i, out)?;
        Ok(normalizer.apply_slice(&mut out[start..])?)
    }

    fn start_spill(&mut self) -> Result<()> {
        let file = tempfile::tempfile().map_err(spill_error)?;
        let reader = file.try_clone().map_err(spill_error)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        write_floats(&mut writer, &self.memory)?;
        self.memory = Vec::new();
        self.spill = Some(Spill {
            writer: Some(writer),
            reader: Mutex::new(reader),
        });
        Ok(())
    }
}

fn write_floats(writer: &mut impl Write, values: &[f32]) -> Result<()> {
    for chunk in values.chunks(16 * 1024) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_all(&bytes).map_err(spill_error)?;
    }
    Ok(())
}

fn spill_error(source: std::io::Error) -> Error {
    Error::Io {
        path: std::env::temp_dir().join("(sonotag feature spill file)"),
        source,
    }
}

fn sealed() -> Error {
    Error::Backend {
        reason: "internal: the segment store was read before being sealed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_reads_back_exactly() {
        // Limit of 3 segments of 4 values: the 4th push moves everything to the file.
        let mut store = SegmentStore::new(4, 3 * 4 * 4);
        let segments: Vec<Vec<f32>> = (0..10)
            .map(|i| (0..4).map(|j| (i * 4 + j) as f32 * 0.5 - 3.0).collect())
            .collect();
        for (i, s) in segments.iter().enumerate() {
            store.push(s).unwrap();
            assert_eq!(store.spilled(), i >= 3, "after segment {i}");
        }
        store.seal().unwrap();
        assert_eq!(store.len(), 10);
        for i in [9, 0, 4, 3, 7] {
            let mut out = vec![42.0];
            store.read(i, &mut out).unwrap();
            assert_eq!(out[0], 42.0);
            assert_eq!(&out[1..], &segments[i][..]);
        }
    }

    #[test]
    fn below_the_limit_stays_in_memory() {
        let mut store = SegmentStore::new(2, 1 << 20);
        store.push(&[1.0, 2.0]).unwrap();
        store.seal().unwrap();
        assert!(!store.spilled());
        let mut out = Vec::new();
        store.read(0, &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0]);
    }
}
