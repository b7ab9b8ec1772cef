//! Chunking invariance: for any text (markup soup, and every golden fixture's input) under any
//! options and cut anywhere, streaming gives the one-shot message, and the streamed events obey
//! the contract at every step (`common::check_events`).
//!
//! Ground truth by construction (responses written the way the chat template writes them, from
//! random schemas and values, with the expected message known in advance and `json.dumps` as the
//! oracle) lives in one place per dialect: `tests/test_properties.py` and
//! `tests/test_properties_m3.py` (hypothesis). M3's chunking properties: `tests/properties_m3.rs`.

mod common;

use std::sync::OnceLock;

use common::*;
use minimax_parser::{parse_with_ids, Options};
use proptest::prelude::*;
use serde_json::json;

/// Pieces that MiniMax output and its failure modes are made of.
const PIECES: &[&str] = &[
    "<think>",
    "</think>",
    "<minimax:tool_call>",
    "</minimax:tool_call>",
    "<invoke name=\"",
    "<invoke name='",
    "<invoke name=",
    "<invoke",
    "\">",
    "'>",
    ">",
    "</invoke>",
    "<parameter name=\"",
    "<parameter name = \"",
    "<parameter",
    "</parameter>",
    "</parameter",
    "<",
    "</",
    "/",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "\n\n",
    "\t",
    "get_weather",
    "city",
    "days",
    "x",
    "3",
    "true",
    "null",
    "[1, 2]",
    "{\"k\": 1}",
    "Paris",
    "héllo",
    "天気",
    "😀",
    "\\",
    "&amp;",
    "name",
    "invoke",
    "parameter",
];

fn piece_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => "[a-z<>/\"' \n=é😀]{1,4}",
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

fn tools() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": ["integer", "null"]},
                "x": {"anyOf": [{"type": "array"}, {"type": "boolean"}]}
            }
        }}}),
    ]
}

fn any_options() -> impl Strategy<Value = Options> {
    flags().prop_map(|f| with_flags(options(&tools(), &serde_json::Value::Null), f))
}

fn flags() -> impl Strategy<Value = (bool, bool, bool)> {
    (any::<bool>(), any::<bool>(), any::<bool>())
}

/// The golden fixtures, read once (their inputs and tools; their expected messages are
/// `tests/fixtures.rs`'s business).
fn all_fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(fixtures)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_markup_is_chunking_invariant(
        text in piece_text(),
        opts in any_options(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..8),
    ) {
        let whole = parse_with_ids(&text, opts.clone(), ids());
        let pieces = cut(&text, &fractions);
        let got = stream(&opts, pieces.iter().map(String::as_str));
        prop_assert_eq!(got, whole);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Every fixture's input under its own tools, with its own options or any others, cut at
    /// random points (several at once; `tests/fixtures.rs` tries every single cut).
    #[test]
    fn fixture_inputs_are_chunking_invariant(
        index in any::<prop::sample::Index>(),
        own_options in any::<bool>(),
        other in flags(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let f = index.get(all_fixtures());
        let mut opts = options(&f.tools, &f.options);
        if !own_options {
            opts = with_flags(opts, other);
        }
        let whole = parse_with_ids(&f.input, opts.clone(), ids());
        let pieces = cut(&f.input, &fractions);
        let got = stream(&opts, pieces.iter().map(String::as_str));
        prop_assert_eq!(got, whole, "{} cut into {:?}", f.path.display(), pieces);
    }
}
