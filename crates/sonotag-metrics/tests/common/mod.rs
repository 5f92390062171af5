//! Shared helpers for the integration tests: fixture loading and tolerant comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The golden fixtures folder (`tests/fixtures` in this package); panics (fails the test) if it
/// is missing.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    assert!(
        dir.is_dir(),
        "fixture folder {} is missing: the fixture tests cannot run",
        dir.display()
    );
    dir
}

/// Every `*.json` case in a fixture subfolder, sorted; fails if there is none.
pub fn cases(sub: &str) -> Vec<(String, Value)> {
    let dir = fixtures_dir().join(sub);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read fixture");
            let value: Value = serde_json::from_str(&text).expect("parse fixture");
            out.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                value,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no fixture cases in {}", dir.display());
    out
}

pub fn f64_of(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub fn vec_f32(v: &Value) -> Vec<f32> {
    flatten(v)
        .into_iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

pub fn vec_f64(v: &Value) -> Vec<f64> {
    flatten(v)
        .into_iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn vec_opt_f64(v: &Value) -> Vec<Option<f64>> {
    flatten(v).into_iter().map(|x| x.as_f64()).collect()
}

pub fn vec_u8(v: &Value) -> Vec<u8> {
    flatten(v)
        .into_iter()
        .map(|x| {
            let f = x.as_f64().expect("number");
            assert!(f == 0.0 || f == 1.0, "target {f}");
            f as u8
        })
        .collect()
}

/// `[rows, cols]` of a nested list.
pub fn shape(v: &Value) -> (usize, usize) {
    let rows = v.as_array().expect("array");
    (rows.len(), rows[0].as_array().map_or(1, |r| r.len()))
}

fn flatten(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other],
    }
}

pub fn assert_close(what: &str, got: f64, expected: f64, abs: f64, rel: f64) {
    assert!(
        (got - expected).abs() <= abs + rel * expected.abs(),
        "{what}: got {got}, expected {expected} (diff {})",
        (got - expected).abs()
    );
}

pub fn assert_opt_close(what: &str, got: Option<f64>, expected: Option<f64>, tol: f64) {
    match (got, expected) {
        (Some(g), Some(e)) => assert_close(what, g, e, tol, 0.0),
        (None, None) => {}
        _ => panic!("{what}: got {got:?}, expected {expected:?}"),
    }
}
