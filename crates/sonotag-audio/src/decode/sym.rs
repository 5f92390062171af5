//! Compressed formats through Symphonia: probing, the track and codec checks, and the packet
//! loop with the corrupt-packet policy of the module docs.

use std::io::{ErrorKind, Read, Seek};

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{self, CODEC_TYPE_NULL, CodecType, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::sample::Sample;

use super::{
    AudioFormat, AudioInfo, DecodeError, DecodeWarning, MAX_BAD_PACKETS_IN_A_ROW,
    MAX_SKIPPED_PACKETS, MAX_WARNINGS,
};
use crate::limits::AudioLimits;

/// Any seekable reader as a Symphonia media source.
struct Source<R> {
    r: R,
    len: u64,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.r.read(buf)
    }
}

impl<R: Seek> Seek for Source<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.r.seek(pos)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for Source<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// A compressed stream being decoded.
pub(crate) struct SymStream {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    info: AudioInfo,
    byte_len: u64,
    /// The header's length claim when it is one a complete file meets.
    truncation_claim: Option<u64>,
    /// Priming frames still to drop from the start of the output.
    to_trim: u64,
    /// Priming frames dropped.
    trimmed: u64,
    planar: Vec<Vec<f32>>,
    /// Frames emitted so far.
    frames: u64,
    /// Frames of skipped packets (their durations), for the truncation check.
    skipped_frames: u64,
    packets: u64,
    skipped: u64,
    bad_in_a_row: u32,
    warnings: Vec<DecodeWarning>,
    ended: bool,
    /// A block decoded at open (to learn the channel count), not yet returned.
    pending: Option<usize>,
}

/// Refuses channel counts above [`crate::wav::MAX_CHANNELS`].
fn check_channels(n: usize) -> Result<(), DecodeError> {
    let max = usize::from(crate::wav::MAX_CHANNELS);
    if n > max {
        return Err(DecodeError::TooManyChannels {
            channels: n as u64,
            max: max as u64,
        });
    }
    Ok(())
}

/// Name of a codec, as ffmpeg spells it where Symphonia knows it.
fn codec_name(codec: CodecType) -> String {
    if let Some(d) = symphonia::default::get_codecs().get_codec(codec) {
        return d.short_name.to_string();
    }
    let known = [
        (codecs::CODEC_TYPE_OPUS, "opus"),
        (codecs::CODEC_TYPE_SPEEX, "speex"),
        (codecs::CODEC_TYPE_MP1, "mp1"),
        (codecs::CODEC_TYPE_MP2, "mp2"),
        (codecs::CODEC_TYPE_MUSEPACK, "musepack"),
        (codecs::CODEC_TYPE_EAC3, "eac3"),
        (codecs::CODEC_TYPE_AC4, "ac4"),
        (codecs::CODEC_TYPE_DCA, "dts"),
        (codecs::CODEC_TYPE_WMA, "wma"),
        (codecs::CODEC_TYPE_WAVPACK, "wavpack"),
        (codecs::CODEC_TYPE_MONKEYS_AUDIO, "ape"),
        (codecs::CODEC_TYPE_TTA, "tta"),
        (codecs::CODEC_TYPE_ATRAC1, "atrac1"),
        (codecs::CODEC_TYPE_ATRAC3, "atrac3"),
        (codecs::CODEC_TYPE_ATRAC3PLUS, "atrac3plus"),
        (codecs::CODEC_TYPE_ATRAC9, "atrac9"),
        (codecs::CODEC_TYPE_ADPCM_MS, "adpcm_ms"),
        (codecs::CODEC_TYPE_ADPCM_IMA_WAV, "adpcm_ima_wav"),
        (codecs::CODEC_TYPE_ADPCM_IMA_QT, "adpcm_ima_qt"),
        (codecs::CODEC_TYPE_ADPCM_G722, "adpcm_g722"),
        (codecs::CODEC_TYPE_ADPCM_G726, "adpcm_g726"),
    ];
    known.iter().find(|(c, _)| *c == codec).map_or_else(
        || format!("unknown codec (id {codec})"),
        |(_, n)| n.to_string(),
    )
}

