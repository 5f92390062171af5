//! Structured edits of a JSON card driven by fuzz bytes: each 10-byte record picks a field
//! from a list and a kind of value (huge, negative, fractional, null, an array) for it, so
//! that a fuzzer reaches the checks behind the JSON parser instead of breaking the syntax.
//! Shared by the fuzz targets (through `#[path]`) and the integration tests' property tests.

use serde_json::{Value, json};

/// Applies the edits encoded in `bytes` to `card`, pointing into `fields` (JSON pointers).
pub fn apply(card: &mut Value, fields: &[&str], bytes: &[u8]) {
    for record in bytes.chunks_exact(10) {
        let field = fields[usize::from(record[0]) % fields.len()];
        let raw: [u8; 8] = record[2..10].try_into().unwrap_or([0; 8]);
        let value = value_of(record[1], raw);
        set(card, field, value);
    }
}

/// A value of the kind `kind` made from `raw`.
fn value_of(kind: u8, raw: [u8; 8]) -> Value {
    let n = u64::from_le_bytes(raw);
    match kind % 8 {
        0 => json!(n),
        1 => json!(raw[0]),
        2 => json!(-(i64::from(raw[0])) - 1),
        3 => serde_json::Number::from_f64(f64::from_bits(n)).map_or(Value::Null, Value::Number),
        4 => Value::Null,
        5 => json!(vec![u64::from(raw[0]); usize::from(raw[1] % 8)]),
        6 => json!(f64::from(raw[0]) / 16.0),
        _ => json!(1u64 << (raw[0] % 64)),
    }
}

/// Sets the field at `pointer`, creating it in its parent object when it is missing.
fn set(card: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = card.pointer_mut(pointer) {
        *slot = value;
        return;
    }
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    if let Some(Value::Object(map)) = card.pointer_mut(parent) {
        map.insert(key.to_string(), value);
    }
}

/// `base` with `patch[4..]` written over it from the offset in `patch[..4]` (wrapping): the
/// size stays, so the damaged file gets past size checks to the parser behind them.
pub fn overlay(base: &[u8], patch: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    let (head, body) = patch.split_at(patch.len().min(4));
    let mut offset = head.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
    for &b in body {
        if out.is_empty() {
            break;
        }
        offset %= out.len();
        out[offset] = b;
        offset += 1;
    }
    out
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
