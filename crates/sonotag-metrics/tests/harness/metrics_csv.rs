//! The `metrics_csv` harness, shared by the fuzz target (fuzz/fuzz_targets/metrics_csv.rs,
//! through `#[path]`) and the property tests in `csv_harness.rs`: arbitrary bytes split into a
//! scores CSV and a targets CSV, scored with arbitrary bins, threshold and logits flag. The
//! result is a report whose metrics are finite (or `None`), or a one-line typed error; errors
//! about a file name that file, and bins outside 1..=MAX_BINS are refused as such.

use sonotag_metrics::{MAX_BINS, MetricsError, ReportOptions, metrics_report_from_csv};

/// The fuzz target's input: 8 bytes of bins (little-endian u64), 4 bytes of threshold (f32
/// bits), 1 byte whose low bit is `logits`, then the two files as [`check`] reads them.
pub fn run(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<13>() else {
        return;
    };
    let [b0, b1, b2, b3, b4, b5, b6, b7, t0, t1, t2, t3, flags] = *head;
    let bins = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
    let bins = usize::try_from(bins).unwrap_or(usize::MAX);
    let threshold = f32::from_bits(u32::from_le_bytes([t0, t1, t2, t3]));
    check(body, bins, threshold, flags & 1 == 1);
}

/// Scores the two halves of `data` (split at the first 0xFF byte, which never occurs in
/// UTF-8) and checks the outcome.
pub fn check(data: &[u8], bins: usize, threshold: f32, logits: bool) {
    let (scores, targets) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let dir = tempfile::tempdir().unwrap();
    let (s, t) = (
        dir.path().join("scores.csv"),
        dir.path().join("targets.csv"),
    );
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
            for (_, v) in r
                .roc_auc
                .per_label
                .0
                .iter()
                .chain(&r.average_precision.per_label.0)
            {
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
}
