//! Content-based format detection: the first bytes decide, never the file name.

use super::AudioFormat;

/// Bytes [`sniff`] looks at: enough for every signature, and for an ID3v2 tag's header.
pub const SNIFF_BYTES: usize = 16;

/// The audio format whose signature starts `head` (the first bytes of a file; 12 are enough,
/// fewer when the file is shorter), or `None` for anything else.
///
/// Signatures: `RIFF`/`RF64` + `WAVE` (WAV), `fLaC` (FLAC), `ID3` or an MPEG layer III frame
/// sync (MP3), an ADTS frame sync (raw AAC), `OggS` (Ogg), `ftyp` at byte 4 (MP4/M4A),
/// `FORM` + `AIFF`/`AIFC` (AIFF) and `caff` (CAF).
///
/// ```
/// use sonotag_audio::decode::{sniff, AudioFormat};
/// assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some(AudioFormat::Flac));
/// assert_eq!(sniff(b"Dear diary"), None);
/// ```
pub fn sniff(head: &[u8]) -> Option<AudioFormat> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if (at(0, b"RIFF") || at(0, b"RF64")) && at(8, b"WAVE") {
        return Some(AudioFormat::Wav);
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some(AudioFormat::Aiff);
    }
    let simple: [(usize, &[u8], AudioFormat); 5] = [
        (0, b"fLaC", AudioFormat::Flac),
        (0, b"OggS", AudioFormat::Ogg),
        (0, b"caff", AudioFormat::Caf),
        (4, b"ftyp", AudioFormat::Mp4),
        (0, b"ID3", AudioFormat::Mp3),
    ];
    if let Some(&(_, _, format)) = simple.iter().find(|(o, m, _)| at(*o, m)) {
        return Some(format);
    }
    // MPEG audio frame sync (11 set bits), then version (2 bits, 01 reserved) and layer
    // (2 bits): layer 00 is ADTS AAC, 01 is layer III.
    match head {
        [0xFF, b, ..] if b & 0xF6 == 0xF0 => Some(AudioFormat::Aac),
        [0xFF, b, ..] if b & 0xE0 == 0xE0 && b & 0x18 != 0x08 && b & 0x06 == 0x02 => {
            Some(AudioFormat::Mp3)
        }
        _ => None,
    }
}

/// What the first bytes of an unrecognised file look like, for [`super::DecodeError::UnknownFormat`]:
/// a named format (`"WavPack"`), text, or binary data. Never quotes the bytes.
pub(crate) fn describe(head: &[u8]) -> String {
    if let Some(name) = crate::wav::sniff_name(head) {
        return name.to_string();
    }
    if head.is_empty() {
        return "nothing (0 bytes)".into();
    }
    // Text: valid UTF-8 (a multi-byte character may be cut at the end of `head`) without
    // control characters other than whitespace.
    let valid = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match valid {
        Some(s) if s.chars().all(|c| !c.is_control() || c.is_whitespace()) => "text".into(),
        _ => "binary data of no known audio format".into(),
    }
}

/// The format a file name's extension promises, for error messages only.
pub(crate) fn named_format(path: &std::path::Path) -> Option<String> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let name = match ext.as_str() {
        "wav" | "wave" => "WAV",
        "flac" => "FLAC",
        "mp3" => "MP3",
        "ogg" | "oga" => "Ogg",
        "m4a" | "mp4" => "MP4/M4A",
        "aac" => "AAC",
        "aif" | "aiff" | "aifc" => "AIFF",
        "caf" => "CAF",
        "opus" => "Opus",
        _ => return None,
    };
    Some(format!("{name} (.{ext})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some(AudioFormat::Wav));
        assert_eq!(sniff(b"RF64\xff\xff\xff\xffWAVE"), Some(AudioFormat::Wav));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(sniff(b"FORM\0\0\0\0AIFC"), Some(AudioFormat::Aiff));
        assert_eq!(sniff(b"FORM\0\0\0\0ILBM"), None);
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some(AudioFormat::Mp4));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some(AudioFormat::Mp3));
        assert_eq!(sniff(&[0xFF, 0xF3, 0x90, 0x64]), Some(AudioFormat::Mp3));
        assert_eq!(sniff(&[0xFF, 0xE3, 0x90, 0x64]), Some(AudioFormat::Mp3));
        assert_eq!(sniff(&[0xFF, 0xFD, 0x90, 0x64]), None, "layer II");
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some(AudioFormat::Aac));
        assert_eq!(sniff(&[0xFF, 0xF9, 0x50, 0x80]), Some(AudioFormat::Aac));
        assert_eq!(sniff(b"caff\0\x01"), Some(AudioFormat::Caf));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF]), None);
    }

    #[test]
    fn descriptions_never_quote() {
        assert_eq!(describe(b"Shopping list\n"), "text");
        assert_eq!(describe(b"wvpk\0\0\0\0"), "WavPack");
        assert_eq!(
            describe(&[0, 1, 2, 3, 200]),
            "binary data of no known audio format"
        );
    }
}
