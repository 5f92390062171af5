//! sonotag-cli's integration tests, in one binary (one link instead of one per file): each file
//! of this folder is a module, so a test's full name is `module::test`; run one module with
//! `cargo test -p sonotag-cli --test integration cli::`.

mod cli;
mod hostile_cli;
mod stdout;
mod tagger_cli;
