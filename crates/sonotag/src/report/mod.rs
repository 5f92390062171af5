//! The evaluation report folder: metrics before and after calibration as JSON, plus ROC curves,
//! precision-recall curves and a reliability diagram, each as SVG and PNG.
//!
//! [`write_report_folder`] writes, into a folder it creates if needed:
//!
//! | file | content |
//! |------|---------|
//! | `metrics.json` | `{"raw": <MetricsReport>, "calibrated": <MetricsReport>}` ([`EvaluationSummary`]) |
//! | `roc_curves.svg`, `.png` | one ROC curve per label (calibrated scores), chance diagonal, legend with ROC-AUC |
//! | `pr_curves.svg`, `.png` | one precision-recall step curve per label, legend with average precision |
//! | `reliability.svg`, `.png` | raw and calibrated reliability curves over all (sample, label) pairs, identity line, bin counts; ECE in the subtitle |
//!
//! Each file is replaced atomically (temporary file in the folder, then rename), so a reader sees
//! either the old or the new file. PNG text uses an embedded DejaVu Sans font, so rendering needs
//! no system fonts. Labels whose curve is undefined (a single class) are listed in the legend as
//! not plotted.
//!
//! ```no_run
//! use sonotag::metrics::ReportOptions;
//! use sonotag::report::{ReportInput, write_report_folder};
//! let labels = vec!["dog".to_string(), "bird".to_string()];
//! let raw = [0.9, 0.2, 0.3, 0.7, 0.6, 0.1];
//! let calibrated = [0.8, 0.25, 0.35, 0.65, 0.55, 0.15];
//! let targets = [1, 0, 0, 1, 1, 0];
//! let input = ReportInput {
//!     labels: &labels,
//!     scores_raw: &raw,
//!     scores_calibrated: &calibrated,
//!     targets: &targets,
//!     n_samples: 3,
//! };
//! let summary = write_report_folder("eval-report".as_ref(), &input, &ReportOptions::default())?;
//! println!("ECE after calibration: {:?}", summary.calibrated.ece);
//! # Ok::<(), sonotag::report::ReportError>(())
//! ```

mod curves;
mod font;
mod plot_curves;
mod plot_reliability;
mod style;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Evaluation;
use crate::atomic::PendingFile;
use crate::metrics::{
    Binning, MetricsError, ReportOptions, ScoreMatrix, TargetMatrix, metrics_report,
    reliability_curve,
};

use plot_curves::CurveFigure;
use plot_reliability::ReliabilityFigure;

/// Name of the metrics file in the report folder.
pub const METRICS_FILE: &str = "metrics.json";

/// Every file [`write_report_folder`] writes, in the order it writes them.
pub const REPORT_FILES: [&str; 7] = [
    METRICS_FILE,
    "roc_curves.svg",
    "roc_curves.png",
    "pr_curves.svg",
    "pr_curves.png",
    "reliability.svg",
    "reliability.png",
];

/// Scores and targets to report on; matrices are `[n_samples][labels.len()]`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// Label names, one per column (distinct).
    pub labels: &'a [String],
    /// Probabilities before calibration.
    pub scores_raw: &'a [f32],
    /// Probabilities after calibration (pass `scores_raw` again if there is no calibrator).
    pub scores_calibrated: &'a [f32],
    /// Ground truth, 0 or 1.
    pub targets: &'a [u8],
    /// Number of rows.
    pub n_samples: usize,
}

/// Metrics of the same predictions before and after calibration: the [`Evaluation`] that
/// [`Tagger::evaluate`](crate::Tagger::evaluate) returns. It serialises to the content of
/// `metrics.json`: `{"raw": {..}, "calibrated": {..}}`.
pub type EvaluationSummary = Evaluation;

/// Why a report could not be computed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The input has no labels or no samples.
    #[error("report input has no {0}")]
    Empty(&'static str),
    /// A buffer's length is not `n_samples * labels.len()`.
    #[error(
        "report input `{field}` has {got} values, expected {expected} ({n_samples} samples x {n_labels} labels)"
    )]
    Shape {
        /// Which field of [`ReportInput`].
        field: &'static str,
        /// Its length.
        got: usize,
        /// `n_samples * n_labels` (saturated on overflow).
        expected: usize,
        /// Rows declared.
        n_samples: usize,
        /// Labels given.
        n_labels: usize,
    },
    /// Two columns have the same name (the JSON keys would collide).
    #[error("report input names label `{label}` twice (columns {first} and {second})")]
    DuplicateLabel {
        /// The repeated name.
        label: String,
        /// 0-based column of the first occurrence.
        first: usize,
        /// 0-based column of the second occurrence.
        second: usize,
    },
    /// `ReportOptions::logits` is set, but the report plots probabilities.
    #[error("report options: `logits` must be false, the report takes probabilities")]
    LogitsOption,
    /// The metrics of the raw or calibrated scores could not be computed (NaN, a probability
    /// outside [0, 1], a target other than 0/1, zero bins, ...).
    #[error("{which} scores: {source}")]
    Metrics {
        /// `"raw"` or `"calibrated"`.
        which: &'static str,
        /// What the metrics crate found (boxed: it is large and errors travel by value).
        #[source]
        source: Box<MetricsError>,
    },
    /// The report folder could not be created.
    #[error("cannot create report folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written or moved into place.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The destination file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `metrics.json` could not be serialised.
    #[error("cannot serialise {}: {source}", path.display())]
    Json {
        /// The destination file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Plotting failed (backend or PNG encoder error).
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The destination file.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
    /// The embedded font could not be parsed (a build problem, not a user error).
    #[error("the embedded plot font could not be loaded")]
    Font,
}

