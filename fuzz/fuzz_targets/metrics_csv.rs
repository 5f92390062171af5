//! Fuzz target: the `sonotag metrics` report from two CSV files
//! (`sonotag::metrics::metrics_report_from_csv`).
//!
//! Input layout: 8 bytes of bins (little-endian u64), 4 bytes of threshold (f32 bits), 1 byte
//! whose low bit is `logits`, then the scores CSV, a 0xFF byte (never in UTF-8), and the
//! targets CSV (without a 0xFF byte, both files get the same bytes). The outcome is a report
//! whose metrics are finite or `None`, or a one-line typed error; an error about a file names
//! it, and bins outside 1..=MAX_BINS are refused as such. The same harness runs as a proptest
//! in crates/sonotag-metrics/tests/csv_harness.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonotag::metrics::{MAX_BINS, MetricsError, ReportOptions, metrics_report_from_csv};

fuzz_target!(|data: &[u8]| {
    if data.len() < 13 {
        return;
    }
    let (head, body) = data.split_at(13);
    let bins = u64::from_le_bytes(head[..8].try_into().unwrap());
    let bins = usize::try_from(bins).unwrap_or(usize::MAX);
    let threshold = f32::from_bits(u32::from_le_bytes(head[8..12].try_into().unwrap()));
    let logits = head[12] & 1 == 1;
    let (scores, targets) = match body.iter().position(|&b| b == 0xFF) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, body),
    };
    let dir = tempfile::tempdir().unwrap();
    let (s, t) = (dir.path().join("scores.csv"), dir.path().join("targets.csv"));
    std::fs::write(&s, scores).unwrap();
    std::fs::write(&t, targets).unwrap();
    let options = ReportOptions {
        threshold,
        bins,
        logits,
    };
    match metrics_report_from_csv(&s, &t, &options) {
        Ok(r) => {
            let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
            for v in [
                r.roc_auc.macro_average,
                r.roc_auc.micro,
                r.roc_auc.weighted,
                r.average_precision.macro_average,
                r.average_precision.micro,
                Some(r.f1.macro_average),
                Some(r.f1.micro),
                Some(r.hamming_loss),
                r.ece,
                r.mce,
                r.brier,
            ] {
                assert!(finite(v), "non-finite metric in {r:?}");
            }
            let per_label = r.roc_auc.per_label.0.iter().chain(&r.average_precision.per_label.0);
            for (_, v) in per_label {
                assert!(finite(*v));
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains('\n'), "multi-line error: {text}");
            let names_a_file = text.contains("scores.csv") || text.contains("targets.csv");
            match e {
                MetricsError::OutOfRange { .. } => assert!(bins == 0 || bins > MAX_BINS),
                MetricsError::InvalidParameter { .. } => {}
                _ => assert!(names_a_file, "error names no file: {text}"),
            }
        }
    }
});
