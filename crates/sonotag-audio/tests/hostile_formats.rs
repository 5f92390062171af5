//! Hostile-input catalogue for the compressed formats (`decode`): truncated files, corrupt
//! frames, unsupported codecs, headers claiming huge lengths, channel counts or rates, and
//! random bytes after every magic number. Each case expects one typed error (or a decode with
//! warnings, per the corrupt-packet policy of `sonotag_audio::decode`) whose one-line message
//! names the file; the counting allocator checks that header numbers size nothing large.
//! docs/reliability.md lists the cases (notes/formats.md holds the rows).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sonotag_audio::decode::{self, AudioFormat, AudioReader};
use sonotag_audio::{AudioError, DecodeError};

use crate::common::alloc::measure_allocs;
use crate::formats::formats_dir;

const MIB: usize = 1 << 20;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(formats_dir().join(name)).expect("fixture")
}

/// Writes `bytes` as `name` in `dir`, decodes the file, returns the path and the error.
fn decode_err(dir: &Path, name: &str, bytes: &[u8]) -> (PathBuf, AudioError) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    match decode::decode_file(&path) {
        Ok(d) => panic!("{name}: decoded {} frames, expected an error", d.n_frames()),
        Err(e) => (path, e),
    }
}

fn cause(err: &AudioError) -> &DecodeError {
    match err {
        AudioError::Decode { source, .. } => source,
        other => panic!("expected AudioError::Decode, got {other:?}"),
    }
}

/// One line, starting with the path, containing `needle`.
fn assert_message(err: &AudioError, path: &Path, needle: &str) {
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains(needle), "`{needle}` not in: {text}");
}

/// Asserts that decoding `bytes` is refused as [`DecodeError::Malformed`] of `format` (any
/// format when `None`) with a reason containing every needle, the largest allocation below
/// 1 MiB: the shape of every precheck finding.
fn assert_malformed_small(bytes: &[u8], format: Option<AudioFormat>, needles: &[&str]) {
    let (result, allocs) = measure_allocs(|| decode::decode_bytes(bytes));
    match result {
        Err(DecodeError::Malformed { format: f, reason }) => {
            if let Some(format) = format {
                assert_eq!(f, format, "{reason}");
            }
            for needle in needles {
                assert!(reason.contains(needle), "`{needle}` not in: {reason}");
            }
            assert!(!reason.contains('\n'), "one line: {reason:?}");
        }
        other => panic!("{needles:?}: {:?}", other.map(|d| d.n_frames())),
    }
    assert!(allocs.largest < MIB, "{needles:?}: {allocs:?}");
}

#[test]
fn truncated_flac_is_refused_with_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("flac16_22k_stereo.flac");
    // Inside STREAMINFO; in the middle (the file holds one 4608-frame block: nothing decodes);
    // one byte short of the end.
    let (path, err) = decode_err(dir.path(), "cut100.flac", &good[..100]);
    assert!(
        matches!(
            cause(&err),
            DecodeError::Malformed {
                format: AudioFormat::Flac,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &path, "truncated file?");
    for keep in [good.len() / 2, good.len() - 1] {
        let (path, err) = decode_err(dir.path(), &format!("cut{keep}.flac"), &good[..keep]);
        match cause(&err) {
            DecodeError::Truncated { time_s, declared_s } => {
                assert!(*time_s < 0.15 && (*declared_s - 0.15).abs() < 1e-3, "{err}");
            }
            other => panic!("{other:?}"),
        }
        assert_message(&err, &path, "the header declares 0.150 s");
    }
}

#[test]
fn truncated_mp3_with_a_lame_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture("mp3_22k_mono.mp3");
    let (path, err) = decode_err(dir.path(), "cut.mp3", &good[..1200]);
    assert!(
        matches!(cause(&err), DecodeError::Truncated { .. }),
        "{err:?}"
    );
    assert_message(
        &err,
        &path,
        "only 0.054 s of audio decode but the header declares 0.200 s",
    );
}

