//! sonotag-metrics' integration tests, in one binary (one link instead of one per file): each
//! file of this folder is a module, so a test's full name is `module::test`; run one module
//! with `cargo test -p sonotag-metrics --test integration fixtures::`. `common` holds what they
//! share: fixture loading and tolerant comparisons.

mod common;

mod calibration;
mod csv_harness;
mod fixtures;
mod harness;
mod limits;
mod losses;
mod properties;
mod report_csv;
mod sklearn_cases;