/// Computes the metrics of the raw and calibrated scores (what `metrics.json` holds) without
/// writing anything.
///
/// # Errors
/// [`ReportError::Empty`], [`ReportError::Shape`], [`ReportError::DuplicateLabel`] or
/// [`ReportError::LogitsOption`] for malformed input, [`ReportError::Metrics`] for invalid
/// values.
pub fn evaluation_summary(
    input: &ReportInput<'_>,
    options: &ReportOptions,
) -> Result<EvaluationSummary, ReportError> {
    validate(input, options)?;
    let (n, l) = (input.n_samples, input.labels.len());
    let report = |which: &'static str, scores: &[f32]| {
        let err = |source| ReportError::Metrics {
            which,
            source: Box::new(source),
        };
        let s = ScoreMatrix::new(scores, n, l).map_err(err)?;
        let t = TargetMatrix::new(input.targets, n, l).map_err(err)?;
        metrics_report(&s, &t, input.labels, options).map_err(err)
    };
    Ok(Evaluation {
        raw: report("raw", input.scores_raw)?,
        calibrated: report("calibrated", input.scores_calibrated)?,
        warnings: Vec::new(),
    })
}

/// Writes the report folder `dir` (see the [module docs](self) for its files) and returns the
/// metrics it contains. Existing report files in `dir` are replaced; other files are left alone.
///
/// `options.threshold` sets the F1 threshold and `options.bins` the number of equal-width bins of
/// ECE and of the reliability diagram.
///
/// # Errors
/// As [`evaluation_summary`] for the input, which is checked before anything is written; then
/// [`ReportError::CreateDir`], [`ReportError::Write`], [`ReportError::Json`] or
/// [`ReportError::Plot`] naming the file that failed.
pub fn write_report_folder(
    dir: &Path,
    input: &ReportInput<'_>,
    options: &ReportOptions,
) -> Result<EvaluationSummary, ReportError> {
    let summary = evaluation_summary(input, options)?;
    font::ensure_registered()?;
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let metrics_path = dir.join(METRICS_FILE);
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| ReportError::Json {
        path: metrics_path.clone(),
        source,
    })?;
    write_file(&metrics_path, &json)?;

    render_curves(dir, input, &summary)?;
    render_reliability(dir, input, &summary, options)?;
    Ok(summary)
}

/// A metrics failure while drawing, of the `raw` or `calibrated` scores.
fn metrics_err(which: &'static str) -> impl Fn(MetricsError) -> ReportError {
    move |source| ReportError::Metrics {
        which,
        source: Box::new(source),
    }
}

/// Draws the ROC and precision-recall curves of the calibrated scores.
fn render_curves(
    dir: &Path,
    input: &ReportInput<'_>,
    summary: &EvaluationSummary,
) -> Result<(), ReportError> {
    let roc = curves::roc_curves(input, &summary.calibrated).map_err(metrics_err("calibrated"))?;
    let roc_fig = CurveFigure {
        title: "ROC curves (calibrated scores)",
        x_desc: "False-positive rate",
        y_desc: "True-positive rate",
        legend_heading: "Label: ROC-AUC",
        set: &roc,
        footer: vec![
            format!(
                "macro ROC-AUC {}, micro {}",
                style::fmt_value(summary.calibrated.roc_auc.macro_average),
                style::fmt_value(summary.calibrated.roc_auc.micro)
            ),
            "dashed grey: chance".to_string(),
        ],
        chance_diagonal: true,
    };
    render(dir, "roc_curves", &Figure::Curves(&roc_fig))?;

    let pr = curves::pr_curves(input, &summary.calibrated).map_err(metrics_err("calibrated"))?;
    let pr_fig = CurveFigure {
        title: "Precision-recall curves (calibrated scores)",
        x_desc: "Recall",
        y_desc: "Precision",
        legend_heading: "Label: average precision",
        set: &pr,
        footer: vec![format!(
            "mAP {}, micro AP {}",
            style::fmt_value(summary.calibrated.average_precision.macro_average),
            style::fmt_value(summary.calibrated.average_precision.micro)
        )],
        chance_diagonal: false,
    };
    render(dir, "pr_curves", &Figure::Curves(&pr_fig))
}

