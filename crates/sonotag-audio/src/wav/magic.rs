//! Recognising common non-WAV formats by their magic number, so that "not a WAV file" can say
//! what the file looks like without quoting any of its bytes.

/// The format whose signature starts `header` (the first 12 bytes of a stream, or fewer if
/// the stream is shorter), or `None` when it is none of the common audio/container formats.
pub(crate) fn sniff(header: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| header.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"RIFF") {
        return Some(match header.get(8..12) {
            Some(b"AVI ") => "an AVI video",
            Some(b"WEBP") => "a WebP image",
            Some(b"RMID") => "a RIFF MIDI file",
            _ => "a RIFF file of another kind than WAVE",
        });
    }
    const SIGNATURES: [(usize, &[u8], &str); 13] = [
        (0, b"fLaC", "FLAC"),
        (0, b"OggS", "Ogg (Vorbis/Opus/FLAC)"),
        (0, b"ID3", "MP3 (ID3 tag)"),
        (0, b"FORM", "AIFF"),
        (0, b"caff", "Core Audio (CAF)"),
        (0, b".snd", "Sun/NeXT AU"),
        (0, b"wvpk", "WavPack"),
        (0, b"MAC ", "Monkey's Audio (APE)"),
        (0, b"#!AMR", "AMR"),
        (0, b"MThd", "MIDI"),
        (0, b"riff\x2e\x91\xcf\x11", "Sony Wave64 (W64)"),
        (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
        (4, b"ftyp", "MP4/M4A"),
    ];
    if let Some(&(_, _, name)) = SIGNATURES.iter().find(|(o, m, _)| at(*o, m)) {
        return Some(name);
    }
    // MPEG audio frame sync: 11 set bits; the layer bits tell ADTS AAC (00) from MP1-3.
    match header {
        [0xFF, b, ..] if b & 0xE0 == 0xE0 && b & 0x06 == 0 => Some("AAC (ADTS)"),
        [0xFF, b, ..] if b & 0xE0 == 0xE0 => Some("MP3 (MPEG audio)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn common_formats_are_named() {
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("FLAC"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("Ogg (Vorbis/Opus/FLAC)"));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some("MP3 (ID3 tag)"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some("MP3 (MPEG audio)"));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some("AAC (ADTS)"));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some("MP4/M4A"));
        assert_eq!(sniff(b"RIFF\x04\0\0\0AVI "), Some("an AVI video"));
    }

    #[test]
    fn text_and_short_inputs_are_not_named() {
        assert_eq!(sniff(b"Shopping list"), None);
        assert_eq!(sniff(b"hi"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF]), None);
    }
}
