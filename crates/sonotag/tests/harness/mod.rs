//! Harnesses shared by the fuzz targets in `fuzz/` (which include these files with `#[path]`)
//! and the property tests in `fuzz_harness.rs`, so that CI runs the fuzz targets' exact checks
//! on a few hundred generated inputs.

pub mod checkpoint_folder;
pub mod edits;
pub mod manifest_parse;
pub mod model_folder;
