//! Chunking invariance on generated input: for any text and any cut points, streaming gives the
//! one-shot message, and the streamed arguments obey the contract at every step.

mod common;

use common::*;
use minimax_parser::{parse_with_ids, Options, ReasoningMode, ToolCallsInReasoning};
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
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(inline, start, ignore)| {
        let mut o = options(&tools(), &serde_json::Value::Null);
        o.reasoning = if inline {
            ReasoningMode::Inline
        } else {
            ReasoningMode::Separate
        };
        o.start_in_reasoning = start;
        o.tool_calls_in_reasoning = if ignore {
            ToolCallsInReasoning::Ignore
        } else {
            ToolCallsInReasoning::Extract
        };
        o
    })
}

/// Cuts `s` at the given fractions (snapped to char boundaries).
fn cut(s: &str, fractions: &[f64]) -> Vec<String> {
    let mut points: Vec<usize> = fractions
        .iter()
        .map(|f| {
            let mut i = ((s.len() as f64) * f) as usize;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        })
        .collect();
    points.push(0);
    points.push(s.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| s[w[0]..w[1]].to_string())
        .collect()
}

/// A well-formed response the way the chat template writes it.
fn well_formed() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-zA-Z0-9 é天😀<>/\"'\n]{0,20}",
        Just("</parameter> not the end".to_string()),
        Just("a</invoke>b".to_string()),
        Just("3".to_string()),
        Just("null".to_string()),
    ];
    let param = (
        prop::sample::select(vec!["city", "days", "x", "other"]),
        value,
    )
        .prop_map(|(k, v)| format!("<parameter name=\"{k}\">{v}</parameter>\n"));
    let invoke = (
        prop::sample::select(vec!["get_weather", "unknown.tool"]),
        prop::collection::vec(param, 0..4),
    )
        .prop_map(|(n, ps)| format!("<invoke name=\"{n}\">\n{}</invoke>\n", ps.concat()));
    let block = prop::collection::vec(invoke, 1..3)
        .prop_map(|is| format!("<minimax:tool_call>\n{}</minimax:tool_call>", is.concat()));
    (
        "[a-z \n]{0,30}",
        "[a-z \n]{0,30}",
        prop::option::of(block),
        "[a-z \n]{0,10}",
    )
        .prop_map(|(r, c, b, tail)| format!("{r}</think>\n\n{c}{}{tail}", b.unwrap_or_default()))
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

    #[test]
    fn well_formed_is_chunking_invariant(
        text in well_formed(),
        opts in any_options(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let whole = parse_with_ids(&text, opts.clone(), ids());
        let chars: Vec<String> = text.chars().map(String::from).collect();
        prop_assert_eq!(&stream(&opts, chars.iter().map(String::as_str)), &whole);
        let pieces = cut(&text, &fractions);
        prop_assert_eq!(stream(&opts, pieces.iter().map(String::as_str)), whole);
    }

    #[test]
    fn string_values_round_trip(value in "[a-zA-Z0-9 é天😀<>/\"'\\\\\n\t]{0,40}") {
        // A string-only value comes back verbatim, whatever markup-like text it holds, as long
        // as a `</parameter>` in it is not followed by a real follower.
        prop_assume!(!value.contains("</parameter>") && !value.contains("</invoke>"));
        let text = format!(
            "</think><minimax:tool_call><invoke name=\"get_weather\"><parameter name=\"city\">{value}</parameter></invoke></minimax:tool_call>"
        );
        let opts = options(&tools(), &serde_json::Value::Null);
        let msg = parse_with_ids(&text, opts, ids());
        prop_assert_eq!(msg.tool_calls.len(), 1);
        let args: serde_json::Value = serde_json::from_str(&msg.tool_calls[0].arguments).unwrap();
        prop_assert_eq!(args["city"].as_str(), Some(value.as_str()));
    }
}
