//! The `manifest_parse` harness, shared by the fuzz target (fuzz/fuzz_targets/manifest_parse.rs,
//! through `#[path]`) and the property test `fuzz_harness::manifests_keep_their_invariants`:
//! any bytes either parse into rows that keep the manifest's invariants (paths inside the
//! manifest's folder, 1-based lines after the header, no empty labels, a sorted unique label
//! set) or give an error naming the manifest and a line.

use std::path::Path;

use sonotag::dataset::{DatasetError, Manifest};

/// Parses `data` as a manifest in `/base` and checks the outcome.
pub fn run(data: &[u8]) {
    let base = Path::new("/base");
    match Manifest::parse(data, "fuzz.csv", base) {
        Ok(manifest) => {
            assert!(!manifest.entries.is_empty());
            for entry in &manifest.entries {
                assert!(entry.path.starts_with(base), "{:?} escapes", entry.path);
                assert!(entry.line >= 2);
                assert!(entry.labels.iter().all(|l| !l.trim().is_empty()));
            }
            let labels = manifest.labels();
            assert!(
                labels.windows(2).all(|w| w[0] < w[1]),
                "labels sorted and unique"
            );
        }
        Err(e @ DatasetError::Manifest { .. }) => {
            let message = e.to_string();
            assert_eq!(message.lines().count(), 1, "{message:?}");
            let DatasetError::Manifest { path, line, .. } = e else {
                unreachable!()
            };
            assert_eq!(path, Path::new("fuzz.csv"));
            assert!(line >= 1);
        }
        // Only an input of megabytes can hold more distinct labels than the limit.
        Err(DatasetError::TooManyLabels { .. }) => assert!(data.len() > 1 << 20),
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}
