//! Bulk conversion of the data chunk to de-interleaved `f32`.
//!
//! The data chunk is read in large blocks and converted with tight loops the compiler
//! vectorises; going through hound's per-sample iterator is several times slower (see
//! docs/benchmarks.md).

use std::io::Read;

use super::riff::{Layout, SampleEncoding};
use crate::error::WavError;

/// Frames converted per read: large enough to amortise the read call, small enough for L2.
const FRAMES_PER_BLOCK: usize = 16 * 1024;

const SCALE_16: f32 = 1.0 / 32_768.0;
const SCALE_24: f32 = 1.0 / 8_388_608.0;
const SCALE_32: f32 = 1.0 / 2_147_483_648.0;

#[inline(always)]
fn conv_u8(b: &[u8]) -> f32 {
    (f32::from(b[0]) - 128.0) * (1.0 / 128.0)
}

#[inline(always)]
fn conv_i16(b: &[u8]) -> f32 {
    f32::from(i16::from_le_bytes([b[0], b[1]])) * SCALE_16
}

#[inline(always)]
fn conv_i24(b: &[u8]) -> f32 {
    // Place the 24 bits in the top of an i32, then shift back to sign-extend.
    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
    v as f32 * SCALE_24
}

#[inline(always)]
fn conv_i32(b: &[u8]) -> f32 {
    // Round the code to f32 first, then scale by an exact power of two (libsndfile's order).
    i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * SCALE_32
}

#[inline(always)]
fn conv_f32(b: &[u8]) -> f32 {
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads `n_frames` frames from `r` (positioned at the data) into one vector per channel.
pub(crate) fn read_deinterleaved<R: Read>(
    r: &mut R,
    layout: &Layout,
    n_frames: usize,
) -> Result<Vec<Vec<f32>>, WavError> {
    let mut out: Vec<Vec<f32>> = (0..layout.channels)
        .map(|_| crate::buffer::with_capacity(n_frames))
        .collect();
    let mut buf = vec![0u8; FRAMES_PER_BLOCK.min(n_frames.max(1)) * layout.block_align];
    let mut left = n_frames;
    while left > 0 {
        let frames = left.min(FRAMES_PER_BLOCK);
        let bytes = &mut buf[..frames * layout.block_align];
        r.read_exact(bytes)?;
        let bytes = &*bytes;
        match layout.encoding {
            SampleEncoding::PcmU8 => convert_block(bytes, layout, &mut out, conv_u8),
            SampleEncoding::PcmI16 => convert_block(bytes, layout, &mut out, conv_i16),
            SampleEncoding::PcmI24 => convert_block(bytes, layout, &mut out, conv_i24),
            SampleEncoding::PcmI32 => convert_block(bytes, layout, &mut out, conv_i32),
            SampleEncoding::Float32 => convert_block(bytes, layout, &mut out, conv_f32),
        }
        left -= frames;
    }
    if layout.encoding == SampleEncoding::Float32 {
        check_finite(&out)?;
    }
    Ok(out)
}

/// Converts one block of interleaved frames, appending to each channel.
fn convert_block<F: Fn(&[u8]) -> f32>(
    bytes: &[u8],
    layout: &Layout,
    out: &mut [Vec<f32>],
    conv: F,
) {
    let bps = layout.encoding.bytes_per_sample();
    if let [mono] = out {
        mono.extend(bytes.chunks_exact(bps).map(&conv));
        return;
    }
    for (c, ch) in out.iter_mut().enumerate() {
        let at = c * bps;
        ch.extend(
            bytes
                .chunks_exact(layout.block_align)
                .map(|frame| conv(&frame[at..at + bps])),
        );
    }
}

/// Refuses NaN and infinite float samples, naming the first one in file (interleaved) order.
fn check_finite(channels: &[Vec<f32>]) -> Result<(), WavError> {
    // The earliest frame wins. Later channels are searched only before the best frame so far,
    // so at equal frames the lowest channel is kept.
    let mut first: Option<(usize, usize)> = None;
    for (channel, ch) in channels.iter().enumerate() {
        let limit = first.map_or(ch.len(), |(frame, _)| frame);
        if let Some(frame) = ch[..limit].iter().position(|v| !v.is_finite()) {
            first = Some((frame, channel));
        }
    }
    match first {
        None => Ok(()),
        Some((frame, channel)) => Err(WavError::NonFinite {
            index: frame as u64 * channels.len() as u64 + channel as u64,
            frame,
            channel,
            value: channels[channel][frame],
        }),
    }
}

/// Converts the whole frames of `bytes` into `out` (one vector per channel, cleared first),
/// exactly as [`read_deinterleaved`] does: the streaming reader's block step.
/// `first_frame` is the stream index of the block's first frame (for
/// [`WavError::NonFinite`], which then names the same sample as a whole-file decode).
pub(crate) fn convert_frames(
    bytes: &[u8],
    layout: &Layout,
    out: &mut [Vec<f32>],
    first_frame: u64,
) -> Result<(), WavError> {
    for ch in out.iter_mut() {
        ch.clear();
    }
    match layout.encoding {
        SampleEncoding::PcmU8 => convert_block(bytes, layout, out, conv_u8),
        SampleEncoding::PcmI16 => convert_block(bytes, layout, out, conv_i16),
        SampleEncoding::PcmI24 => convert_block(bytes, layout, out, conv_i24),
        SampleEncoding::PcmI32 => convert_block(bytes, layout, out, conv_i32),
        SampleEncoding::Float32 => convert_block(bytes, layout, out, conv_f32),
    }
    if layout.encoding == SampleEncoding::Float32 {
        check_finite(out).map_err(|e| match e {
            WavError::NonFinite {
                frame,
                channel,
                value,
                ..
            } => {
                let frame = first_frame.saturating_add(frame as u64);
                WavError::NonFinite {
                    index: frame
                        .saturating_mul(out.len() as u64)
                        .saturating_add(channel as u64),
                    frame: usize::try_from(frame).unwrap_or(usize::MAX),
                    channel,
                    value,
                }
            }
            other => other,
        })?;
    }
    Ok(())
}