/// Draws the reliability diagram of the raw and calibrated scores.
fn render_reliability(
    dir: &Path,
    input: &ReportInput<'_>,
    summary: &EvaluationSummary,
    options: &ReportOptions,
) -> Result<(), ReportError> {
    let binning = Binning::EqualWidth(options.bins);
    let raw_bins =
        reliability_curve(input.scores_raw, input.targets, binning).map_err(metrics_err("raw"))?;
    let cal_bins = reliability_curve(input.scores_calibrated, input.targets, binning)
        .map_err(metrics_err("calibrated"))?;
    let rel_fig = ReliabilityFigure {
        raw: &raw_bins,
        calibrated: &cal_bins,
        raw_label: format!("raw (ECE {})", style::fmt_value(summary.raw.ece)),
        calibrated_label: format!(
            "calibrated (ECE {})",
            style::fmt_value(summary.calibrated.ece)
        ),
        subtitle: format!(
            "ECE raw {} → calibrated {}  ({} equal-width bins, {} pairs)",
            style::fmt_value(summary.raw.ece),
            style::fmt_value(summary.calibrated.ece),
            options.bins,
            input.targets.len()
        ),
    };
    render(dir, "reliability", &Figure::Reliability(&rel_fig))
}

fn validate(input: &ReportInput<'_>, options: &ReportOptions) -> Result<(), ReportError> {
    let l = input.labels.len();
    if l == 0 {
        return Err(ReportError::Empty("labels"));
    }
    if input.n_samples == 0 {
        return Err(ReportError::Empty("samples"));
    }
    let mut seen = HashSet::new();
    for (second, label) in input.labels.iter().enumerate() {
        if !seen.insert(label.as_str()) {
            let first = input.labels.iter().position(|x| x == label).unwrap_or(0);
            return Err(ReportError::DuplicateLabel {
                label: label.clone(),
                first,
                second,
            });
        }
    }
    let expected = input.n_samples.saturating_mul(l);
    for (field, got) in [
        ("scores_raw", input.scores_raw.len()),
        ("scores_calibrated", input.scores_calibrated.len()),
        ("targets", input.targets.len()),
    ] {
        if got != expected {
            return Err(ReportError::Shape {
                field,
                got,
                expected,
                n_samples: input.n_samples,
                n_labels: l,
            });
        }
    }
    if options.logits {
        return Err(ReportError::LogitsOption);
    }
    Ok(())
}

/// A figure of the report, drawable on any plotters backend.
enum Figure<'a> {
    Curves(&'a CurveFigure<'a>),
    Reliability(&'a ReliabilityFigure<'a>),
}

impl Figure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        match self {
            Figure::Curves(fig) => plot_curves::draw(root, fig),
            Figure::Reliability(fig) => plot_reliability::draw(root, fig),
        }
    }
}

/// Writes `<stem>.svg` and `<stem>.png` in `dir`, each atomically.
fn render(dir: &Path, stem: &str, fig: &Figure<'_>) -> Result<(), ReportError> {
    let plot_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: &dyn std::fmt::Display| ReportError::Plot {
            path,
            message: e.to_string(),
        }
    };

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, style::FIGURE).into_drawing_area();
        fig.draw(&root)
            .and_then(|()| root.present())
            .map_err(|e| plot_err(&svg_path)(&e))?;
    }
    write_file(&svg_path, svg.as_bytes())?;

    let png_path = dir.join(format!("{stem}.png"));
    // The PNG encoder writes to a path and picks the format from its extension.
    let pending = PendingFile::new(&png_path, ".png").map_err(|e| write_error(&png_path, e))?;
    let drawn = {
        let root = BitMapBackend::new(pending.path(), style::FIGURE).into_drawing_area();
        fig.draw(&root).and_then(|()| root.present())
        // `root` is dropped here, before the temporary file is committed or removed.
    };
    // On failure `pending` is dropped, which removes the temporary file.
    drawn.map_err(|e| plot_err(&png_path)(&e))?;
    pending.commit().map_err(|e| write_error(&png_path, e))
}

/// Writes `bytes` to `dest` through the crate's atomic writer.
fn write_file(dest: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::atomic::write_file(dest, bytes).map_err(|e| write_error(dest, e))
}

/// A failed atomic write as a report error naming the destination file.
fn write_error(dest: &Path, error: crate::Error) -> ReportError {
    let source = match error {
        crate::Error::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    };
    ReportError::Write {
        path: dest.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