#[test]
fn truncated_m4a_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // moov first: Symphonia 0.5.5's MP4 reader still walks every top-level atom at open and
    // fails on the cut mdat, so a cut M4A is refused at open, whichever atom comes first.
    let good = fixture("faststart_aac_48k_mono.m4a");
    let (path, err) = decode_err(dir.path(), "cut.m4a", &good[..good.len() - 400]);
    assert!(
        matches!(cause(&err), DecodeError::Malformed { .. }),
        "{err:?}"
    );
    assert_message(
        &err,
        &path,
        "malformed mp4 file: the file ends while its headers are read (truncated file?)",
    );
    // moov last (ffmpeg's default): the cut takes the headers with it.
    let good = fixture("alac16_44k_stereo.m4a");
    let (path, err) = decode_err(dir.path(), "cut2.m4a", &good[..8000]);
    assert!(
        matches!(
            cause(&err),
            DecodeError::Malformed {
                format: AudioFormat::Mp4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &path, "malformed mp4 file");
}

#[test]
fn truncated_ogg_and_others_give_typed_outcomes() {
    // Ogg declares no length a cut can be checked against: a cut between pages decodes what
    // is present; a cut inside the headers, or one the reader's end scan cannot parse, is
    // Malformed. Every cut point gives one of those, never a panic.
    for name in [
        "vorbis_44k_stereo.ogg",
        "aiff16_44k_stereo.aiff",
        "caf16_48k_stereo.caf",
        "aac_22k_mono.aac",
    ] {
        let good = fixture(name);
        for keep in [
            0,
            4,
            13,
            60,
            500,
            good.len() / 3,
            good.len() / 2,
            good.len() - 1,
        ] {
            match decode::decode_bytes(&good[..keep]) {
                Ok(d) => assert!(d.n_frames() > 0 || keep < good.len(), "{name}"),
                Err(e) => {
                    let text = e.to_string();
                    assert!(
                        !text.is_empty() && !text.contains('\n'),
                        "{name}@{keep}: {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn corrupt_mp3_frame_is_skipped_with_a_warning() {
    // Bytes 1300..1340 of the 22 kHz MP3 hold a frame header: the frame's spec becomes
    // invalid, the packet is skipped and the rest decodes.
    let mut bytes = fixture("mp3_22k_mono.mp3");
    for b in &mut bytes[1300..1340] {
        *b ^= 0x5A;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.mp3");
    std::fs::write(&path, &bytes).unwrap();
    let d = decode::decode_file(&path).unwrap();
    assert_eq!(d.n_frames(), 4410 - 576);
    let w = d.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!((w[0].time_s - 0.0805).abs() < 1e-3, "{w:?}");
    assert!(
        w[0].to_string()
            .starts_with("at 0.080 s: skipped a corrupt packet"),
        "{}",
        w[0]
    );
    // Streaming reports the same warning.
    let mut r = AudioReader::open(&path).unwrap();
    let mut out = Vec::new();
    while r.read_mono(&mut out, 4096).unwrap() > 0 {}
    assert_eq!(r.warnings(), w);
    assert_eq!(r.skipped_packets(), 1);
}

#[test]
fn corrupt_aac_packet_is_skipped_with_a_warning() {
    let mut bytes = fixture("aac_44k_stereo.m4a");
    for b in &mut bytes[1500..1540] {
        *b ^= 0x5A;
    }
    let d = decode::decode_bytes(&bytes).unwrap();
    assert_eq!(d.n_frames(), 5120 - 1024);
    assert_eq!(d.warnings().len(), 1);
    assert!(
        d.warnings()[0].message.contains("aac"),
        "{:?}",
        d.warnings()
    );
}

#[test]
fn a_stream_of_corrupt_packets_is_refused() {
    // Raw ADTS AAC: the fixture's first frame, then 30 copies of its second frame with the
    // payload scrambled (the 7-byte headers intact, so the demuxer reads every packet and the
    // codec refuses each): more than 16 failures in a row.
    let aac = fixture("aac_22k_mono.aac");
    let len = |i: usize| {
        (usize::from(aac[i + 3] & 3) << 11)
            | (usize::from(aac[i + 4]) << 3)
            | usize::from(aac[i + 5] >> 5)
    };
    let first = len(0);
    let second = len(first);
    let mut bytes = aac[..first].to_vec();
    for _ in 0..30 {
        bytes.extend_from_slice(&aac[first..first + 7]);
        bytes.extend(aac[first + 7..first + second].iter().map(|b| b ^ 0xA5));
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = decode_err(dir.path(), "scrambled.aac", &bytes);
    match cause(&err) {
        DecodeError::CorruptStream { time_s, reason } => {
            // The first frame decodes (1024 frames at 22.05 kHz), then 17 failures.
            assert!((time_s - 1024.0 / 22_050.0).abs() < 1e-9, "{time_s}");
            assert!(
                reason.starts_with("17 packets in a row failed to decode"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_message(
        &err,
        &path,
        "corrupt stream at 0.046 s: 17 packets in a row",
    );
    // Streaming refuses at the same point.
    let mut r = AudioReader::open(&path).unwrap();
    let mut out = Vec::new();
    let err = loop {
        match r.read_mono(&mut out, 1) {
            Ok(0) => panic!("no error"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(
        matches!(cause(&err), DecodeError::CorruptStream { .. }),
        "{err:?}"
    );
    assert_eq!(out.len(), 1024);
}

#[test]
fn unsupported_codecs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, codec) in [
        ("opus_48k_mono.opus", AudioFormat::Ogg, "opus"),
        ("unsupported_alac_22k_mono.caf", AudioFormat::Caf, "alac"),
    ] {
        let (path, err) = decode_err(dir.path(), name, &fixture(name));
        match cause(&err) {
            DecodeError::UnsupportedCodec {
                format: f,
                codec: c,
            } => {
                assert_eq!(*f, format);
                assert!(c.starts_with(codec), "{c}");
            }
            other => panic!("{other:?}"),
        }
        assert_message(&err, &path, &format!("{format} file with {codec}"));
        let err = AudioReader::open(&path).unwrap_err();
        assert!(matches!(cause(&err), DecodeError::UnsupportedCodec { .. }));
    }
}

/// FLAC STREAMINFO (from byte 8): sample rate in 20 bits from byte 18, then channels - 1 in 3
/// bits, bits per sample - 1 in 5, total samples in 36.
fn patch_streaminfo(bytes: &mut [u8], rate: Option<u32>, total: Option<u64>) {
    if let Some(rate) = rate {
        bytes[18] = (rate >> 12) as u8;
        bytes[19] = (rate >> 4) as u8;
        bytes[20] = (bytes[20] & 0x0F) | ((rate as u8 & 0x0F) << 4);
    }
    if let Some(total) = total {
        bytes[21] = (bytes[21] & 0xF0) | ((total >> 32) as u8 & 0x0F);
        bytes[22..26].copy_from_slice(&(total as u32).to_be_bytes());
    }
}

#[test]
fn flac_claiming_2_pow_36_frames_allocates_nothing_large() {
    let mut bytes = fixture("flac16_22k_stereo.flac");
    patch_streaminfo(&mut bytes, None, Some((1 << 36) - 1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.flac");
    std::fs::write(&path, &bytes).unwrap();
    let (result, allocs) = measure_allocs(|| decode::decode_file(&path));
    let err = result.unwrap_err();
    assert!(
        matches!(cause(&err), DecodeError::Truncated { .. }),
        "{err:?}"
    );
    assert_message(&err, &path, "only 0.150 s of audio decode");
    // 68.7 G frames claimed (550 GB as f32): the claim reserves 2^16 frames per channel.
    assert!(allocs.largest <= MIB, "{allocs:?}");
    let r = AudioReader::open(&path).unwrap();
    assert_eq!(r.info().n_frames, Some((1 << 36) - 1));
}

#[test]
fn flac_rates_beyond_the_limits_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    // CAF desc: the sample rate is an f64 at byte 20.
    let mut caf = fixture("caf16_48k_stereo.caf");
    caf[20..28].copy_from_slice(&500f64.to_be_bytes());
    let (path, err) = decode_err(dir.path(), "slow.caf", &caf);
    match cause(&err) {
        DecodeError::Limit(l) => assert_eq!(l.setting, "min_sample_rate"),
        other => panic!("{other:?}"),
    }
    assert_message(
        &err,
        &path,
        "input sample rate is 500 Hz, below the limit of 1000 Hz (AudioLimits::min_sample_rate)",
    );
    assert!(AudioReader::open(&path).is_err());
    caf[20..28].copy_from_slice(&4e9f64.to_be_bytes());
    let (path, err) = decode_err(dir.path(), "fast.caf", &caf);
    assert_message(
        &err,
        &path,
        "input sample rate is 4000000000 Hz, above the limit of 768000 Hz",
    );
    // FLAC cannot declare more than 655350 Hz (the reader refuses more itself): a lowered
    // maximum shows the upper check.
    let mut limits = sonotag_audio::AudioLimits::default();
    limits.max_sample_rate = 96_000;
    let path = formats_dir().join("flac16_192k_stereo.flac");
    let err = decode::decode_file_within(&path, &limits).unwrap_err();
    assert_message(
        &err,
        &path,
        "input sample rate is 192000 Hz, above the limit of 96000 Hz",
    );
    let err = AudioReader::open_within(&path, &limits).unwrap_err();
    assert!(matches!(cause(&err), DecodeError::Limit(_)), "{err:?}");
    // A STREAMINFO rate that its frames contradict (0 Hz, or 500 Hz with frames coded at
    // 8 kHz): the FLAC reader finds no valid frame.
    let mut bytes = fixture("flac16_8k_mono.flac");
    patch_streaminfo(&mut bytes, Some(0), None);
    let (path, err) = decode_err(dir.path(), "zero.flac", &bytes);
    assert!(
        matches!(cause(&err), DecodeError::Malformed { .. }),
        "{err:?}"
    );
    assert_message(&err, &path, "malformed flac file");
}

#[test]
fn whole_file_decodes_stop_at_max_decode_frames() {
    let mut limits = sonotag_audio::AudioLimits::default();
    limits.max_decode_frames = 1000;
    for name in ["flac16_8k_mono.flac", "mp3_8k_mono.mp3"] {
        let path = formats_dir().join(name);
        let err = decode::decode_file_within(&path, &limits).unwrap_err();
        match cause(&err) {
            DecodeError::Limit(l) => assert_eq!(l.setting, "max_decode_frames"),
            other => panic!("{other:?}"),
        }
        assert_message(
            &err,
            &path,
            "above the limit of 1000 frames (AudioLimits::max_decode_frames)",
        );
        // Streaming has no length limit (its memory is bounded).
        let mut r = AudioReader::open_within(&path, &limits).unwrap();
        let mut out = Vec::new();
        while r.read_mono(&mut out, 256).unwrap() > 0 {}
        assert_eq!(out.len(), 1600);
    }
    let wav = tempfile::tempdir().unwrap();
    let path = wav.path().join("long.wav");
    std::fs::write(&path, crate::common::wav_at(8_000, 1, 1001, 1)).unwrap();
    let err = decode::decode_file_within(&path, &limits).unwrap_err();
    assert_message(&err, &path, "decoded length is 1001 frames");
}

#[test]
fn huge_channel_counts_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    // AIFF COMM: channels (i16) at byte 20; CAF desc: channels per frame (u32) at byte 44.
    let cases = [
        (
            "aiff16_44k_stereo.aiff",
            12,
            b"COMM",
            20,
            30_000u16.to_be_bytes().to_vec(),
        ),
        (
            "caf16_48k_stereo.caf",
            8,
            b"desc",
            44,
            100_000u32.to_be_bytes().to_vec(),
        ),
    ];
    for (name, chunk_at, chunk, field, channels) in cases {
        let mut bytes = fixture(name);
        assert_eq!(&bytes[chunk_at..chunk_at + 4], chunk);
        bytes[field..field + channels.len()].copy_from_slice(&channels);
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (result, allocs) = measure_allocs(|| decode::decode_file(&path));
        let err = result.unwrap_err();
        assert!(
            matches!(
                cause(&err),
                DecodeError::TooManyChannels { .. } | DecodeError::Malformed { .. }
            ),
            "{name}: {err:?}"
        );
        assert!(allocs.largest < 4 * MIB, "{name}: {allocs:?}");
    }
}

#[test]
fn text_named_flac_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = decode_err(dir.path(), "notes.flac", b"Remember to buy milk.\n");
    assert!(
        matches!(cause(&err), DecodeError::UnknownFormat { .. }),
        "{err:?}"
    );
    assert_message(
        &err,
        &path,
        "not an audio file this version decodes: the name says FLAC (.flac) but the content looks like text",
    );
    let (path, err) = decode_err(dir.path(), "x.bin", b"wvpk\0\0\0\0\0\0\0\0");
    assert_message(&err, &path, "the content looks like WavPack");
    let (path, err) = decode_err(dir.path(), "empty.mp3", b"");
    assert!(matches!(cause(&err), DecodeError::Empty), "{err:?}");
    assert_message(&err, &path, "empty file (0 bytes)");
    // WAV errors stay WAV errors.
    let (_, err) = decode_err(dir.path(), "short.wav", b"RIFF\x10\0\0\0WAVEfmt ");
    assert!(matches!(err, AudioError::Wav { .. }), "{err:?}");
}

/// `n` seeded pseudo-random bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_after_each_magic_give_typed_errors() {
    let magics: [&[u8]; 10] = [
        b"fLaC",
        b"OggS",
        b"ID3\x04\0\0\0\0\0\x10",
        b"\0\0\0\x20ftypM4A ",
        b"FORM\0\0\x10\0AIFF",
        b"FORM\0\0\x10\0AIFC",
        b"caff\0\x01\0\0",
        &[0xFF, 0xFB, 0x90, 0x64],
        &[0xFF, 0xF1, 0x50, 0x80],
        b"RIFF\0\x10\0\0WAVE",
    ];
    for (i, magic) in magics.iter().enumerate() {
        for seed in 0..8 {
            let mut bytes = magic.to_vec();
            bytes.extend(noise(4096, seed * 31 + i as u64));
            let (result, allocs) = measure_allocs(|| decode::decode_bytes(&bytes));
            if let Err(e) = &result {
                let text = e.to_string();
                assert!(!text.is_empty() && !text.contains('\n'), "{text}");
            }
            // MP3/ADTS sync words followed by noise may decode as (noise) frames; the
            // containers with headers must refuse.
            if i < 7 || i == 9 {
                assert!(
                    result.is_err(),
                    "magic {i} seed {seed}: {:?}",
                    result.map(|d| d.n_frames())
                );
            }
            assert!(
                allocs.largest < 8 * MIB,
                "magic {i} seed {seed}: {allocs:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Truncating and mutating any fixture never panics and never allocates more than the
    /// harness's bound (crate::harness::audio_decode, shared with the fuzz target).
    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..64,
        cut in 0.0f64..1.0,
        flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..12),
    ) {
        let files = crate::harness::audio_decode::seed_files();
        let mut bytes = std::fs::read(&files[which % files.len()]).unwrap();
        let n = bytes.len();
        for (at, x) in flips {
            let i = ((at * n as f64) as usize).min(n - 1);
            bytes[i] ^= x;
        }
        bytes.truncate(((cut * 1.2).min(1.0) * n as f64) as usize);
        let ((), allocs) = measure_allocs(|| crate::harness::audio_decode::run(&bytes));
        prop_assert!(
            allocs.largest <= crate::harness::audio_decode::MAX_SINGLE_ALLOC,
            "{allocs:?}"
        );
    }
}

#[test]
fn alac_frame_length_from_a_flipped_byte_allocates_nothing_large() {
    // Found by `mutated_fixtures_never_panic`: one bit flipped in the high byte of the ALAC
    // cookie's frameLength (4096 -> 16781312) made Symphonia's ALAC decoder allocate 64 MiB
    // of packet buffers. Refused by the MP4 precheck.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/alac24_48k_mono.m4a"
    );
    let mut bytes = std::fs::read(path).unwrap();
    let cookie = bytes
        .windows(8)
        .position(|w| w == b"\0\0\0\x24alac")
        .expect("the 36-byte ALAC cookie");
    bytes[cookie + 12] ^= 1;
    assert_malformed_small(
        &bytes,
        Some(AudioFormat::Mp4),
        &["16781312 frames per packet"],
    );
}

#[test]
fn fuzz_finding_mp4_stts_overflow_is_a_typed_error() {
    // Found by fuzzing audio_decode: an M4A whose `stts` durations overflow Symphonia 0.5.5's
    // u64 sum (stts.rs:98, "attempt to add with overflow"): a panic where overflow checks are
    // on (debug builds, the fuzzer), a wrapped sum in release. Caught either way: a typed error
    // or a decode, never a panic out of `decode`.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-mp4-stts-overflow.m4a"
    );
    let bytes = std::fs::read(path).unwrap();
    match decode::decode_bytes(&bytes) {
        Err(e) => assert!(!e.to_string().contains('\n')),
        Ok(d) => assert!(d.n_channels() >= 1),
    }
    crate::harness::audio_decode::run(&bytes);
}

#[test]
fn fuzz_finding_flac_comment_length_allocates_nothing_large() {
    // Found by fuzzing audio_decode: a FLAC VORBIS_COMMENT field declaring ~1.27 GB, which
    // Symphonia 0.5.5 allocates before reading. Refused by the decoder's precheck.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-flac-comment-1gb.flac"
    );
    let bytes = std::fs::read(path).unwrap();
    assert_malformed_small(&bytes, Some(AudioFormat::Flac), &["Vorbis comment"]);
    // The same lie in an Ogg Vorbis comment packet.
    let mut ogg = fixture("vorbis_22k_mono.ogg");
    let at = ogg.windows(7).position(|w| w == b"\x03vorbis").unwrap() + 7;
    ogg[at..at + 4].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    let (result, allocs) = measure_allocs(|| decode::decode_bytes(&ogg));
    assert!(
        matches!(
            result,
            Err(DecodeError::Malformed {
                format: AudioFormat::Ogg,
                ..
            })
        ),
        "{:?}",
        result.map(|d| d.n_frames())
    );
    assert!(allocs.largest < MIB, "{allocs:?}");
}

/// The payload offset of the first box of type `kind` (found by its type bytes).
fn box_body(bytes: &[u8], kind: &[u8; 4]) -> usize {
    bytes.windows(4).position(|w| w == kind).expect("box") + 4
}

/// Decodes `bytes` as a file, with `decode_file` and `AudioReader::open`, and from memory,
/// expecting `Malformed { format: Mp4 }` whose reason contains every needle, with no
/// allocation of a MiB or more.
fn assert_mp4_refused(bytes: &[u8], needles: &[&str]) {
    assert_malformed_small(bytes, Some(AudioFormat::Mp4), needles);
    let dir = tempfile::tempdir().unwrap();
    let (path, err) = decode_err(dir.path(), "hostile.m4a", bytes);
    assert_message(&err, &path, "malformed mp4 file: ");
    assert_message(&err, &path, needles[0]);
    let (opened, allocs) = measure_allocs(|| AudioReader::open(&path));
    let err = opened.expect_err("AudioReader::open must refuse it");
    assert_message(&err, &path, needles[0]);
    assert!(allocs.largest < MIB, "{allocs:?}");
}

#[test]
fn fuzz_finding_mp4_sample_size_allocates_nothing_large() {
    // Found by fuzzing audio_decode (third finding): a 15 KB M4A whose `stsz` gives every
    // sample 64 MiB (constant size 0x04000000, 2 samples); Symphonia 0.5.5's
    // IsoMp4Reader::next_packet allocates a sample's size before reading it. Refused by the
    // MP4 precheck (decode/mp4_check.rs), for decode_bytes, decode_file and AudioReader.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-mp4-stsz-64mb.m4a"
    );
    let bytes = std::fs::read(path).unwrap();
    assert_mp4_refused(
        &bytes,
        &[
            "stsz box at byte 14730",
            "constant sample size of 67108864 bytes",
            "14876 bytes",
        ],
    );
    crate::harness::audio_decode::run(&bytes);
}

#[test]
fn mp4_table_counts_and_sizes_beyond_the_file_are_refused() {
    let good = fixture("aac_44k_stereo.m4a");
    // stsz sample_count 2^30 (4 GiB of entries for Symphonia's Vec::with_capacity).
    let mut bytes = good.clone();
    let at = box_body(&bytes, b"stsz");
    assert_eq!(&bytes[at + 4..at + 8], &[0, 0, 0, 0], "variable sizes");
    bytes[at + 8..at + 12].copy_from_slice(&(1u32 << 30).to_be_bytes());
    assert_mp4_refused(&bytes, &["stsz box", "1073741824 entries of 4 bytes"]);
    // One variable sample size beyond the file.
    let mut bytes = good.clone();
    bytes[at + 12..at + 16].copy_from_slice(&0x0400_0000u32.to_be_bytes());
    assert_mp4_refused(&bytes, &["stsz box", "sample size of 67108864 bytes"]);
    // Chunk offsets, chunk runs, durations.
    for (kind, entry) in [(b"stco", 4), (b"stsc", 12), (b"stts", 8)] {
        let mut bytes = good.clone();
        let at = box_body(&bytes, kind);
        bytes[at + 4..at + 8].copy_from_slice(&0xFFFF_FFFFu32.to_be_bytes());
        let what = format!("4294967295 entries of {entry} bytes");
        assert_mp4_refused(&bytes, &[std::str::from_utf8(kind).unwrap(), &what]);
    }
    // An esds descriptor longer than its box (Symphonia allocates the codec configuration).
    let mut bytes = good.clone();
    // (ffmpeg writes descriptor lengths in 4 bytes: DecoderSpecificInfo is 05 80 80 80 len.)
    let at = box_body(&bytes, b"esds");
    let tag5 = at
        + bytes[at..]
            .windows(4)
            .position(|w| w == [5, 0x80, 0x80, 0x80])
            .unwrap();
    bytes[tag5 + 1..tag5 + 5].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]);
    assert_mp4_refused(
        &bytes,
        &["esds box", "declares 268435455 bytes but 5 are left"],
    );
    // A child box larger than its parent (hdlr, read whole by Symphonia).
    let mut bytes = good.clone();
    let at = box_body(&bytes, b"hdlr") - 8;
    bytes[at..at + 4].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    assert_mp4_refused(&bytes, &["hdlr box", "1073741824 bytes"]);
}

/// `ID3` + version + flags + syncsafe size, then `body`.
fn id3_tag(version: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len() as u32;
    let mut t = vec![b'I', b'D', b'3', version, 0, flags];
    t.extend([
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ]);
    t.extend_from_slice(body);
    t
}

#[test]
fn fuzz_finding_id3_frame_size_allocates_nothing_large() {
    // Found by fuzzing audio_decode (fourth finding): a 35-byte ID3v2.4 tag before an MP3
    // frame whose TSSE frame declares 110 MB (syncsafe 0x34DAC38B); Symphonia 0.5.5's ID3v2
    // reader allocates a frame before reading it. Refused by the ID3v2 precheck
    // (decode/id3_check.rs), for every format.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-mp3-id3-frame-110mb.mp3"
    );
    let bytes = std::fs::read(path).unwrap();
    let (result, allocs) = measure_allocs(|| decode::decode_bytes(&bytes));
    match result {
        Err(DecodeError::Malformed {
            format: AudioFormat::Mp3,
            reason,
        }) => assert!(
            reason.contains("ID3v2.4 tag at byte 0 has a TSSE frame of 110535051 bytes"),
            "{reason}"
        ),
        other => panic!("{:?}", other.map(|d| d.n_frames())),
    }
    assert!(allocs.largest < MIB, "{allocs:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id3.mp3");
    std::fs::write(&path, &bytes).unwrap();
    let (opened, allocs) = measure_allocs(|| AudioReader::open(&path));
    assert_message(&opened.unwrap_err(), &path, "TSSE frame of 110535051 bytes");
    assert!(allocs.largest < MIB, "{allocs:?}");
    crate::harness::audio_decode::run(&bytes);

    // The same lie in v2.3 (plain u32 sizes: 4 GB), v2.2 (24-bit), an unsynchronised v2.3
    // tag, a second tag after the first, and before a FLAC stream; a true tag still decodes.
    let mp3 = fixture("mp3_8k_mono.mp3");
    let start = if mp3.starts_with(b"ID3") {
        10 + (mp3[6..10]
            .iter()
            .fold(0usize, |v, &b| (v << 7) | usize::from(b & 0x7F)))
    } else {
        0
    };
    let audio = &mp3[start..];
    let v3 = |size: u32| [&b"TIT2"[..], &size.to_be_bytes(), &[0, 0], b"\0ab"].concat();
    let ok = [id3_tag(3, 0, &v3(3)), audio.to_vec()].concat();
    let decoded = decode::decode_bytes(&ok);
    assert!(decoded.is_ok(), "{:?}", decoded.map(|d| d.n_frames()));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            [id3_tag(3, 0, &v3(0xFFFF_FFF0)), audio.to_vec()].concat(),
            "ID3v2.3 tag at byte 0 has a TIT2 frame of 4294967280 bytes",
        ),
        (
            [
                id3_tag(2, 0, &[&b"TT2"[..], &[0xFF, 0xFF, 0xFF], b"\0ab"].concat()),
                audio.to_vec(),
            ]
            .concat(),
            "ID3v2.2 tag at byte 0 has a TT2 frame of 16777215 bytes",
        ),
        (
            [id3_tag(3, 0x80, &v3(0x0100_0000)), audio.to_vec()].concat(),
            "ID3v2.3 tag at byte 0 has a frame of 16777216 bytes",
        ),
        (
            [
                id3_tag(3, 0, &v3(3)),
                id3_tag(3, 0, &v3(0x0800_0000)),
                audio.to_vec(),
            ]
            .concat(),
            "ID3v2.3 tag at byte 23 has a TIT2 frame of 134217728 bytes",
        ),
        (
            [
                id3_tag(3, 0, &v3(0x0800_0000)),
                fixture("flac16_8k_mono.flac"),
            ]
            .concat(),
            "ID3v2.3 tag at byte 0 has a TIT2 frame of 134217728 bytes",
        ),
    ];
    for (bytes, needle) in cases {
        assert_malformed_small(&bytes, None, &[needle]);
    }
}

#[test]
fn fuzz_finding_caf_chunk_sizes_allocate_nothing_large() {
    // Found by fuzzing audio_decode (fifth finding): a 527-byte CAF (ALAC) whose `kuki` chunk
    // declares 0x0500000000000080 bytes, which Symphonia 0.5.5 allocates before reading.
    // Refused by the CAF precheck (decode/caf_check.rs), as are packet-table counts and
    // sizes and PCM frame sizes beyond the file.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-caf-kuki-huge.caf"
    );
    let regression = std::fs::read(path).unwrap();
    // Found again by the 2026-12-08 run: a 92-byte CAF whose `chan` chunk declares 2^48 bytes,
    // so a walk by chunk sizes never reached the `kuki` chunk that Symphonia reads next.
    let hidden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-caf-chan-hides-kuki.caf"
    ))
    .unwrap();
    let named = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-caf-chunk-name-newline.caf"
    ))
    .unwrap();
    let alac = fixture("unsupported_alac_22k_mono.caf");
    let at = alac.windows(4).position(|w| w == b"pakt").unwrap();
    let mut count = alac.clone();
    count[at + 12..at + 20].copy_from_slice(&(1i64 << 40).to_be_bytes());
    let mut size = alac.clone();
    // The table's 4 bytes as one size varint: 2^28 - 1.
    size[at + 36..at + 40].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]);
    let mut pcm = fixture("caf16_48k_stereo.caf");
    let d = pcm.windows(4).position(|w| w == b"desc").unwrap() + 12;
    pcm[d + 16..d + 20].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    let cases = [
        (
            regression,
            "the kuki chunk at byte 76 declares 360287970189639808 bytes",
        ),
        (hidden, "the chan chunk at byte 52 declares"),
        // Found by the next run: a chunk name with a newline byte, quoted escaped.
        (
            named,
            "the \\xd1_\\n\\x8d chunk at byte 76 declares a negative size",
        ),
        (count, "declares 1099511627776 packets but its table holds"),
        (
            size,
            "packet 0 of the pakt chunk at byte 7598 declares 268435455 bytes",
        ),
        (pcm, "1073741824 bytes per PCM frame for 2 channel(s)"),
    ];
    for (bytes, needle) in cases {
        assert_malformed_small(&bytes, Some(AudioFormat::Caf), &[needle]);
        crate::harness::audio_decode::run(&bytes);
    }
}

