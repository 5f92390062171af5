//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod eval;
pub mod features;
pub mod metrics;
pub mod predict;
pub mod train;

/// A metric to 4 decimals, or `n/a` where it is undefined (a label with one class).
fn metric(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.4}"))
}
