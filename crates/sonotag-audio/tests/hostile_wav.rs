//! Hostile-input catalogue for the WAV decoder (issue 6, "nothing panics").
//!
//! Each case writes a bad file into a temporary folder, decodes it with `wav::decode_file` and
//! expects one specific error variant whose one-line message names the file. The property tests
//! at the end feed random bytes and random mutations of valid files to `wav::decode_bytes` and
//! check that it never panics and never allocates more than the input can justify.
//! docs/reliability.md lists the cases and the fuzzing of the same decoder.

// The WAV byte builders shared with the other tests of this package, and the binary's
// allocation accounting (per thread, so the tests running next to these do not count).
use crate::common::alloc::measure_allocs;
use crate::common::riff;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sonotag_audio::wav::{self, DecodedWav, MAX_CHANNELS};
use sonotag_audio::{AudioError, WavError};

/// What decoding `len` input bytes may allocate at most: the f32 output is at most 4 bytes per
/// input byte (8-bit files), plus the read block and `fmt ` copy (each at most the input),
/// plus the per-channel vector headers (at most `MAX_CHANNELS` of them) and error messages.
fn alloc_budget(len: usize) -> usize {
    6 * len + 64 * 1024
}

// ---------------------------------------------------------------------------------------------
// Building WAV files byte by byte (no helper may panic on the odd values used here).

/// A 16-byte `fmt ` body; block_align and byte rate wrap like a careless writer's would.
fn fmt(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block = channels.wrapping_mul(bits.div_ceil(8));
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    f.extend_from_slice(&block.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}

fn pcm16(codes: &[i16]) -> Vec<u8> {
    codes.iter().flat_map(|c| c.to_le_bytes()).collect()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A valid 16-bit mono file of `n` samples.
fn valid_pcm16(n: usize) -> Vec<u8> {
    let codes: Vec<i16> = (0..n).map(|i| (i as i16).wrapping_mul(257)).collect();
    riff(&[(b"fmt ", fmt(1, 1, 16_000, 16)), (b"data", pcm16(&codes))])
}

/// Byte offset of the size field of the first chunk `id`.
fn size_field(bytes: &[u8], id: &[u8; 4]) -> usize {
    bytes
        .windows(4)
        .position(|w| w == id)
        .expect("chunk id present")
        + 4
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `bytes` as `name` in `dir` and decodes it from the path.
fn decode_as(dir: &Path, name: &str, bytes: &[u8]) -> (PathBuf, AudioError) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    match wav::decode_file(&path) {
        Ok(w) => panic!("{name}: decoded {} frames, expected an error", w.n_frames()),
        Err(e) => (path, e),
    }
}

/// The WAV-level cause of a file error (panics on any other variant).
fn wav_cause(err: &AudioError) -> &WavError {
    match err {
        AudioError::Wav { source, .. } => source,
        other => panic!("expected AudioError::Wav, got {other:?}"),
    }
}

/// The message names the file, on one line, and says what is wrong.
fn assert_message(err: &AudioError, path: &Path, needle: &str) {
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "message does not start with the path {}: {text}",
        path.display()
    );
    assert!(!text.contains('\n'), "message spans lines: {text}");
    assert!(text.contains(needle), "message lacks `{needle}`: {text}");
}

// ---------------------------------------------------------------------------------------------
// The catalogue.

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = decode_as(dir.path(), "empty.wav", b"");
    assert!(matches!(wav_cause(&err), WavError::Empty), "{err:?}");
    assert_message(&err, &path, "empty file (0 bytes)");
}

