//! The harness of the `metrics_csv` fuzz target (fuzz/fuzz_targets/metrics_csv.rs) as a
//! proptest: arbitrary bytes split into a scores CSV and a targets CSV, scored with arbitrary
//! bins, threshold and logits flag. The result is a report whose metrics are finite (or
//! `None`), or a one-line typed error; errors about a file name that file.

use proptest::prelude::*;
use sonotag_metrics::{MAX_BINS, MetricsError, ReportOptions, metrics_report_from_csv};

/// Scores the two halves of `data` (split at the first 0xFF byte, which never occurs in
/// UTF-8) and checks the outcome.
fn check(data: &[u8], bins: usize, threshold: f32, logits: bool) {
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

/// CSV-looking bytes: short cells from a small alphabet, so parsing gets past the header.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        8 => prop::sample::select(b"01.,\n;ab-e5 \"\r".to_vec()),
        1 => Just(0xFFu8),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_csv_pair_gives_finite_metrics_or_a_typed_error(
        data in csvish(),
        bins in prop_oneof![1usize..40, Just(0usize), Just(MAX_BINS + 1), Just(usize::MAX)],
        threshold in prop_oneof![0.0f32..=1.0, Just(f32::NAN), Just(-1.0f32)],
        logits in any::<bool>(),
    ) {
        check(&data, bins, threshold, logits);
    }

    #[test]
    fn well_formed_pairs_give_finite_metrics(
        cells in prop::collection::vec((0u8..=1, 0.0f32..=1.0), 3..30),
    ) {
        let mut s = String::from("a,b,c\n");
        let mut t = s.clone();
        for row in cells.chunks_exact(3) {
            s.push_str(&format!("{},{},{}\n", row[0].1, row[1].1, row[2].1));
            t.push_str(&format!("{},{},{}\n", row[0].0, row[1].0, row[2].0));
        }
        let mut data = s.into_bytes();
        data.push(0xFF);
        data.extend_from_slice(t.as_bytes());
        check(&data, 15, 0.5, false);
    }
}
