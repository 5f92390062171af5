//! sonotag-nn's integration tests, in one binary (one link instead of one per file): each file
//! of this folder is a module, so a test's full name is `module::test`; run one module with
//! `cargo test -p sonotag-nn --test integration model::`. `common` holds what they share: the
//! test device (`SONOTAG_TEST_BACKEND`) and tensor helpers.

mod common;

mod augment;
mod backend;
mod model;
mod tasks;
mod train_pass;