#[test]
fn truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid_pcm16(100);
    // Inside the 12-byte RIFF header.
    let (path, err) = decode_as(dir.path(), "cut6.wav", &good[..6]);
    match wav_cause(&err) {
        WavError::TruncatedHeader {
            part,
            offset: 0,
            needed: 12,
            available: 6,
        } => assert_eq!(part, "RIFF header"),
        other => panic!("{other:?}"),
    }
    assert_message(&err, &path, "truncated header");
    // Inside the 16-byte fmt body, which starts at byte 20.
    let (path, err) = decode_as(dir.path(), "cut30.wav", &good[..30]);
    match wav_cause(&err) {
        WavError::TruncatedHeader {
            part,
            offset: 20,
            needed: 16,
            available: 10,
        } => assert_eq!(part, "\"fmt \" chunk"),
        other => panic!("{other:?}"),
    }
    assert_message(&err, &path, "the \"fmt \" chunk at byte 20 needs 16 bytes");
    // Inside the data chunk's 8-byte header (it starts at byte 36).
    let (path, err) = decode_as(dir.path(), "cut40.wav", &good[..40]);
    match wav_cause(&err) {
        WavError::TruncatedHeader {
            part,
            offset: 36,
            needed: 8,
            available: 4,
        } => assert_eq!(part, "chunk header"),
        other => panic!("{other:?}"),
    }
    assert_message(&err, &path, "chunk header");
    // Exactly at a chunk boundary, before any data chunk: the chunk is missing.
    let (path, err) = decode_as(dir.path(), "cut36.wav", &good[..36]);
    assert!(
        matches!(wav_cause(&err), WavError::MissingChunk { chunk: "data" }),
        "{err:?}"
    );
    assert_message(&err, &path, "no \"data\" chunk");
}

