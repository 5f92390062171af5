//! Bad and unusual WAV input: typed errors that name the file, and tolerated oddities.

use crate::common::{fmt16, pcm16, riff};
use sonotag_audio::wav::{self, SampleEncoding};
use sonotag_audio::{AudioError, WavError};

fn decode(bytes: &[u8]) -> Result<wav::DecodedWav, WavError> {
    wav::decode_bytes(bytes)
}

#[test]
fn file_level_errors_name_the_file_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wav");
    let err = wav::decode_file(&missing).unwrap_err();
    assert!(matches!(err, AudioError::NotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("nope.wav") && text.contains("no such file") && !text.contains('\n'),
        "{text}"
    );

    let err = wav::decode_file(dir.path()).unwrap_err();
    assert!(matches!(err, AudioError::IsDirectory { .. }), "{err:?}");

    let txt = dir.path().join("notes.wav");
    std::fs::write(&txt, "hello, I am not audio at all").unwrap();
    let err = wav::decode_file(&txt).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Wav {
                source: WavError::NotWav(_),
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&txt.display().to_string()) && text.contains("not a WAV file"),
        "{text}"
    );

    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        wav::decode_file(&empty),
        Err(AudioError::Wav {
            source: WavError::Empty,
            ..
        })
    ));
}

#[test]
fn unsupported_encodings_are_refused_by_name() {
    let data = vec![0u8; 64];
    let depths: Vec<(Vec<u8>, &str, u16)> = vec![
        (fmt16(1, 1, 16_000, 12), "integer PCM", 12),
        (fmt16(3, 1, 16_000, 64), "IEEE float", 64),
        (fmt16(3, 1, 16_000, 16), "IEEE float", 16),
    ];
    for (fmt, format, bits) in depths {
        let err = decode(&riff(&[(b"fmt ", fmt), (b"data", data.clone())])).unwrap_err();
        match &err {
            WavError::UnsupportedBitDepth { format: f, bits: b } => {
                assert_eq!((*f, *b), (format, bits));
                assert!(
                    err.to_string().contains(&format!("{bits}-bit {format}")),
                    "{err}"
                );
            }
            other => panic!("{bits}-bit {format}: got {other:?}"),
        }
    }
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (fmt16(2, 1, 16_000, 4), "ADPCM"),
        (fmt16(7, 1, 8_000, 8), "mu-law"),
    ];
    for (fmt, what) in cases {
        let err = decode(&riff(&[(b"fmt ", fmt), (b"data", data.clone())])).unwrap_err();
        match &err {
            WavError::Unsupported(msg) => assert!(msg.contains(what), "{msg} vs {what}"),
            other => panic!("{what}: got {other:?}"),
        }
    }
    // WAVE_FORMAT_EXTENSIBLE with a sub-format that is neither PCM nor float.
    let mut ext = fmt16(0xFFFE, 1, 16_000, 16);
    ext.extend_from_slice(&22u16.to_le_bytes());
    ext.extend_from_slice(&16u16.to_le_bytes());
    ext.extend_from_slice(&4u32.to_le_bytes());
    ext.extend_from_slice(&[
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B,
        0x71,
    ]);
    assert!(matches!(
        decode(&riff(&[(b"fmt ", ext), (b"data", data)])),
        Err(WavError::Unsupported(_))
    ));
    assert!(matches!(
        decode(b"RIFX\x10\0\0\0WAVEfmt "),
        Err(WavError::Unsupported(_))
    ));
}

#[test]
fn header_values_that_cannot_be_audio() {
    let data = pcm16(&[1, 2, 3, 4]);
    let zero_ch = decode(&riff(&[
        (b"fmt ", fmt16(1, 0, 16_000, 16)),
        (b"data", data.clone()),
    ]));
    assert!(matches!(zero_ch, Err(WavError::ZeroChannels)));
    let zero_sr = decode(&riff(&[
        (b"fmt ", fmt16(1, 1, 0, 16)),
        (b"data", data.clone()),
    ]));
    assert!(matches!(zero_sr, Err(WavError::ZeroSampleRate)));
    let no_fmt = decode(&riff(&[(b"data", data.clone())]));
    assert!(matches!(
        no_fmt,
        Err(WavError::MissingChunk { chunk: "fmt " })
    ));
    let no_data = decode(&riff(&[(b"fmt ", fmt16(1, 1, 16_000, 16))]));
    assert!(matches!(
        no_data,
        Err(WavError::MissingChunk { chunk: "data" })
    ));
    let mut short_fmt = fmt16(1, 1, 16_000, 16);
    short_fmt.truncate(12);
    assert!(matches!(
        decode(&riff(&[(b"fmt ", short_fmt), (b"data", data.clone())])),
        Err(WavError::Malformed(_))
    ));
    let mut bad_align = fmt16(1, 2, 16_000, 16);
    bad_align[12] = 3;
    assert!(matches!(
        decode(&riff(&[(b"fmt ", bad_align), (b"data", data)])),
        Err(WavError::Malformed(_))
    ));
    assert!(matches!(
        decode(b"RIFF\x04\0\0\0AVI "),
        Err(WavError::NotWav(_))
    ));
}