#[test]
fn flac_picture_lengths_allocate_nothing_large() {
    // Symphonia 0.5.5 allocates a PICTURE block's MIME type, description and data at their
    // declared u32 lengths before reading them (seen in its code after the findings above,
    // then found by fuzzing audio_decode, sixth finding: a 5.7 KB FLAC asking for 2.76 GB):
    // refused by the FLAC precheck.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-flac-picture-2gb.flac"
    );
    let regression = std::fs::read(path).unwrap();
    assert_malformed_small(&regression, Some(AudioFormat::Flac), &["a PICTURE block's"]);
    crate::harness::audio_decode::run(&regression);
    // Seventh finding: the same kind of lie (a Vorbis comment) in a FLAC stream behind an ID3v2
    // tag, which the FLAC checks did not see (the content sniffs as MP3; Symphonia's probe
    // reads past the tag): the prechecks now also run on the stream after leading tags.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audio_decode/regression-id3-then-flac-comment.flac"
    );
    let behind_id3 = std::fs::read(path).unwrap();
    assert_malformed_small(&behind_id3, Some(AudioFormat::Flac), &["Vorbis comment"]);
    crate::harness::audio_decode::run(&behind_id3);
    let flac = fixture("flac16_8k_mono.flac");
    let streaminfo_end = 4 + 4 + 34;
    for (field, needle) in [(0, "MIME type of 4294967280"), (1, "data of 4294967280")] {
        let mut picture = Vec::new();
        picture.extend(3u32.to_be_bytes()); // front cover
        let mime: u32 = if field == 0 { 0xFFFF_FFF0 } else { 9 };
        picture.extend(mime.to_be_bytes());
        picture.extend(b"image/png");
        picture.extend(0u32.to_be_bytes()); // description
        picture.extend([0u8; 16]); // width, height, depth, colours
        picture.extend(0xFFFF_FFF0u32.to_be_bytes());
        picture.extend([0u8; 8]);
        let mut bytes = flac[..streaminfo_end].to_vec();
        let last = bytes[4] & 0x80;
        bytes[4] &= 0x7F;
        let n = picture.len() as u32;
        bytes.extend([6 | last, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
        bytes.extend(&picture);
        bytes.extend(&flac[streaminfo_end..]);
        assert_malformed_small(&bytes, Some(AudioFormat::Flac), &[needle]);
    }
}