#[test]
fn truncated_data_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid_pcm16(1000); // 44-byte header + 2000 data bytes
    assert_eq!(wav::decode_bytes(&good).unwrap().n_frames(), 1000);
    // Cut on a sample boundary, and cut inside a sample (a trailing partial sample): both are
    // truncated files, refused rather than decoded partially.
    for (name, keep, available) in [("cut_frame.wav", 1044, 1000), ("cut_mid.wav", 1045, 1001)] {
        let (path, err) = decode_as(dir.path(), name, &good[..keep]);
        match wav_cause(&err) {
            &WavError::Truncated {
                claimed,
                available: a,
            } => {
                assert_eq!((claimed, a), (2000, available), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_message(
            &err,
            &path,
            &format!("data chunk declares 2000 bytes but only {available} bytes follow"),
        );
    }
}

#[test]
fn complete_data_chunk_with_a_partial_last_frame_is_tolerated() {
    // The declared size is fully present but not a whole number of frames: nothing is missing
    // from the file, so (as libsndfile does) the last partial frame is dropped, not refused.
    let mut data = pcm16(&[1, 2, 3]);
    data.push(0x7F);
    let bytes = riff(&[(b"fmt ", fmt(1, 1, 8_000, 16)), (b"data", data)]);
    let w = wav::decode_bytes(&bytes).unwrap();
    assert_eq!(w.n_frames(), 3);
}

#[test]
fn data_chunk_claiming_more_than_the_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = valid_pcm16(200);
    let at = size_field(&bytes, b"data");
    set_u32(&mut bytes, at, 10_000);
    let (path, err) = decode_as(dir.path(), "overclaim.wav", &bytes);
    assert!(
        matches!(
            wav_cause(&err),
            WavError::Truncated {
                claimed: 10_000,
                available: 400
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &path, "truncated data");
}

#[test]
fn data_chunk_claiming_4_gib_is_refused_quickly_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = riff(&[(b"fmt ", fmt(1, 2, 44_100, 16)), (b"data", vec![0; 400])]);
    let at = size_field(&bytes, b"data");
    set_u32(&mut bytes, at, 0xFFFF_FFF0);
    let path = dir.path().join("claims_4gib.wav");
    std::fs::write(&path, &bytes).unwrap();

    let start = Instant::now();
    let (from_file, file_allocs) = measure_allocs(|| wav::decode_file(&path));
    let (from_bytes, byte_allocs) = measure_allocs(|| wav::decode_bytes(&bytes));
    let elapsed = start.elapsed();

    let err = from_file.unwrap_err();
    assert!(
        matches!(
            wav_cause(&err),
            WavError::Truncated {
                claimed: 0xFFFF_FFF0,
                available: 400
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &path, "declares 4294967280 bytes");
    assert!(
        matches!(
            from_bytes,
            Err(WavError::Truncated {
                claimed: 0xFFFF_FFF0,
                ..
            })
        ),
        "{from_bytes:?}"
    );
    // Allocating (let alone zeroing) 4 GiB would blow both limits by orders of magnitude.
    for allocs in [file_allocs, byte_allocs] {
        assert!(
            allocs.largest < 64 * 1024 && allocs.total < alloc_budget(bytes.len()),
            "{allocs:?} while refusing a {}-byte file",
            bytes.len()
        );
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn zero_channels() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = riff(&[(b"fmt ", fmt(1, 0, 16_000, 16)), (b"data", pcm16(&[1, 2]))]);
    let (path, err) = decode_as(dir.path(), "zero_channels.wav", &bytes);
    assert!(matches!(wav_cause(&err), WavError::ZeroChannels), "{err:?}");
    assert_message(&err, &path, "0 channels");
}

#[test]
fn huge_channel_count() {
    let dir = tempfile::tempdir().unwrap();
    // 65535 channels of 8-bit samples (a consistent block_align of 65535) and of 16-bit samples
    // (block_align overflowed): the channel count is refused first, in both.
    for (name, bits) in [("ch65535_u8.wav", 8), ("ch65535_i16.wav", 16)] {
        let bytes = riff(&[
            (b"fmt ", fmt(1, u16::MAX, 16_000, bits)),
            (b"data", vec![0; 64]),
        ]);
        let (path, err) = decode_as(dir.path(), name, &bytes);
        assert!(
            matches!(
                wav_cause(&err),
                WavError::TooManyChannels {
                    channels: 65_535,
                    max: MAX_CHANNELS
                }
            ),
            "{name}: {err:?}"
        );
        assert_message(&err, &path, "declares 65535 channels (at most 1024");
    }
    // The limit itself is accepted.
    let ok = riff(&[
        (b"fmt ", fmt(1, MAX_CHANNELS, 16_000, 8)),
        (b"data", vec![128; 2 * usize::from(MAX_CHANNELS)]),
    ]);
    let w = wav::decode_bytes(&ok).unwrap();
    assert_eq!((w.n_channels(), w.n_frames()), (1024, 2));
    let over = riff(&[
        (b"fmt ", fmt(1, MAX_CHANNELS + 1, 16_000, 8)),
        (b"data", vec![]),
    ]);
    assert!(matches!(
        wav::decode_bytes(&over),
        Err(WavError::TooManyChannels { channels: 1025, .. })
    ));
}

#[test]
fn sample_rate_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = riff(&[(b"fmt ", fmt(1, 1, 0, 16)), (b"data", pcm16(&[1, 2]))]);
    let (path, err) = decode_as(dir.path(), "rate0.wav", &bytes);
    assert!(
        matches!(wav_cause(&err), WavError::ZeroSampleRate),
        "{err:?}"
    );
    assert_message(&err, &path, "sample rate of 0 Hz");
}

#[test]
fn unsupported_bit_depths() {
    let dir = tempfile::tempdir().unwrap();
    for (name, tag, bits, format) in [
        ("pcm12.wav", 1, 12, "integer PCM"),
        ("float64.wav", 3, 64, "IEEE float"),
    ] {
        let bytes = riff(&[(b"fmt ", fmt(tag, 1, 16_000, bits)), (b"data", vec![0; 64])]);
        let (path, err) = decode_as(dir.path(), name, &bytes);
        match wav_cause(&err) {
            &WavError::UnsupportedBitDepth { format: f, bits: b } => {
                assert_eq!((f, b), (format, bits), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_message(
            &err,
            &path,
            &format!("unsupported encoding: {bits}-bit {format}"),
        );
    }
}

#[test]
fn text_file_with_a_wav_name() {
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = decode_as(
        dir.path(),
        "notes.wav",
        b"Shopping list:\n- eggs\n- a real WAV file\n",
    );
    assert!(matches!(wav_cause(&err), WavError::NotWav(None)), "{err:?}");
    assert_message(&err, &path, "not a WAV file (no RIFF/WAVE header)");
    // The message never quotes the file: it may be any file a manifest points at.
    assert!(!err.to_string().contains("Shop"), "{err}");
    // Short text too: fewer bytes than a RIFF header is still "not a WAV file", not "truncated".
    let (path, err) = decode_as(dir.path(), "hi.wav", b"hi\n");
    assert!(matches!(wav_cause(&err), WavError::NotWav(_)), "{err:?}");
    assert_message(&err, &path, "not a WAV file");
}

/// Common non-WAV formats are named by their magic number, and no byte of them is quoted.
#[test]
fn other_audio_formats_are_named_not_quoted() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, format) in [
        ("a.flac", &b"fLaC\0\0\0\x22\x10\0\x10\0secret"[..], "FLAC"),
        (
            "a.ogg",
            &b"OggS\0\x02\0\0secret"[..],
            "Ogg (Vorbis/Opus/FLAC)",
        ),
        ("a.mp3", &b"ID3\x04\0\0\0\0secret"[..], "MP3 (ID3 tag)"),
        ("b.mp3", &b"\xff\xfb\x90\x64secret"[..], "MP3 (MPEG audio)"),
        ("a.m4a", &b"\0\0\0\x20ftypM4A secret"[..], "MP4/M4A"),
        ("a.avi", &b"RIFF\x04\0\0\0AVI secret"[..], "an AVI video"),
    ] {
        let (path, err) = decode_as(dir.path(), name, bytes);
        assert!(
            matches!(wav_cause(&err), WavError::NotWav(Some(f)) if *f == format),
            "{name}: {err:?}"
        );
        assert_message(
            &err,
            &path,
            &format!("not a WAV file (looks like {format}, which this version does not decode)"),
        );
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

#[test]
fn directory_path() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("looks_like.wav");
    std::fs::create_dir(&sub).unwrap();
    let err = wav::decode_file(&sub).unwrap_err();
    assert!(
        matches!(&err, AudioError::IsDirectory { path } if *path == sub),
        "{err:?}"
    );
    assert_message(&err, &sub, "is a directory");
}

/// Set in the environment of the unprivileged child that re-runs `unreadable_file` as root.
const UNREADABLE_ENV: &str = "SONOTAG_HOSTILE_WAV_UNREADABLE";

fn expect_permission_denied(path: &Path) {
    let err = wav::decode_file(path).unwrap_err();
    assert!(
        matches!(&err, AudioError::PermissionDenied { path: p } if p == path),
        "{err:?}"
    );
    assert_message(&err, path, "permission denied");
}

#[cfg(unix)]
#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    if let Some(path) = std::env::var_os(UNREADABLE_ENV) {
        // We are the unprivileged child started below.
        expect_permission_denied(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.wav");
    std::fs::write(&path, valid_pcm16(10)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_err() {
        expect_permission_denied(&path);
        return;
    }
    // Root (CAP_DAC_OVERRIDE) reads files whatever their mode. Re-run this test as `nobody`,
    // for whom mode 000 does apply; the folder must be traversable by it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(&exe)
        .args([
            "hostile_wav::unreadable_file",
            "--exact",
            "--test-threads=1",
        ])
        .env(UNREADABLE_ENV, &path)
        .uid(65_534)
        .gid(65_534)
        .output();
    match child {
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && stdout.contains("1 passed") {
                return;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("Permission denied") && !stdout.contains("running 1 test") {
                // `nobody` may not be able to run the test binary at all (e.g. a private target
                // folder): nothing was tested, say so rather than fail.
                println!(
                    "SKIPPED unreadable_file: running as root and `nobody` cannot run {}: {stderr}",
                    exe.display()
                );
                return;
            }
            panic!(
                "unprivileged re-run failed ({}):\n{stdout}\n{stderr}",
                out.status
            );
        }
        Err(e) => println!(
            "SKIPPED unreadable_file: running as root, where mode 000 does not stop reading, and \
             dropping to uid 65534 failed: {e}"
        ),
    }
}

#[test]
fn non_finite_float_samples() {
    let dir = tempfile::tempdir().unwrap();
    // Stereo: channel 1 goes bad at frame 1 (sample index 3), channel 0 only at frame 2: the
    // first one in file order is reported.
    // (file, interleaved stereo samples, sample index of the first non-finite one).
    let cases = [
        ("nan.wav", [0.5, -0.5, 0.25, f32::NAN, f32::NAN, 1.0], 3u64),
        ("inf.wav", [0.0, 0.0, f32::INFINITY, 0.1, 0.2, 0.3], 2),
        (
            "neg_inf.wav",
            [0.0, 0.0, 0.0, 0.0, 0.0, f32::NEG_INFINITY],
            5,
        ),
    ];
    for (name, samples, want_index) in cases {
        let want = samples[want_index as usize];
        let (want_frame, want_channel) = (want_index as usize / 2, want_index as usize % 2);
        let mut format = fmt(3, 2, 16_000, 32);
        format.extend_from_slice(&0u16.to_le_bytes()); // WAVEFORMATEX cbSize
        let bytes = riff(&[
            (b"fmt ", format),
            (b"fact", 3u32.to_le_bytes().to_vec()),
            (b"data", f32_bytes(&samples)),
        ]);
        let (path, err) = decode_as(dir.path(), name, &bytes);
        match wav_cause(&err) {
            &WavError::NonFinite {
                index,
                frame,
                channel,
                value,
            } => {
                assert_eq!(
                    (index, frame, channel),
                    (want_index, want_frame, want_channel),
                    "{name}"
                );
                assert!(
                    value.to_bits() == want.to_bits() || (value.is_nan() && want.is_nan()),
                    "{name}: {value}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_message(&err, &path, &format!("at sample index {want_index}"));
    }
}

#[test]
fn every_strict_prefix_of_a_valid_file_is_a_truncation_error() {
    let bytes = riff(&[
        (b"fmt ", fmt(1, 2, 16_000, 16)),
        (b"LIST", b"INFOISFT\x03\0\0\0ab\0".to_vec()), // odd size: pad byte
        (b"data", pcm16(&[1, -1, 2, -2, 3, -3])),
    ]);
    assert_eq!(wav::decode_bytes(&bytes).unwrap().n_frames(), 3);
    for cut in 0..bytes.len() {
        let err = wav::decode_bytes(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                WavError::Empty
                    | WavError::TruncatedHeader { .. }
                    | WavError::Truncated { .. }
                    | WavError::MissingChunk { .. }
            ),
            "prefix of {cut} bytes: {err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests: no panic, bounded allocation, and sane output whenever decoding succeeds.

/// Decodes `bytes` with allocation accounting and checks the invariants of any outcome.
fn decode_checked(bytes: &[u8]) -> Result<DecodedWav, WavError> {
    let (result, allocs) = measure_allocs(|| wav::decode_bytes(bytes));
    assert!(
        allocs.total <= alloc_budget(bytes.len()),
        "{allocs:?} for {} input bytes",
        bytes.len()
    );
    if let Ok(w) = &result {
        assert!(w.sample_rate() > 0);
        assert!((1..=usize::from(MAX_CHANNELS)).contains(&w.n_channels()));
        let frames = w.n_frames();
        assert!(w.channels().iter().all(|c| c.len() == frames));
        let bytes_needed = frames * w.n_channels() * w.encoding().bytes_per_sample();
        assert!(
            bytes_needed <= bytes.len(),
            "{frames} frames from {} bytes",
            bytes.len()
        );
        assert!(w.channels().iter().flatten().all(|x| x.is_finite()));
    }
    // Every error renders as one line.
    if let Err(e) = &result {
        assert!(!e.to_string().contains('\n'), "{e}");
    }
    result
}

/// A valid WAV in any supported encoding (format tag, bits), 1 to 4 channels, 0 to 64 frames.
fn valid_wav() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![(1u16, 8u16), (1, 16), (1, 24), (1, 32), (3, 32)]),
        1u16..=4,
        prop::sample::select(vec![8_000u32, 16_000, 44_100, 48_000]),
        0usize..64,
        any::<bool>(),
    )
        .prop_flat_map(|((tag, bits), channels, rate, frames, list)| {
            let n = usize::from(channels) * frames * usize::from(bits / 8);
            prop::collection::vec(any::<u8>(), n).prop_map(move |mut data| {
                if tag == 3 {
                    // Finite floats only, so that the file is valid.
                    for s in data.chunks_exact_mut(4) {
                        let v = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        if !v.is_finite() {
                            s.copy_from_slice(&0.5f32.to_le_bytes());
                        }
                    }
                }
                let mut chunks: Vec<(&[u8; 4], Vec<u8>)> =
                    vec![(b"fmt ", fmt(tag, channels, rate, bits))];
                if list {
                    chunks.push((b"LIST", b"INFOIART\x05\0\0\0x y\0\0".to_vec()));
                }
                chunks.push((b"data", data));
                riff(&chunks)
            })
        })
}

/// One edit of a file: the kinds of damage corrupt transfers and hostile writers produce.
#[derive(Debug, Clone)]
enum Mutation {
    SetByte(usize, u8),
    /// A 32-bit field overwritten with a boundary value (sizes, rates).
    SetU32(usize, u32),
    /// A 16-bit field overwritten (channels, bits, block_align, format tag).
    SetU16(usize, u16),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let u32s = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0x7FFF_FFFF),
        Just(0x8000_0000),
        Just(0xFFFF_FFF0),
        Just(u32::MAX),
        any::<u32>(),
        0u32..4096,
    ];
    let u16s = prop_oneof![
        Just(0u16),
        Just(1),
        Just(3),
        Just(0xFFFE),
        Just(u16::MAX),
        any::<u16>(),
        0u16..70,
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (any::<usize>(), u32s).prop_map(|(i, v)| Mutation::SetU32(i, v)),
        (any::<usize>(), u16s).prop_map(|(i, v)| Mutation::SetU16(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    if len == 0 {
        if let Mutation::Insert(_, b) = m {
            bytes.extend_from_slice(b);
        }
        return;
    }
    match m {
        Mutation::SetByte(i, b) => bytes[i % len] = *b,
        Mutation::SetU32(i, v) => {
            let at = i % len;
            let end = (at + 4).min(len);
            bytes[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
        }
        Mutation::SetU16(i, v) => {
            let at = i % len;
            let end = (at + 2).min(len);
            bytes[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
        }
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Insert(i, b) => {
            let at = i % (len + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let at = i % len;
            bytes.drain(at..(at + n).min(len));
        }
    }
}

/// Chunks with plausible ids and arbitrary (often lying) size fields and bodies.
fn random_chunks() -> impl Strategy<Value = Vec<u8>> {
    let id = prop_oneof![
        Just(*b"fmt "),
        Just(*b"data"),
        Just(*b"LIST"),
        Just(*b"fact"),
        any::<[u8; 4]>(),
    ];
    let size = prop_oneof![Just(None), any::<u32>().prop_map(Some)];
    let chunk = (id, size, prop::collection::vec(any::<u8>(), 0..64));
    prop::collection::vec(chunk, 0..6).prop_map(|chunks| {
        let mut body = b"WAVE".to_vec();
        for (id, size, data) in chunks {
            body.extend_from_slice(&id);
            let size = size.unwrap_or(data.len() as u32);
            body.extend_from_slice(&size.to_le_bytes());
            body.extend_from_slice(&data);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    })
}

/// 512 cases per property by default (about 0.1 s each); `PROPTEST_CASES=N` runs more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_checked(&bytes);
    }

    #[test]
    fn random_riff_chunk_lists_never_panic(bytes in random_chunks()) {
        let _ = decode_checked(&bytes);
    }

    #[test]
    fn valid_files_decode(bytes in valid_wav()) {
        prop_assert!(decode_checked(&bytes).is_ok());
    }

    #[test]
    fn mutated_valid_files_never_panic(
        original in valid_wav(),
        edits in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = original;
        for m in &edits {
            apply(&mut bytes, m);
        }
        let _ = decode_checked(&bytes);
    }
}
