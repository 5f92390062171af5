//! sonotag's integration tests, in one binary (one link instead of one per file): each file of
//! this folder is a module, so a test's full name is `module::test`; run one module with
//! `cargo test -p sonotag --test integration tagger::`.

mod common;
mod crash_safety;
mod features;
mod fuzz_harness;
mod harness;
mod hostile_inputs;
mod hostile_limits;
mod hostile_models;
mod instruments;
mod lazy_data;
mod streaming;
mod tagger;