/// A container-level error at open.
fn open_error(format: AudioFormat, e: SymError) -> DecodeError {
    match e {
        SymError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => DecodeError::Malformed {
            format,
            reason: "the file ends while its headers are read (truncated file?)".into(),
        },
        SymError::IoError(e) => DecodeError::Io(e),
        other => DecodeError::Malformed {
            format,
            reason: other.to_string(),
        },
    }
}

/// Most channels a Symphonia stream can carry (its `Channels` mask is 32 bits wide).
const SYMPHONIA_MAX_CHANNELS: u64 = 32;

/// Runs a call into Symphonia, turning a panic into an error: a third-party decoder fed
/// hostile bytes is the one place a panic could come from (Symphonia 0.5.5 overflowed a shift
/// on a CAF header declaring 64 channels; that header is now refused before it is parsed).
fn guard<T>(
    what: &str,
    time_s: f64,
    f: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(DecodeError::CorruptStream {
            time_s,
            reason: format!("the {what} failed on this input (internal panic caught)"),
        }),
    }
}

/// Header checks Symphonia does not make before it uses a number: a CAF `desc` chunk's
/// channel count (Symphonia shifts `1 << channels`), and the lengths inside Vorbis comments
/// (FLAC `VORBIS_COMMENT` blocks, Ogg Vorbis/Opus comment packets) and FLAC `PICTURE`
/// blocks, which Symphonia 0.5.5 allocates (`vec![0; u32]`) before reading: a 2 KB FLAC asked for 1.27 GB (found by
/// fuzzing audio_decode); for MP4, the box tree's tables and sizes ([`super::mp4_check`]);
/// for CAF, the chunks ([`super::caf_check`]); for every format, the frame sizes of ID3v2
/// tags ([`super::id3_check`]).
fn precheck<R: Read + Seek>(
    r: &mut R,
    format: AudioFormat,
    byte_len: u64,
) -> Result<(), DecodeError> {
    let audio_start = super::id3_check::check(r, format, byte_len)?;
    if audio_start == 0 {
        return precheck_format(r, format, byte_len);
    }
    // Symphonia's probe reads past the ID3v2 tags to whatever follows (a FLAC, Ogg, MP4 or
    // CAF stream as well as MPEG audio; found by fuzzing: an ID3 tag before a FLAC stream
    // skipped the Vorbis comment check): check that format, positions relative to its start.
    // The probe skips bytes it does not recognise: the first signature in the next 64 KiB.
    let mut head = Vec::new();
    r.seek(std::io::SeekFrom::Start(audio_start))?;
    r.by_ref().take(1 << 16).read_to_end(&mut head)?;
    let found = (0..head.len()).find_map(|p| super::sniff(&head[p..]).map(|f| (p, f)));
    let result = match found {
        Some((p, inner)) if !matches!(inner, AudioFormat::Mp3 | AudioFormat::Aac) => {
            let off = audio_start + p as u64;
            let mut inner_r = Offset { r: &mut *r, off };
            precheck_format(&mut inner_r, inner, byte_len - off)
        }
        _ => Ok(()),
    };
    r.seek(std::io::SeekFrom::Start(0))?;
    result
}

/// A stream seen from byte `off` on (positions relative to it).
struct Offset<'a, R> {
    r: &'a mut R,
    off: u64,
}

impl<R: Read> Read for Offset<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.r.read(buf)
    }
}

impl<R: Seek> Seek for Offset<'_, R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let p = match pos {
            std::io::SeekFrom::Start(p) => self
                .r
                .seek(std::io::SeekFrom::Start(p.saturating_add(self.off)))?,
            other => self.r.seek(other)?,
        };
        Ok(p.saturating_sub(self.off))
    }
}

