//! Fuzz target: loading a model folder (`sonotag::Tagger::load_on`) that each input damages:
//! the card replaced or its fields set to hostile numbers, the weights replaced or overwritten
//! in place. The harness is shared with the property test
//! `crates/sonotag/tests/fuzz_harness.rs`; see `harness/model_folder.rs` for the modes and the
//! property checked.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/sonotag/tests/harness/mod.rs"]
mod harness;

use harness::model_folder::ModelFixture;

fuzz_target!(|data: &[u8]| {
    static FIXTURE: OnceLock<ModelFixture> = OnceLock::new();
    FIXTURE.get_or_init(ModelFixture::new).run(data);
});
