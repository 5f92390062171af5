//! Reading score and target matrices from CSV files with a header row of label names.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{MetricsError, Result};

/// A matrix read from CSV: label names from the header and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledMatrix {
    /// Label names, in header order.
    pub labels: Vec<String>,
    /// Number of data rows.
    pub n_rows: usize,
    /// `n_rows * labels.len()` values, row-major.
    pub values: Vec<f32>,
}

/// Reads a score CSV: a header row of label names, then one row per sample of numbers.
///
/// Cells are trimmed and parsed as f32. Every cell must be finite; unless `logits` is true it
/// must also lie in [0, 1]. Errors name the file, the 1-based line and column, and the label.
pub fn read_scores_csv(path: &Path, logits: bool) -> Result<LabelledMatrix> {
    read_csv(path, |v| {
        if !v.is_finite() {
            Err("not a finite number")
        } else if !logits && !(0.0..=1.0).contains(&v) {
            Err("score outside [0, 1] (pass logits to apply a sigmoid)")
        } else {
            Ok(v)
        }
    })
}

/// Reads a target CSV: same layout as [`read_scores_csv`], every cell 0 or 1.
pub fn read_targets_csv(path: &Path) -> Result<LabelledMatrix> {
    read_csv(path, |v| {
        if v == 0.0 || v == 1.0 {
            Ok(v)
        } else {
            Err("target must be 0 or 1")
        }
    })
}

fn read_csv(
    path: &Path,
    check: impl Fn(f32) -> std::result::Result<f32, &'static str>,
) -> Result<LabelledMatrix> {
    let file = File::open(path).map_err(|source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let csv_error = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Io(_) => MetricsError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        },
        _ => MetricsError::Csv {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        },
    };
    let mut records = reader.records();
    let header = match records.next() {
        Some(r) => r.map_err(csv_error)?,
        None => {
            return Err(MetricsError::CsvEmpty {
                path: path.to_path_buf(),
                reason: "the file is empty: expected a header row of label names".into(),
            });
        }
    };
    let header_line = header.position().map_or(1, |p| p.line());
    let labels = parse_header(path, &header, header_line)?;
    let mut values = Vec::new();
    let mut n_rows = 0usize;
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != labels.len() {
            return Err(MetricsError::RowLength {
                path: path.to_path_buf(),
                line,
                expected: labels.len(),
                found: record.len(),
            });
        }
        for (j, cell) in record.iter().enumerate() {
            let bad = |reason| MetricsError::BadCell {
                path: path.to_path_buf(),
                line,
                column: j + 1,
                label: labels[j].clone(),
                value: cell.to_string(),
                reason,
            };
            let v: f32 = cell.parse().map_err(|_| bad("not a number"))?;
            values.push(check(v).map_err(bad)?);
        }
        // Every row has exactly `labels.len()` cells (checked above), so `values` holds
        // `n_rows * labels.len()` numbers and grows only with the file's own bytes (each cell
        // is at least one byte plus a separator): no allocation is sized by a number read
        // from the file.
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(MetricsError::CsvEmpty {
            path: path.to_path_buf(),
            reason: "no data rows after the header".into(),
        });
    }
    Ok(LabelledMatrix {
        labels,
        n_rows,
        values,
    })
}

/// The label names of the header row. Duplicates are found with a hash set (linear in the
/// header's size: a header of a million labels costs milliseconds, not minutes).
fn parse_header(path: &Path, header: &csv::StringRecord, line: u64) -> Result<Vec<String>> {
    let mut labels: Vec<String> = Vec::with_capacity(header.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(header.len());
    for (j, cell) in header.iter().enumerate() {
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first label.
        let name = if j == 0 {
            cell.trim_start_matches('\u{feff}').trim()
        } else {
            cell
        };
        if name.is_empty() {
            return Err(MetricsError::BadCell {
                path: path.to_path_buf(),
                line,
                column: j + 1,
                label: String::new(),
                value: cell.to_string(),
                reason: "empty label name in the header",
            });
        }
        if !seen.insert(name) {
            return Err(MetricsError::DuplicateLabel {
                path: path.to_path_buf(),
                line,
                column: j + 1,
                label: name.to_string(),
            });
        }
        labels.push(name.to_string());
    }
    if labels.is_empty() {
        return Err(MetricsError::CsvEmpty {
            path: path.to_path_buf(),
            reason: "the header row has no label names".into(),
        });
    }
    Ok(labels)
}