/// [`precheck`] of one format, from the start of its stream.
fn precheck_format<R: Read + Seek>(
    r: &mut R,
    format: AudioFormat,
    byte_len: u64,
) -> Result<(), DecodeError> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let scan = match format {
        AudioFormat::Mp4 => return super::mp4_check::check(r, byte_len),
        AudioFormat::Caf => 48,
        AudioFormat::Flac | AudioFormat::Ogg => 1 << 16,
        _ => return Ok(()),
    };
    let mut head = Vec::with_capacity(scan);
    r.by_ref().take(scan as u64).read_to_end(&mut head)?;
    r.seek(std::io::SeekFrom::Start(0))?;
    match format {
        AudioFormat::Caf => {
            // "caff", version, flags, then the desc chunk first (the CAF spec requires it):
            // id, 8-byte size, rate (f64), format id, flags, bytes/packet, frames/packet,
            // channels.
            if head.len() == 48 && &head[8..12] == b"desc" {
                let channels = u32::from_be_bytes([head[44], head[45], head[46], head[47]]);
                if u64::from(channels) > SYMPHONIA_MAX_CHANNELS {
                    return Err(DecodeError::TooManyChannels {
                        channels: u64::from(channels),
                        max: SYMPHONIA_MAX_CHANNELS,
                    });
                }
            }
            super::caf_check::check(r, byte_len)?;
        }
        AudioFormat::Flac => {
            // Metadata blocks from byte 4: 1 byte (last flag, type), 24-bit length, body.
            let mut at = 4usize;
            while let Some(h) = head.get(at..at + 4) {
                let (last, kind) = (h[0] & 0x80 != 0, h[0] & 0x7F);
                let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
                let body = at + 4;
                if kind == 4 {
                    // Within the bytes scanned; a longer block is bounded by the file instead.
                    let end = body.saturating_add(len).min(head.len());
                    check_comment(&head[body..end], (len as u64).min(byte_len), format)?;
                }
                if kind == 6 {
                    let end = body.saturating_add(len).min(head.len());
                    check_picture(
                        head.get(body..end).unwrap_or(&[]),
                        (len as u64).min(byte_len),
                    )?;
                }
                if last {
                    break;
                }
                at = body.saturating_add(len);
            }
        }
        _ => {
            // Ogg: the Vorbis ("\x03vorbis") and Opus ("OpusTags") comment packets, read as
            // raw bytes from their start (a length field split by a page boundary would be
            // misread; comment headers of real files sit on their first page).
            for marker in [&b"\x03vorbis"[..], &b"OpusTags"[..]] {
                if let Some(i) = head.windows(marker.len()).position(|w| w == marker) {
                    let body = i + marker.len();
                    let remaining = byte_len.saturating_sub(body as u64);
                    check_comment(&head[body..], remaining, format)?;
                }
            }
        }
    }
    Ok(())
}

/// Checks the lengths inside a FLAC PICTURE block (MIME type, description, picture data, all
/// u32 BE, which Symphonia 0.5.5 allocates before reading) against the block's `len` bytes.
/// Stops quietly where `bytes` ends.
fn check_picture(bytes: &[u8], len: u64) -> Result<(), DecodeError> {
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    };
    let refuse = |what: &str, n: u64| DecodeError::Malformed {
        format: AudioFormat::Flac,
        reason: format!(
            "a PICTURE block's {what} of {n} bytes is longer than its {len}-byte block"
        ),
    };
    // Picture type, then the MIME type's length.
    let Some(mime) = u32_at(4) else { return Ok(()) };
    if mime > len {
        return Err(refuse("MIME type", mime));
    }
    let at = 8 + mime as usize;
    let Some(desc) = u32_at(at) else {
        return Ok(());
    };
    if desc > len {
        return Err(refuse("description", desc));
    }
    // Width, height, depth, colours, then the data's length.
    let at = at + 4 + desc as usize + 16;
    let Some(data) = u32_at(at) else {
        return Ok(());
    };
    if data > len {
        return Err(refuse("data", data));
    }
    Ok(())
}

/// Checks the lengths of a Vorbis comment structure (vendor length, count, then each
/// comment's length, all u32 LE) against `bound`, the bytes that can follow: lengths beyond
/// the bytes present are refused before Symphonia allocates them. Stops quietly where `bytes`
/// ends (the rest is bounded by the file).
fn check_comment(bytes: &[u8], bound: u64, format: AudioFormat) -> Result<(), DecodeError> {
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    };
    let refuse = |what: &str, n: u64| DecodeError::Malformed {
        format,
        reason: format!(
            "a Vorbis comment {what} of {n} bytes is longer than the {bound} bytes that follow"
        ),
    };
    let Some(vendor) = u32_at(0) else {
        return Ok(());
    };
    if vendor > bound {
        return Err(refuse("vendor string", vendor));
    }
    let mut at = 4 + vendor as usize;
    let Some(count) = u32_at(at) else {
        return Ok(());
    };
    at += 4;
    for _ in 0..count {
        let Some(len) = u32_at(at) else { return Ok(()) };
        if len > bound {
            return Err(refuse("field", len));
        }
        at = at.saturating_add(4 + len as usize);
    }
    Ok(())
}

