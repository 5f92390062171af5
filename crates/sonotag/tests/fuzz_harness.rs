//! The fuzz targets' harnesses as property tests (issue 14): CI cannot run libFuzzer (it needs
//! nightly sanitizer flags and minutes per target), so each harness runs here on generated
//! inputs, biased toward each mode. `PROPTEST_CASES=N` runs more.

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::harness::checkpoint_folder::CheckpointFixture;
use crate::harness::manifest_parse;
use crate::harness::model_folder::ModelFixture;

fn model_fixture() -> &'static ModelFixture {
    static FIXTURE: OnceLock<ModelFixture> = OnceLock::new();
    FIXTURE.get_or_init(ModelFixture::new)
}

fn checkpoint_fixture() -> &'static CheckpointFixture {
    static FIXTURE: OnceLock<CheckpointFixture> = OnceLock::new();
    FIXTURE.get_or_init(CheckpointFixture::new)
}

/// Found by fuzzing `model_load` (kept in fuzz/corpus/model_load): a card with 1024 s segment
/// windows and a 6-sample mel hop, each within its own limit, took 2.6 GB to load.
#[test]
fn regression_huge_segment_features_are_refused() {
    let oom: &[u8] = b"\x03\x0e.\x03!\x00\x00\xb9_\x00_\x0b!\x06\x00\x00\xff\xf7\x00\"W\n!\x06\xbc\x00\xff\x00\xff\xf7\x00\"W\n!\x06\xf7\x9d\x1f\x00\xb9\x00\xb9";
    model_fixture().run(oom);
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

/// CSV-looking bytes: cells from a small alphabet (paths, labels, separators, quotes, line
/// ends, `..`), so parsing gets past the header.
fn manifest_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"path,labels\n".to_vec()),
        Just(b"a.wav".to_vec()),
        Just(b"../x.wav".to_vec()),
        Just(b"/abs.wav".to_vec()),
        Just(b"dog;cat".to_vec()),
        Just(b";;".to_vec()),
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn manifests_keep_their_invariants(data in manifest_bytes()) {
        manifest_parse::run(&data);
    }
}
