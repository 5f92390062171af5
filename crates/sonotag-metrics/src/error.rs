//! The crate's error type.

use std::path::PathBuf;

/// Text from a file as an error message shows it: control characters (a quoted cell may hold
/// line breaks) escaped, so that every message stays one line, and at most 80 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 80;
    let escaped: String = text
        .chars()
        .flat_map(|c| {
            let escape = c.is_control();
            c.escape_default()
                .filter(move |_| escape)
                .chain(Some(c).filter(|_| !escape))
        })
        .collect();
    match escaped.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &escaped[..end]),
        None => escaped,
    }
}

/// Everything that can go wrong in this crate, with enough context to find the bad input.
///
/// Row and column indices in the in-memory variants are 0-based (they index arrays); CSV
/// variants report the 1-based line number of the file (the header is line 1) and the
/// 1-based column together with its label name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A flat buffer does not hold `rows * cols` values, or two inputs disagree in shape.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which input or pair of inputs is inconsistent.
        what: String,
        /// The expected shape or length, in words.
        expected: String,
        /// The actual shape or length, in words.
        got: String,
    },
    /// A score is NaN (metrics would be silently wrong).
    #[error("score at row {row}, label {label} is NaN")]
    NanScore {
        /// 0-based sample index.
        row: usize,
        /// 0-based label index.
        label: usize,
    },
    /// A probability lies outside [0, 1] or is not finite where probabilities are required.
    #[error("probability at row {row}, label {label} is {value}, outside [0, 1]")]
    ProbabilityOutOfRange {
        /// 0-based sample index.
        row: usize,
        /// 0-based label index.
        label: usize,
        /// The offending value.
        value: f64,
    },
    /// A target is not exactly 0 or 1.
    #[error("target at row {row}, label {label} is {value}; targets must be 0 or 1")]
    InvalidTarget {
        /// 0-based sample index.
        row: usize,
        /// 0-based label index.
        label: usize,
        /// The offending value.
        value: f64,
    },
    /// A configuration value is out of its allowed range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A number from outside (a number of bins, ...) is outside the range this crate accepts;
    /// refused before anything is allocated from it.
    #[error("`{field}` is {value}; it must be between {min} and {max}")]
    OutOfRange {
        /// The parameter's name (`bins`, `n_bins`).
        field: &'static str,
        /// The value given.
        value: usize,
        /// The smallest accepted value.
        min: usize,
        /// The largest accepted value (the limit).
        max: usize,
    },
    /// There is nothing to compute on.
    #[error("empty input: {0}")]
    EmptyInput(String),
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The CSV parser rejected a file (bad quoting, bad UTF-8, ...).
    #[error("{}: line {line}: malformed CSV: {}", path.display(), shown(message))]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the parser could not tell).
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// A CSV file has no header row or no data rows.
    #[error("{}: {reason}", path.display())]
    CsvEmpty {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A header row names the same label twice.
    #[error("{}: line {line}, column {column}: label `{}` appears twice in the header", path.display(), shown(label))]
    DuplicateLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the header.
        line: u64,
        /// 1-based column of the second occurrence.
        column: usize,
        /// The repeated label.
        label: String,
    },
    /// The two CSV headers differ.
    #[error(
        "headers differ: {} has {scores_labels} labels, {} has {targets_labels}; first difference at column {column}: `{}` vs `{}`",
        scores_path.display(),
        targets_path.display(),
        shown(scores_label),
        shown(targets_label)
    )]
    HeaderMismatch {
        /// The scores file.
        scores_path: PathBuf,
        /// The targets file.
        targets_path: PathBuf,
        /// Number of labels in the scores header.
        scores_labels: usize,
        /// Number of labels in the targets header.
        targets_labels: usize,
        /// 1-based column of the first difference.
        column: usize,
        /// Label in the scores file at that column (empty if missing).
        scores_label: String,
        /// Label in the targets file at that column (empty if missing).
        targets_label: String,
    },
    /// A CSV data row has the wrong number of cells.
    #[error("{}: line {line}: expected {expected} cells, found {found}", path.display())]
    RowLength {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Cells in the header.
        expected: usize,
        /// Cells in this row.
        found: usize,
    },
    /// The two CSV files have different numbers of data rows.
    #[error("row counts differ: {} has {scores_rows} data rows, {} has {targets_rows}", scores_path.display(), targets_path.display())]
    RowCountMismatch {
        /// The scores file.
        scores_path: PathBuf,
        /// The targets file.
        targets_path: PathBuf,
        /// Data rows in the scores file.
        scores_rows: usize,
        /// Data rows in the targets file.
        targets_rows: usize,
    },
    /// A CSV cell is not a finite number, or is out of range for its file.
    #[error("{}: line {line}, column {column} (`{}`): {reason}: `{}`", path.display(), shown(label), shown(value))]
    BadCell {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The column's label.
        label: String,
        /// The cell's text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> MetricsError {
    MetricsError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the metrics_csv fuzz target: a quoted cell holding line breaks made a
    /// three-line message.
    #[test]
    fn cell_text_is_shown_on_one_line_and_cut() {
        let err = MetricsError::BadCell {
            path: "s.csv".into(),
            line: 2,
            column: 2,
            label: "b\r\n".into(),
            value: " 2,c\n0,\n0,1".into(),
            reason: "not a number",
        };
        assert_eq!(
            err.to_string(),
            "s.csv: line 2, column 2 (`b\\r\\n`): not a number: ` 2,c\\n0,\\n0,1`"
        );
        let long = MetricsError::DuplicateLabel {
            path: "s.csv".into(),
            line: 1,
            column: 3,
            label: "x".repeat(1000),
        };
        let text = long.to_string();
        assert!(text.len() < 160 && text.contains("x..."), "{text}");
    }
}
