//! Numbers and sizes from outside: the number of bins is bounded before anything is allocated,
//! and headers of 100,000 labels are read in linear time.

use std::fmt::Write as _;
use std::path::PathBuf;

use sonotag_metrics::{
    Binning, MAX_BINS, MetricsError, ReportOptions, calibration_error, metrics_report_from_csv,
    reliability_curve,
};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn bins_error(err: MetricsError, value: usize) {
    match &err {
        MetricsError::OutOfRange {
            value: v, max, min, ..
        } => {
            assert_eq!((*v, *min, *max), (value, 1, MAX_BINS));
        }
        other => panic!("expected OutOfRange, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("bins") && text.contains("100000"), "{text}");
}

#[test]
fn bins_outside_one_to_max_bins_are_refused_before_reading_or_allocating() {
    let dir = TempDir::new().unwrap();
    let s = write(&dir, "s.csv", "a\n0.5\n");
    let t = write(&dir, "t.csv", "a\n1\n");
    for bins in [0, MAX_BINS + 1, 1_000_000_000_000, usize::MAX] {
        let options = ReportOptions {
            bins,
            ..ReportOptions::default()
        };
        bins_error(metrics_report_from_csv(&s, &t, &options).unwrap_err(), bins);
        // Checked before the files are read: missing files do not matter.
        let missing = dir.path().join("missing.csv");
        bins_error(
            metrics_report_from_csv(&missing, &missing, &options).unwrap_err(),
            bins,
        );
        bins_error(calibration_error(&[0.5], &[1], bins).unwrap_err(), bins);
        for binning in [Binning::EqualWidth(bins), Binning::EqualMass(bins)] {
            bins_error(reliability_curve(&[0.5], &[1], binning).unwrap_err(), bins);
        }
    }
    let options = ReportOptions {
        bins: MAX_BINS,
        ..ReportOptions::default()
    };
    assert!(metrics_report_from_csv(&s, &t, &options).is_ok());
}

/// A header of `n` labels `l0..`, and `rows` rows of scores and targets.
fn wide(n: usize, rows: usize) -> (String, String) {
    let header: Vec<String> = (0..n).map(|j| format!("l{j}")).collect();
    let header = header.join(",");
    let (mut s, mut t) = (format!("{header}\n"), format!("{header}\n"));
    for i in 0..rows {
        for j in 0..n {
            let sep = if j + 1 == n { '\n' } else { ',' };
            // Label j is positive in row i when i + j is even; its score says so perfectly.
            let positive = (i + j) % 2 == 0;
            write!(s, "{}{sep}", if positive { "0.9" } else { "0.1" }).unwrap();
            write!(t, "{}{sep}", u8::from(positive)).unwrap();
        }
    }
    (s, t)
}

#[test]
fn a_header_of_100000_labels_is_scored() {
    let dir = TempDir::new().unwrap();
    let (scores, targets) = wide(100_000, 4);
    let s = write(&dir, "s.csv", &scores);
    let t = write(&dir, "t.csv", &targets);
    let report = metrics_report_from_csv(&s, &t, &ReportOptions::default()).unwrap();
    assert_eq!(report.roc_auc.per_label.0.len(), 100_000);
    assert_eq!(report.roc_auc.macro_average, Some(1.0));
    assert_eq!(report.f1.micro, 1.0);
    assert_eq!(report.roc_auc.per_label.0[99_999].0, "l99999");
}

#[test]
fn a_duplicate_among_100000_labels_is_named_with_its_column() {
    let dir = TempDir::new().unwrap();
    let mut header: Vec<String> = (0..100_000).map(|j| format!("l{j}")).collect();
    header[99_998] = "l1234".into();
    let text = format!("{}\n", header.join(","));
    let s = write(&dir, "s.csv", &text);
    let t = write(&dir, "t.csv", &text);
    let err = metrics_report_from_csv(&s, &t, &ReportOptions::default()).unwrap_err();
    match &err {
        MetricsError::DuplicateLabel {
            line,
            column,
            label,
            ..
        } => assert_eq!((*line, *column, label.as_str()), (1, 99_999, "l1234")),
        other => panic!("expected DuplicateLabel, got {other}"),
    }
    assert!(err.to_string().contains("s.csv"), "{err}");
}
