//! Shared helpers for the integration tests: locating and reading the golden fixtures, WAV
//! byte builders, and the binary's allocation accounting (`alloc`).
#![allow(dead_code)]

pub mod alloc;

use std::path::PathBuf;

use serde_json::Value;

/// The golden fixtures folder (`tests/fixtures` in this package). Panics loudly when it is
/// missing so that fixture tests can never pass vacuously.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    assert!(
        dir.join("README.md").is_file(),
        "golden fixtures not found at {} (expected tests/fixtures in the package)",
        dir.display()
    );
    dir
}

/// All `*.json` files of a fixtures subfolder whose name starts with `prefix`, sorted.
pub fn cases(sub: &str, prefix: &str) -> Vec<PathBuf> {
    let dir = fixtures_dir().join(sub);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no {prefix}*.json cases in {}",
        dir.display()
    );
    out
}

/// Parses a JSON file.
pub fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON {}: {e}", path.display()))
}

/// A JSON array of numbers as f32 (fixtures store shortest round-trip f32 decimals).
pub fn f32_vec(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// A JSON array of numbers as f64.
pub fn f64_vec(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A JSON matrix (array of arrays) as rows of f32.
pub fn f32_matrix(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().expect("matrix").iter().map(f32_vec).collect()
}

/// A RIFF/WAVE file from raw chunks (id, body); odd bodies get their pad byte.
pub fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A 16-byte `fmt ` body.
pub fn fmt16(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block = channels * bits.div_ceil(8);
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    f.extend_from_slice(&block.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}

/// 16-bit little-endian PCM bytes of `codes`.
pub fn pcm16(codes: &[i16]) -> Vec<u8> {
    codes.iter().flat_map(|c| c.to_le_bytes()).collect()
}

/// A 16-bit PCM WAV of `frames` frames at `rate` Hz, sample `i` being `i * (seed | 1)`
/// (wrapping), with the header's byte rate wrapping like a careless writer's (the decoder does
/// not trust it).
pub fn wav_at(rate: u32, channels: u16, frames: usize, seed: u16) -> Vec<u8> {
    let block = channels * 2;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&rate.wrapping_mul(u32::from(block)).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    let data: Vec<u8> = (0..frames * usize::from(channels))
        .flat_map(|i| (i as u16).wrapping_mul(seed | 1).to_le_bytes())
        .collect();
    riff(&[(b"fmt ", fmt), (b"data", data)])
}
