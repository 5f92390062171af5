//! The crate's error type.

use std::path::PathBuf;

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
    #[error("{}: line {line}: malformed CSV: {message}", path.display())]
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
    #[error("{}: line {line}, column {column}: label `{label}` appears twice in the header", path.display())]
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
        "headers differ: {} has {scores_labels} labels, {} has {targets_labels}; first difference at column {column}: `{scores_label}` vs `{targets_label}`",
        scores_path.display(),
        targets_path.display()
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
    #[error("{}: line {line}, column {column} (`{label}`): {reason}: `{value}`", path.display())]
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
