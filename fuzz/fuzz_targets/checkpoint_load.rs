//! Fuzz target: resuming training from a checkpoint folder that each input damages: the card
//! replaced or its fields set to hostile values, the model or optimiser state overwritten in
//! place. The harness is shared with the property test
//! `crates/sonotag/tests/fuzz_harness.rs`; see `harness/checkpoint_folder.rs` for the modes
//! and the property checked.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/sonotag/tests/harness/mod.rs"]
mod harness;

use harness::checkpoint_folder::CheckpointFixture;

fuzz_target!(|data: &[u8]| {
    static FIXTURE: OnceLock<CheckpointFixture> = OnceLock::new();
    FIXTURE.get_or_init(CheckpointFixture::new).run(data);
});