impl SymStream {
    pub(crate) fn open<R: Read + Seek + Send + Sync + 'static>(
        r: R,
        format: AudioFormat,
        limits: &AudioLimits,
    ) -> Result<Self, DecodeError> {
        guard("demuxer", 0.0, || Self::open_unguarded(r, format, limits))
    }

    fn open_unguarded<R: Read + Seek + Send + Sync + 'static>(
        mut r: R,
        format: AudioFormat,
        limits: &AudioLimits,
    ) -> Result<Self, DecodeError> {
        let byte_len = r.seek(std::io::SeekFrom::End(0))?;
        r.seek(std::io::SeekFrom::Start(0))?;
        precheck(&mut r, format, byte_len)?;
        let mss = MediaSourceStream::new(Box::new(Source { r, len: byte_len }), Default::default());
        let mut hint = Hint::new();
        hint.with_extension(format.name());
        let options = FormatOptions {
            enable_gapless: true,
            ..FormatOptions::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &options, &MetadataOptions::default())
            .map_err(|e| open_error(format, e))?;
        let reader = probed.format;
        let track = reader
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or(DecodeError::NoAudioTrack)?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let codec = codec_name(params.codec);
        if symphonia::default::get_codecs()
            .get_codec(params.codec)
            .is_none()
        {
            return Err(DecodeError::UnsupportedCodec { format, codec });
        }
        let sample_rate = params.sample_rate.unwrap_or(0);
        if sample_rate == 0 {
            return Err(DecodeError::Malformed {
                format,
                reason: "the header gives no sample rate (or 0 Hz)".into(),
            });
        }
        super::check_rate(limits, sample_rate)?;
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| match e {
                SymError::Unsupported(what) => DecodeError::UnsupportedCodec {
                    format,
                    codec: format!("{codec} ({what})"),
                },
                other => open_error(format, other),
            })?;
        // MP4 gives the channels in the codec's own configuration (AAC's AudioSpecificConfig,
        // ALAC's cookie), which the decoder has parsed by now.
        let n_channels = params
            .channels
            .or(decoder.codec_params().channels)
            .map_or(0, |c| c.count());
        check_channels(n_channels)?;
        if n_channels as u64 > SYMPHONIA_MAX_CHANNELS {
            return Err(DecodeError::TooManyChannels {
                channels: n_channels as u64,
                max: SYMPHONIA_MAX_CHANNELS,
            });
        }
        // The length claims that mean "this many frames are in the file" (see the module docs):
        // FLAC's STREAMINFO, MP4 sample tables, CAF packet tables, the MP3 Xing header with its
        // LAME tag (without one, Symphonia estimates from the bitrate), and AIFF's SSND size, which
        // Symphonia counts with the chunk's 8-byte offset/block-size header (up to 8 frames
        // more than the audio). Ogg's is the last page's granule (of whatever is left of a
        // truncated file), ADTS's an estimate.
        // AAC in MP4 starts with the encoder's priming frames, which ffmpeg drops through the
        // edit list and Symphonia 0.5 does not: drop them here. ffmpeg's and fdk's AAC
        // encoders prime 1024 frames (one packet); Apple's 2112, for which the edit list
        // would be needed (not read: see notes/formats.md).
        // (MP3's delay is trimmed by Symphonia's gapless mode itself; Ogg Vorbis's reported
        // delay is not a priming to drop: ffmpeg keeps those frames, and so do we.)
        let priming = match format {
            AudioFormat::Mp4 if params.codec == codecs::CODEC_TYPE_AAC => {
                params.delay.map_or(1024, u64::from)
            }
            _ => 0,
        };
        let truncation_claim = match format {
            AudioFormat::Flac | AudioFormat::Mp4 | AudioFormat::Caf => params.n_frames,
            AudioFormat::Mp3 if params.delay.is_some() => params.n_frames,
            AudioFormat::Aiff => params.n_frames.map(|n| n.saturating_sub(8)),
            _ => None,
        };
        let mut stream = Self {
            reader,
            decoder,
            track_id,
            info: AudioInfo {
                format,
                codec,
                sample_rate,
                n_channels,
                n_frames: params.n_frames,
            },
            byte_len,
            truncation_claim,
            to_trim: priming,
            trimmed: 0,
            planar: vec![Vec::new(); n_channels],
            frames: 0,
            skipped_frames: 0,
            packets: 0,
            skipped: 0,
            bad_in_a_row: 0,
            warnings: Vec::new(),
            ended: false,
            pending: None,
        };
        if n_channels == 0 {
            // Learn the channel count from the first decoded packet, kept for the first block.
            let n = stream.next_block()?;
            if stream.info.n_channels == 0 {
                return Err(DecodeError::Malformed {
                    format,
                    reason: "no channel count in the header and no audio packet".into(),
                });
            }
            stream.pending = Some(n);
        }
        Ok(stream)
    }

    pub(crate) fn info(&self) -> &AudioInfo {
        &self.info
    }

    pub(crate) fn planar(&self) -> &[Vec<f32>] {
        &self.planar
    }

    pub(crate) fn warnings(&self) -> &[DecodeWarning] {
        &self.warnings
    }

    pub(crate) fn take_warnings(&mut self) -> Vec<DecodeWarning> {
        std::mem::take(&mut self.warnings)
    }

    pub(crate) fn skipped_packets(&self) -> u64 {
        self.skipped
    }

    pub(crate) fn byte_len(&self) -> u64 {
        self.byte_len
    }

    /// Seconds of audio emitted so far.
    fn time_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate)
    }

    /// Records a packet the codec refused, or refuses the stream (module docs).
    fn skip(&mut self, dur: u64, reason: String) -> Result<(), DecodeError> {
        self.bad_in_a_row += 1;
        self.skipped += 1;
        self.skipped_frames = self.skipped_frames.saturating_add(dur);
        let time_s = self.time_s();
        if self.bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
            return Err(DecodeError::CorruptStream {
                time_s,
                reason: format!(
                    "{} packets in a row failed to decode (last: {reason})",
                    self.bad_in_a_row
                ),
            });
        }
        if self.skipped > MAX_SKIPPED_PACKETS && self.skipped * 10 > self.packets {
            return Err(DecodeError::CorruptStream {
                time_s,
                reason: format!(
                    "{} of the first {} packets failed to decode (last: {reason})",
                    self.skipped, self.packets
                ),
            });
        }
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(DecodeWarning {
                time_s,
                message: format!("skipped a corrupt packet of {dur} frames: {reason}"),
            });
        }
        Ok(())
    }

    /// At the end of the packets: a stream shorter than its header declares is truncated.
    fn check_end(&self) -> Result<(), DecodeError> {
        if let Some(claim) = self.truncation_claim {
            let present = self.frames + self.trimmed + self.skipped_frames;
            if present < claim {
                return Err(DecodeError::Truncated {
                    time_s: self.time_s(),
                    declared_s: claim as f64 / f64::from(self.info.sample_rate),
                });
            }
        }
        Ok(())
    }

    /// Decodes the next packet with audio into `planar`; returns its frames, 0 at the end.
    pub(crate) fn next_block(&mut self) -> Result<usize, DecodeError> {
        let time_s = self.time_s();
        let result = guard("decoder", time_s, || self.next_block_unguarded());
        if result.is_err() {
            // The reader's state is unknown after a panic or a refusal: stop here.
            self.ended = true;
            self.pending = None;
        }
        result
    }

    fn next_block_unguarded(&mut self) -> Result<usize, DecodeError> {
        if let Some(n) = self.pending.take() {
            return Ok(n);
        }
        loop {
            if self.ended {
                return Ok(0);
            }
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    self.check_end()?;
                    return Ok(0);
                }
                Err(SymError::IoError(e)) => return Err(DecodeError::Io(e)),
                Err(SymError::ResetRequired) => {
                    self.decoder.reset();
                    continue;
                }
                Err(e) => {
                    return Err(DecodeError::CorruptStream {
                        time_s: self.time_s(),
                        reason: e.to_string(),
                    });
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            self.packets += 1;
            match self.decoder.decode(&packet) {
                Ok(buf) => {
                    self.bad_in_a_row = 0;
                    let spec = *buf.spec();
                    let (rate, channels) = (spec.rate, spec.channels.count());
                    if self.info.n_channels == 0 && channels > 0 {
                        check_channels(channels)?;
                        self.info.n_channels = channels;
                        self.planar = vec![Vec::new(); channels];
                    }
                    if rate != self.info.sample_rate || channels != self.info.n_channels {
                        return Err(DecodeError::RateChange {
                            time_s: self.time_s(),
                            from: format!(
                                "{} Hz, {} channel(s)",
                                self.info.sample_rate, self.info.n_channels
                            ),
                            to: format!("{rate} Hz, {channels} channel(s)"),
                        });
                    }
                    let mut n = buf.frames();
                    if n == 0 {
                        continue;
                    }
                    to_planar(&buf, &mut self.planar);
                    if self.to_trim > 0 {
                        let k = usize::try_from(self.to_trim).unwrap_or(usize::MAX).min(n);
                        for ch in &mut self.planar {
                            ch.drain(..k);
                        }
                        self.to_trim -= k as u64;
                        self.trimmed += k as u64;
                        n -= k;
                        if n == 0 {
                            continue;
                        }
                    }
                    self.frames += n as u64;
                    return Ok(n);
                }
                Err(SymError::ResetRequired) => self.decoder.reset(),
                Err(SymError::IoError(e)) if e.kind() != ErrorKind::UnexpectedEof => {
                    return Err(DecodeError::Io(e));
                }
                // A packet the codec refuses (malformed, an "unsupported" feature or a codec
                // limit met in the middle of a stream: damage, as far as the file is
                // concerned) is skipped under the policy of the module docs.
                Err(e) => self.skip(packet.dur, e.to_string())?,
            }
        }
    }
}

