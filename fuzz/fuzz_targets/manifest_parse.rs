//! Fuzz target: manifest CSV parsing (`sonotag::dataset::Manifest::parse`). The harness is
//! shared with the facade's property tests: see
//! `crates/sonotag/tests/harness/manifest_parse.rs` for the invariants checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/sonotag/tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::manifest_parse::run(data));