#[test]
fn truncated_data_is_refused() {
    let good = riff(&[
        (b"fmt ", fmt16(1, 1, 16_000, 16)),
        (b"data", pcm16(&[7; 1000])),
    ]);
    assert_eq!(decode(&good).unwrap().n_frames(), 1000);
    let cut = &good[..good.len() - 501];
    match decode(cut) {
        Err(WavError::Truncated { claimed, available }) => {
            assert_eq!((claimed, available), (2000, 1499));
        }
        other => panic!("{other:?}"),
    }
    // A chunk before `data` running past the end of the file.
    let mut list = riff(&[(b"fmt ", fmt16(1, 1, 16_000, 16)), (b"LIST", vec![0; 10])]);
    list.truncate(list.len() - 4);
    assert!(
        matches!(decode(&list), Err(WavError::TruncatedHeader { ref part, needed: 10, available: 6, .. }) if part == "\"LIST\" chunk"),
        "{:?}",
        decode(&list)
    );
}

#[test]
fn non_finite_float_samples_are_refused() {
    let mut fmt = fmt16(3, 2, 16_000, 32);
    fmt.extend_from_slice(&0u16.to_le_bytes()); // 18-byte WAVEFORMATEX, cbSize 0
    let samples = [0.5f32, -0.5, 0.25, f32::NAN, 1.0, 2.0];
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    let err = decode(&riff(&[
        (b"fmt ", fmt),
        (b"fact", 3u32.to_le_bytes().to_vec()),
        (b"data", data),
    ]))
    .unwrap_err();
    assert!(
        matches!(
            err,
            WavError::NonFinite {
                frame: 1,
                channel: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("frame 1, channel 1"), "{err}");
}

#[test]
fn tolerated_layouts_decode_correctly() {
    let codes = [-32768i16, 32767, 0, -1, 1234];
    let want: Vec<f32> = codes.iter().map(|&c| f32::from(c) / 32768.0).collect();
    // Odd-sized chunk with its pad byte before `data`, a long `fact`, a wrong RIFF size,
    // `data` before `fmt `, a trailing partial frame and junk after the data.
    let odd = riff(&[
        (b"fmt ", fmt16(1, 1, 16_000, 16)),
        (b"LIST", b"INFOISFT\x03\0\0\0ab\0".to_vec()), // 15 bytes + pad
        (b"fact", vec![5, 0, 0, 0, 9, 9, 9, 9]),
        (b"data", pcm16(&codes)),
    ]);
    assert_eq!(decode(&odd).unwrap().channel(0), want.as_slice());
    let mut wrong_size = odd.clone();
    wrong_size[4..8].copy_from_slice(&9_999_999u32.to_le_bytes());
    assert_eq!(decode(&wrong_size).unwrap().channel(0), want.as_slice());
    let data_first = riff(&[(b"data", pcm16(&codes)), (b"fmt ", fmt16(1, 1, 16_000, 16))]);
    assert_eq!(decode(&data_first).unwrap().channel(0), want.as_slice());
    let mut partial = pcm16(&codes);
    partial.push(0x11);
    let partial = riff(&[
        (b"fmt ", fmt16(1, 1, 16_000, 16)),
        (b"data", partial),
        (b"junk", vec![1; 3]),
    ]);
    assert_eq!(decode(&partial).unwrap().channel(0), want.as_slice());
    // Any channel count; mono downmix is the mean.
    let six = riff(&[
        (b"fmt ", fmt16(1, 6, 48_000, 16)),
        (b"data", pcm16(&[6, 0, 0, 0, 0, 0, 12, 12, 12, 12, 12, 12])),
    ]);
    let w = decode(&six).unwrap();
    assert_eq!(
        (w.n_channels(), w.n_frames(), w.encoding()),
        (6, 2, SampleEncoding::PcmI16)
    );
    assert_eq!(w.to_mono(), vec![1.0 / 32768.0, 12.0 / 32768.0]);
    // Zero frames is a valid (empty) file.
    let empty = riff(&[(b"fmt ", fmt16(1, 1, 16_000, 16)), (b"data", vec![])]);
    assert_eq!(decode(&empty).unwrap().n_frames(), 0);
}

#[test]
fn hound_written_files_round_trip() {
    let x: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.01).sin() * 0.9).collect();
    let mut pcm = std::io::Cursor::new(Vec::new());
    wav::write_pcm16(&mut pcm, 22_050, &x).unwrap();
    let back = wav::decode_bytes(pcm.get_ref()).unwrap();
    assert_eq!(back.sample_rate(), 22_050);
    for (a, b) in x.iter().zip(back.channel(0)) {
        assert!((a - b).abs() <= 0.5 / 32768.0 + 1e-7);
    }
    let mut flt = std::io::Cursor::new(Vec::new());
    wav::write_f32(&mut flt, 8_000, &x).unwrap();
    let back = wav::decode_bytes(flt.get_ref()).unwrap();
    assert_eq!(
        (back.encoding(), back.channel(0)),
        (SampleEncoding::Float32, x.as_slice())
    );
}
