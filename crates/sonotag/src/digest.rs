//! SHA-256 digests as lowercase hex: how model, checkpoint and cache files are named and
//! checked.

use sha2::{Digest, Sha256};

/// `bytes` as lowercase hex, two digits per byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 of `bytes`, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The name of a saved blob (weights, checkpoint state): `<stem>-<16 hex digits of its
/// SHA-256>-<8 random hex digits>.bpk`. The random part makes every save's file its own, so
/// that a writer beside it, which removes only the files named by the card it replaced, can
/// never remove a file this save is about to reference.
pub(crate) fn blob_name(stem: &str, sha256_hex: &str) -> String {
    let nonce: u32 = rand::random();
    format!("{stem}-{}-{nonce:08x}.bpk", &sha256_hex[..16])
}

/// Whether `name` is a file name [`blob_name`] gives for `stem` (or the older
/// `<stem>-<16 hex digits>.bpk`, without the random part).
pub(crate) fn is_blob_name(name: &str, stem: &str) -> bool {
    let is_hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let Some(rest) = name
        .strip_prefix(stem)
        .and_then(|n| n.strip_prefix('-'))
        .and_then(|n| n.strip_suffix(".bpk"))
    else {
        return false;
    };
    match rest.split_once('-') {
        Some((hash, nonce)) => is_hex(hash, 16) && is_hex(nonce, 8),
        None => is_hex(rest, 16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_are_recognised_and_distinct() {
        let sha = sha256_hex(b"weights");
        let (a, b) = (blob_name("weights", &sha), blob_name("weights", &sha));
        assert_ne!(a, b);
        assert!(is_blob_name(&a, "weights"), "{a}");
        assert!(!is_blob_name(&a, "model"), "{a}");
        assert!(is_blob_name("weights-0123456789abcdef.bpk", "weights"));
        for name in [
            "weights-0123456789abcde.bpk",
            "weights-0123456789abcdeg.bpk",
            "weights-0123456789abcdef-123.bpk",
            "model-0123456789abcdef.bpk",
            "../weights-0123456789abcdef.bpk",
            "sonotag.json",
        ] {
            assert!(!is_blob_name(name, "weights"), "{name}");
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn sha256_of_the_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
