//! Fuzz target: the `sonotag metrics` report from two CSV files
//! (`sonotag_metrics::metrics_report_from_csv`).
//!
//! Input layout: 8 bytes of bins (little-endian u64), 4 bytes of threshold (f32 bits), 1 byte
//! whose low bit is `logits`, then the scores CSV, a 0xFF byte (never in UTF-8), and the
//! targets CSV (without a 0xFF byte, both files get the same bytes). The harness is shared with
//! the property tests of sonotag-metrics: see
//! `crates/sonotag-metrics/tests/harness/metrics_csv.rs` for the property checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sonotag-metrics/tests/harness/metrics_csv.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
