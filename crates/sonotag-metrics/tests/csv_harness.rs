//! The `metrics_csv` fuzz target's harness (`harness/metrics_csv.rs`) as property tests, so
//! CI runs its checks on generated CSV pairs.

use proptest::prelude::*;
use sonotag_metrics::MAX_BINS;

use crate::harness::metrics_csv::{check, run};

/// Found by the fuzz target: a quoted cell holding line breaks made a three-line message.
#[test]
fn regression_a_quoted_cell_with_line_breaks_is_one_line() {
    let crash = b"\x0f\0\0\0\0\0\0\0\0\0\0?\0a,b\n0.1,\"\x002,c\n0,\n0,1\n";
    run(crash);
}

/// CSV-looking bytes: short cells from a small alphabet, so parsing gets past the header.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        8 => prop::sample::select(b"01.,\n;ab-e5 \"\r".to_vec()),
        1 => Just(0xFFu8),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_csv_pair_gives_finite_metrics_or_a_typed_error(
        data in csvish(),
        bins in prop_oneof![1usize..40, Just(0usize), Just(MAX_BINS + 1), Just(usize::MAX)],
        threshold in prop_oneof![0.0f32..=1.0, Just(f32::NAN), Just(-1.0f32)],
        logits in any::<bool>(),
    ) {
        check(&data, bins, threshold, logits);
    }

    #[test]
    fn well_formed_pairs_give_finite_metrics(
        cells in prop::collection::vec((0u8..=1, 0.0f32..=1.0), 3..30),
    ) {
        let mut s = String::from("a,b,c\n");
        let mut t = s.clone();
        for row in cells.chunks_exact(3) {
            s.push_str(&format!("{},{},{}\n", row[0].1, row[1].1, row[2].1));
            t.push_str(&format!("{},{},{}\n", row[0].0, row[1].0, row[2].0));
        }
        let mut data = s.into_bytes();
        data.push(0xFF);
        data.extend_from_slice(t.as_bytes());
        check(&data, 15, 0.5, false);
    }

    #[test]
    fn fuzz_inputs_decode_their_header(data in prop::collection::vec(any::<u8>(), 0..64)) {
        run(&data);
    }
}
