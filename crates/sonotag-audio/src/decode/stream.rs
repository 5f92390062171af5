//! The decoders behind [`super::AudioReader`] and the whole-file decodes: one stream type
//! yielding planar `f32` blocks, WAV or (with the `symphonia` feature) compressed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::{AudioFormat, AudioInfo, DecodeError, DecodeWarning};
use crate::limits::AudioLimits;
use crate::wav::{Layout, SampleEncoding};

/// Bytes of WAV data read per block at most (1 MiB), whatever the frame size.
const WAV_BLOCK_BYTES: usize = 1 << 20;
/// Frames per WAV block at most (as the whole-file converter's block).
const WAV_BLOCK_FRAMES: usize = 16 * 1024;

/// The [`AudioInfo`] of a scanned WAV stream.
pub(crate) fn wav_info(layout: &Layout) -> AudioInfo {
    let codec = match layout.encoding {
        SampleEncoding::PcmU8 => "pcm_u8",
        SampleEncoding::PcmI16 => "pcm_s16le",
        SampleEncoding::PcmI24 => "pcm_s24le",
        SampleEncoding::PcmI32 => "pcm_s32le",
        SampleEncoding::Float32 => "pcm_f32le",
    };
    AudioInfo {
        format: AudioFormat::Wav,
        codec: codec.into(),
        sample_rate: layout.sample_rate,
        n_channels: layout.channels,
        n_frames: Some(layout.data_len / layout.block_align as u64),
    }
}

/// A WAV file read block by block with the riff layout (never the whole file).
pub(crate) struct WavStream {
    file: File,
    layout: Layout,
    info: AudioInfo,
    frames_left: u64,
    next_frame: u64,
    bytes: Vec<u8>,
    planar: Vec<Vec<f32>>,
}

impl WavStream {
    fn open(mut file: File, limits: &AudioLimits) -> Result<Self, DecodeError> {
        let layout = crate::wav::scan(&mut file)?;
        super::check_rate(limits, layout.sample_rate)?;
        file.seek(SeekFrom::Start(layout.data_offset))?;
        let info = wav_info(&layout);
        Ok(Self {
            file,
            frames_left: info.n_frames.unwrap_or(0),
            next_frame: 0,
            bytes: Vec::new(),
            planar: vec![Vec::new(); layout.channels],
            layout,
            info,
        })
    }

    fn next_block(&mut self, max_frames: usize) -> Result<usize, DecodeError> {
        let per_block = (WAV_BLOCK_BYTES / self.layout.block_align).clamp(1, WAV_BLOCK_FRAMES);
        let frames = max_frames
            .min(per_block)
            .min(usize::try_from(self.frames_left).unwrap_or(usize::MAX));
        if frames == 0 {
            return Ok(0);
        }
        let len = frames * self.layout.block_align;
        self.bytes.resize(len, 0);
        self.file
            .read_exact(&mut self.bytes[..len])
            .map_err(crate::error::WavError::from)?;
        crate::wav::convert_frames(
            &self.bytes[..len],
            &self.layout,
            &mut self.planar,
            self.next_frame,
        )?;
        self.frames_left -= frames as u64;
        self.next_frame += frames as u64;
        Ok(frames)
    }
}

/// A decoder: WAV or compressed.
pub(crate) enum Stream {
    Wav(Box<WavStream>),
    #[cfg(feature = "symphonia")]
    Sym(Box<super::sym::SymStream>),
}

impl Stream {
    /// Opens a file of any format (the content decides).
    pub(crate) fn open_file(mut file: File, limits: &AudioLimits) -> Result<Self, DecodeError> {
        let head = super::read_head(&mut file)?;
        match super::detect(&head)? {
            AudioFormat::Wav => Ok(Stream::Wav(Box::new(WavStream::open(file, limits)?))),
            format => Self::open_compressed(file, format, limits),
        }
    }

    /// Opens a compressed stream of a format [`super::sniff`] recognised.
    #[cfg(feature = "symphonia")]
    pub(crate) fn open_compressed<R: Read + Seek + Send + Sync + 'static>(
        r: R,
        format: AudioFormat,
        limits: &AudioLimits,
    ) -> Result<Self, DecodeError> {
        Ok(Stream::Sym(Box::new(super::sym::SymStream::open(
            r, format, limits,
        )?)))
    }

    /// Without the `symphonia` feature, compressed formats are recognised and refused.
    #[cfg(not(feature = "symphonia"))]
    pub(crate) fn open_compressed<R: Read + Seek + Send + Sync + 'static>(
        _r: R,
        format: AudioFormat,
        _limits: &AudioLimits,
    ) -> Result<Self, DecodeError> {
        Err(DecodeError::FeatureDisabled { format })
    }

    pub(crate) fn info(&self) -> &AudioInfo {
        match self {
            Stream::Wav(w) => &w.info,
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.info(),
        }
    }

    /// Decodes the next block into [`Self::planar`] (at most `max_frames` frames for WAV, one
    /// packet for compressed streams); returns its frames, 0 at the end.
    pub(crate) fn next_block(&mut self, max_frames: usize) -> Result<usize, DecodeError> {
        match self {
            Stream::Wav(w) => w.next_block(max_frames),
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.next_block(),
        }
    }

    /// The last block, one vector per channel (only the first `n` values of each belong to
    /// it, `n` being what [`Self::next_block`] returned).
    pub(crate) fn planar(&self) -> &[Vec<f32>] {
        match self {
            Stream::Wav(w) => &w.planar,
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.planar(),
        }
    }

    pub(crate) fn warnings(&self) -> &[DecodeWarning] {
        match self {
            Stream::Wav(_) => &[],
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.warnings(),
        }
    }

    pub(crate) fn take_warnings(&mut self) -> Vec<DecodeWarning> {
        match self {
            Stream::Wav(_) => Vec::new(),
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.take_warnings(),
        }
    }

    pub(crate) fn skipped_packets(&self) -> u64 {
        match self {
            Stream::Wav(_) => 0,
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.skipped_packets(),
        }
    }

    /// Bytes in the underlying file (0 when unknown).
    pub(crate) fn byte_len(&self) -> u64 {
        match self {
            Stream::Wav(w) => w.layout.data_len,
            #[cfg(feature = "symphonia")]
            Stream::Sym(s) => s.byte_len(),
        }
    }
}
