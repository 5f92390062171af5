//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod eval;
pub mod features;
pub mod metrics;
pub mod predict;
pub mod train;
