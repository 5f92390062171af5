//! Training segments kept in memory up to a limit, then in an anonymous temporary file, so
//! that a dataset larger than memory can still be trained on. Segments are stored as computed
//! (log-mel dB) and normalised when a batch is read.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use sonotag_audio::Normalizer;

use crate::error::{Error, Result};

/// Writes an append-only table of fixed-length `f32` segments; [`Self::seal`] turns it into
/// the [`SegmentStore`] that reads them back.
pub(crate) struct SegmentWriter {
    segment_len: usize,
    len: usize,
    limit_bytes: usize,
    memory: Vec<f32>,
    /// Once the limit is reached, every segment lives here (the memory part is moved too).
    spill: Option<BufWriter<File>>,
    /// SHA-256 of every value pushed, in order (a checkpoint's fingerprint of the data).
    hasher: Sha256,
}

impl SegmentWriter {
    /// A table for segments of `segment_len` values holding at most about `limit_bytes` in
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
            Some(writer) => write_floats(writer, segment)?,
        }
        self.len += 1;
        Ok(())
    }

    /// Ends writing (flushing the file part, if any) and returns the readable store.
    pub fn seal(self) -> Result<SegmentStore> {
        let data = match self.spill {
            None => Stored::Memory(self.memory),
            Some(writer) => {
                let file = writer
                    .into_inner()
                    .map_err(|e| spill_error(e.into_error()))?;
                Stored::File(Mutex::new(file))
            }
        };
        Ok(SegmentStore {
            segment_len: self.segment_len,
            len: self.len,
            data,
            digest: self.hasher.finalize().into(),
        })
    }

    fn start_spill(&mut self) -> Result<()> {
        let file = tempfile::tempfile().map_err(spill_error)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        write_floats(&mut writer, &self.memory)?;
        self.memory = Vec::new();
        self.spill = Some(writer);
        Ok(())
    }
}

/// Segments written by a [`SegmentWriter`], read back by index.
pub(crate) struct SegmentStore {
    segment_len: usize,
    len: usize,
    data: Stored,
    digest: [u8; 32],
}

enum Stored {
    Memory(Vec<f32>),
    /// The anonymous temporary file, read under a lock (reads seek).
    File(Mutex<File>),
}

impl SegmentStore {
    /// Number of segments.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segments live on disk.
    #[cfg(test)]
    pub fn spilled(&self) -> bool {
        matches!(self.data, Stored::File(_))
    }

    /// Bytes of segments held in memory (0 once they spilled to disk).
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            Stored::Memory(memory) => memory.len() * 4,
            Stored::File(_) => 0,
        }
    }

    /// SHA-256 of all values, in the order they were pushed.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Appends segment `i` to `out`.
    pub fn read(&self, i: usize, out: &mut Vec<f32>) -> Result<()> {
        let n = self.segment_len;
        match &self.data {
            Stored::Memory(memory) => out.extend_from_slice(&memory[i * n..(i + 1) * n]),
            Stored::File(file) => {
                let mut bytes = vec![0u8; n * 4];
                let mut file = file
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_reads_back_exactly() {
        // Limit of 3 segments of 4 values: the 4th push moves everything to the file.
        let mut writer = SegmentWriter::new(4, 3 * 4 * 4);
        let segments: Vec<Vec<f32>> = (0..10)
            .map(|i| (0..4).map(|j| (i * 4 + j) as f32 * 0.5 - 3.0).collect())
            .collect();
        for (i, s) in segments.iter().enumerate() {
            writer.push(s).unwrap();
            assert_eq!(writer.spilled(), i >= 3, "after segment {i}");
        }
        let store = writer.seal().unwrap();
        assert!(store.spilled());
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
        let mut writer = SegmentWriter::new(2, 1 << 20);
        writer.push(&[1.0, 2.0]).unwrap();
        let store = writer.seal().unwrap();
        assert!(!store.spilled());
        let mut out = Vec::new();
        store.read(0, &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0]);
    }
}
