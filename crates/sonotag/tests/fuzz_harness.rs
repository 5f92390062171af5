//! The fuzz targets' harnesses as property tests (issue 14): CI cannot run libFuzzer (it needs
//! nightly sanitizer flags and minutes per target), so each harness runs here on generated
//! inputs, biased toward each mode. `PROPTEST_CASES=N` runs more.

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::harness::checkpoint_folder::CheckpointFixture;
use crate::harness::model_folder::ModelFixture;

fn model_fixture() -> &'static ModelFixture {
    static FIXTURE: OnceLock<ModelFixture> = OnceLock::new();
    FIXTURE.get_or_init(ModelFixture::new)
}

fn checkpoint_fixture() -> &'static CheckpointFixture {
    static FIXTURE: OnceLock<CheckpointFixture> = OnceLock::new();
    FIXTURE.get_or_init(CheckpointFixture::new)
}

/// A mode byte followed by up to `max` bytes, favouring 10-byte edit records.
fn input(max: usize) -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), prop::collection::vec(any::<u8>(), 0..max)).prop_map(|(mode, rest)| {
        let mut v = vec![mode];
        v.extend(rest);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn model_folders_never_panic(data in input(64)) {
        model_fixture().run(&data);
    }
}

proptest! {
    // Each case resumes a training run: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn checkpoint_folders_never_panic(data in input(48)) {
        checkpoint_fixture().run(&data);
    }
}