/// Converts one decoded buffer to `f32` per channel (each vector cleared first), with the
/// WAV decoder's scaling: integers `code / 2^(bits-1)`, unsigned offset to zero.
fn to_planar(buf: &AudioBufferRef<'_>, out: &mut [Vec<f32>]) {
    const S8: f32 = 1.0 / 128.0;
    const S16: f32 = 1.0 / 32_768.0;
    const S24: f32 = 1.0 / 8_388_608.0;
    const S32: f32 = 1.0 / 2_147_483_648.0;
    match buf {
        AudioBufferRef::U8(b) => planar(b, out, |x| (f32::from(x) - 128.0) * S8),
        AudioBufferRef::U16(b) => planar(b, out, |x| (f32::from(x) - 32_768.0) * S16),
        AudioBufferRef::U24(b) => planar(b, out, |x| (x.inner() as i32 - 8_388_608) as f32 * S24),
        AudioBufferRef::U32(b) => planar(b, out, |x| (x ^ 0x8000_0000) as i32 as f32 * S32),
        AudioBufferRef::S8(b) => planar(b, out, |x| f32::from(x) * S8),
        AudioBufferRef::S16(b) => planar(b, out, |x| f32::from(x) * S16),
        AudioBufferRef::S24(b) => planar(b, out, |x| x.inner() as f32 * S24),
        AudioBufferRef::S32(b) => planar(b, out, |x| x as f32 * S32),
        AudioBufferRef::F32(b) => {
            for (c, o) in out.iter_mut().enumerate() {
                o.clear();
                o.extend_from_slice(b.chan(c));
            }
        }
        AudioBufferRef::F64(b) => planar(b, out, |x| x as f32),
    }
}

fn planar<S: Sample>(b: &AudioBuffer<S>, out: &mut [Vec<f32>], conv: impl Fn(S) -> f32) {
    for (c, o) in out.iter_mut().enumerate() {
        o.clear();
        o.extend(b.chan(c).iter().map(|&x| conv(x)));
    }
}
