//! The `sonotag metrics` report from CSV files: exact JSON layout, fixture values, and errors
//! that name the file, line and column.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::*;
use sonotag_metrics::{MetricsError, ReportOptions, metrics_report_from_csv};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path
}

fn report(s: &Path, t: &Path, options: ReportOptions) -> Result<serde_json::Value, MetricsError> {
    metrics_report_from_csv(s, t, &options).map(|r| serde_json::to_value(&r).unwrap())
}

const SCORES: &str = "dog,cat,bird\n0.9,0.2,0.5\n0.1,0.4,0.5\n0.8,0.3,0.6\n0.3,0.1,0.4\n";
const TARGETS: &str = "dog,cat,bird\n1,0,1\n0,0,0\n1,0,1\n0,0,0\n";

#[test]
fn json_has_exactly_the_documented_layout() {
    let dir = TempDir::new().unwrap();
    let s = write(&dir, "s.csv", SCORES);
    let t = write(&dir, "t.csv", TARGETS);
    let r = metrics_report_from_csv(&s, &t, &ReportOptions::default()).unwrap();
    let text = serde_json::to_string(&r).unwrap();
    // Key order is part of the contract (per-label maps keep the header order). Values checked
    // by hand: bird AUC = (0.5 + 1 + 1 + 1) / 4 (one tie at 0.5); micro AUC = 31.5 / 32;
    // bird AP = 0.5 * 1 + 0.5 * 2/3; micro AP = (1 + 1 + 1 + 0.8) / 4; F1 micro = 8/9.
    let prefix = concat!(
        r#"{"roc_auc":{"per_label":{"dog":1.0,"cat":null,"bird":0.875},"macro":0.9375,"micro":0.984375,"#,
        r#""weighted":0.9375,"labels_left_out":1},"#,
        r#""average_precision":{"per_label":{"dog":1.0,"cat":null,"bird":0.8333333333333333},"#,
        r#""macro":0.9166666666666666,"micro":0.95,"labels_left_out":1},"#,
        r#""f1":{"per_label":{"dog":1.0,"cat":0.0,"bird":0.8},"macro":0.6,"micro":0.8888888888888888},"#,
        r#""hamming_loss":0.08333333333333333,"ece":"#,
    );
    assert!(text.starts_with(prefix), "{text}");
    let mce = text.find(r#","mce":"#).expect("mce");
    let brier = text.find(r#","brier":"#).expect("brier");
    assert!(
        prefix.len() < mce && mce < brier && text.ends_with('}'),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let top: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(top.len(), 7, "{top:?}");
    assert_eq!(v["roc_auc"].as_object().unwrap().len(), 5);
    assert_eq!(v["average_precision"].as_object().unwrap().len(), 4);
    assert_eq!(v["f1"].as_object().unwrap().len(), 3);
    // bird: 0.5, 0.5, 0.6, 0.4 >= 0.5 -> predicted 1,1,1,0 vs 1,0,1,0: F1 = 2*2/(2*2+1) = 0.8.
    assert!((v["f1"]["per_label"]["bird"].as_f64().unwrap() - 0.8).abs() < 1e-12);
    // Hamming: bird row 2 wrong only -> 1/12.
    assert!((v["hamming_loss"].as_f64().unwrap() - 1.0 / 12.0).abs() < 1e-12);
}

#[test]
fn csv_report_matches_fixture_values() {
    for (name, case) in cases("metrics") {
        let y_score = &case["inputs"]["y_score"];
        let (n, l) = shape(y_score);
        let scores = vec_f32(y_score);
        let targets = vec_u8(&case["inputs"]["y_true"]);
        let labels: Vec<String> = (0..l).map(|j| format!("tag {j}")).collect();
        let mut s_csv = labels.join(",") + "\n";
        let mut t_csv = s_csv.clone();
        for i in 0..n {
            // f32 Display is the shortest round-trip form, so the values survive exactly.
            let row: Vec<String> = scores[i * l..(i + 1) * l]
                .iter()
                .map(|v| v.to_string())
                .collect();
            s_csv += &(row.join(",") + "\n");
            let row: Vec<String> = targets[i * l..(i + 1) * l]
                .iter()
                .map(|v| v.to_string())
                .collect();
            t_csv += &(row.join(",") + "\n");
        }
        let dir = TempDir::new().unwrap();
        let v = report(
            &write(&dir, "s.csv", &s_csv),
            &write(&dir, "t.csv", &t_csv),
            ReportOptions::default(),
        )
        .unwrap();
        let e = &case["expected"];
        let auc = vec_opt_f64(&e["roc_auc_per_label"]);
        for j in 0..l {
            assert_opt_close(
                &format!("{name} AUC {j}"),
                v["roc_auc"]["per_label"][&labels[j]].as_f64(),
                auc[j],
                1e-6,
            );
        }
        for (key, exp_key) in [
            (("roc_auc", "macro"), "roc_auc_macro_valid_labels"),
            (("roc_auc", "weighted"), "roc_auc_weighted_valid_labels"),
            (("roc_auc", "micro"), "roc_auc_micro"),
            (
                ("average_precision", "macro"),
                "average_precision_macro_labels_with_positives",
            ),
            (("average_precision", "micro"), "average_precision_micro"),
            (("f1", "macro"), "f1_macro_zero_division_0"),
            (("f1", "micro"), "f1_micro"),
        ] {
            assert_close(
                &format!("{name} {key:?}"),
                v[key.0][key.1].as_f64().unwrap(),
                e[exp_key].as_f64().unwrap(),
                1e-6,
                0.0,
            );
        }
        for (key, exp_key) in [
            ("hamming_loss", "hamming_loss"),
            ("ece", "ece_l1_15bins"),
            ("mce", "mce_max_15bins"),
            ("brier", "brier_flat"),
        ] {
            assert_close(
                &format!("{name} {key}"),
                v[key].as_f64().unwrap(),
                e[exp_key].as_f64().unwrap(),
                1e-6,
                0.0,
            );
        }
    }
}

#[test]
fn logits_flag_applies_a_sigmoid() {
    let dir = TempDir::new().unwrap();
    let s = write(&dir, "s.csv", "a,b\n2.0,-3\n-1.5,0.5\n4,-0.25\n");
    let t = write(&dir, "t.csv", "a,b\n1,0\n0,1\n1,0\n");
    let err = report(&s, &t, ReportOptions::default()).unwrap_err();
    match err {
        MetricsError::BadCell {
            line,
            column,
            ref label,
            ..
        } => {
            assert_eq!((line, column, label.as_str()), (2, 1, "a"));
            assert!(err.to_string().contains("outside [0, 1]"), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let v = report(
        &s,
        &t,
        ReportOptions {
            logits: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(v["roc_auc"]["macro"].as_f64(), Some(1.0));
    // Brier on sigmoid(logits), computed here independently.
    let z = [2.0f64, -3.0, -1.5, 0.5, 4.0, -0.25];
    let y = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    let brier: f64 = z
        .iter()
        .zip(y)
        .map(|(z, y)| ((1.0 / (1.0 + (-z).exp())) - y).powi(2))
        .sum::<f64>()
        / 6.0;
    assert!((v["brier"].as_f64().unwrap() - brier).abs() < 1e-7);
}

fn expect_err(scores: &str, targets: &str) -> MetricsError {
    let dir = TempDir::new().unwrap();
    let s = write(&dir, "scores.csv", scores);
    let t = write(&dir, "targets.csv", targets);
    report(&s, &t, ReportOptions::default()).unwrap_err()
}

#[test]
fn bad_inputs_name_file_line_and_column() {
    // Non-numeric cell.
    let e = expect_err("a,b\n0.1,0.2\n0.3,abc\n", "a,b\n0,1\n1,0\n");
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            MetricsError::BadCell {
                line: 3,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("scores.csv")
            && msg.contains("line 3")
            && msg.contains("column 2")
            && msg.contains("`b`")
            && msg.contains("abc"),
        "{msg}"
    );

    // NaN is not a number we accept.
    let e = expect_err("a,b\n0.1,NaN\n", "a,b\n0,1\n");
    assert!(
        matches!(
            e,
            MetricsError::BadCell {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );

    // Target not 0/1.
    let e = expect_err("a,b\n0.1,0.2\n", "a,b\n0,0.5\n");
    assert!(
        matches!(
            e,
            MetricsError::BadCell {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("targets.csv"), "{e}");

    // Header mismatch: different name, and different count.
    let e = expect_err("a,b\n0.1,0.2\n", "a,c\n0,1\n");
    assert!(
        matches!(e, MetricsError::HeaderMismatch { column: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("`b` vs `c`"), "{e}");
    let e = expect_err("a,b\n0.1,0.2\n", "a,b,c\n0,1,1\n");
    assert!(
        matches!(
            e,
            MetricsError::HeaderMismatch {
                column: 3,
                scores_labels: 2,
                targets_labels: 3,
                ..
            }
        ),
        "{e:?}"
    );
    // Same labels, different order.
    let e = expect_err("a,b\n0.1,0.2\n", "b,a\n0,1\n");
    assert!(
        matches!(e, MetricsError::HeaderMismatch { column: 1, .. }),
        "{e:?}"
    );

    // Row counts.
    let e = expect_err("a\n0.1\n0.2\n0.3\n", "a\n0\n1\n");
    assert!(
        matches!(
            e,
            MetricsError::RowCountMismatch {
                scores_rows: 3,
                targets_rows: 2,
                ..
            }
        ),
        "{e:?}"
    );

    // Ragged row.
    let e = expect_err("a,b\n0.1,0.2\n0.3\n", "a,b\n0,1\n1,0\n");
    assert!(
        matches!(
            e,
            MetricsError::RowLength {
                line: 3,
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{e:?}"
    );

    // Empty file, header only, duplicate label, empty label.
    assert!(matches!(
        expect_err("", "a\n1\n"),
        MetricsError::CsvEmpty { .. }
    ));
    assert!(matches!(
        expect_err("a,b\n", "a,b\n1,0\n"),
        MetricsError::CsvEmpty { .. }
    ));
    assert!(matches!(
        expect_err("a,a\n0.1,0.2\n", "a,a\n1,0\n"),
        MetricsError::DuplicateLabel { column: 2, .. }
    ));
    assert!(matches!(
        expect_err("a,\n0.1,0.2\n", "a,\n1,0\n"),
        MetricsError::BadCell {
            line: 1,
            column: 2,
            ..
        }
    ));
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new().unwrap();
    let t = write(&dir, "t.csv", TARGETS);
    let missing = dir.path().join("nope.csv");
    let e = report(&missing, &t, ReportOptions::default()).unwrap_err();
    assert!(matches!(e, MetricsError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("nope.csv"), "{e}");
}

#[test]
fn whitespace_and_bom_are_tolerated() {
    let dir = TempDir::new().unwrap();
    let s = write(&dir, "s.csv", "\u{feff}dog , cat\n 0.9 , 0.1\n0.2,0.7\n");
    let t = write(&dir, "t.csv", "dog,cat\n1,0\n0,1\n");
    let v = report(&s, &t, ReportOptions::default()).unwrap();
    assert_eq!(v["roc_auc"]["per_label"]["dog"].as_f64(), Some(1.0));
    assert_eq!(v["roc_auc"]["per_label"]["cat"].as_f64(), Some(1.0));
}
