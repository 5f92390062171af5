//! The `sonotag` command.
fn main() {}
