//! Chunking invariance for MiniMax-M3 (`Dialect::M3`, SPEC §7): for markup soup made of M3's
//! pieces, for responses written the way M3's chat template writes arguments (random JSON trees
//! as elements) and then damaged, and for every M3 fixture's input, under any options and cut
//! anywhere, streaming gives the one-shot message, and the streamed events obey the contract at
//! every step (`common::check_events`).
//!
//! The tools (`tests/common/tools_m3.json`, shared with the `m3_stream_vs_oneshot` fuzz target)
//! nest objects and arrays, recurse through `$ref`, and name parameters `item`, `invoke` and
//! `$text`. Ground truth by construction lives in `tests/test_properties_m3.py` (hypothesis).

mod common;

use std::sync::OnceLock;

use common::*;
use minimax_parser::{parse_with_ids, Dialect, Options};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The marker in front of every structural tag of an M3 tool-call block.
const N: &str = "]<]minimax[>[";

/// Tags as they follow `N` (or, damaged, appear without it).
const TAGS: &[&str] = &[
    "<tool_call>",
    "</tool_call>",
    "<invoke name=\"get_weather\">",
    "<invoke name='tree'>",
    "<invoke name=fs.read-file:v2>",
    "<invoke name=\"nope\">",
    "<invoke name=\"",
    "<invoke",
    "<invoke>",
    "</invoke>",
    "<location>",
    "</location>",
    "<days>",
    "</days>",
    "<opts>",
    "</opts>",
    "<unit>",
    "</unit>",
    "<deep>",
    "</deep>",
    "<tags>",
    "</tags>",
    "<item>",
    "</item>",
    "<rows>",
    "</rows>",
    "<k>",
    "</k>",
    "<grid>",
    "</grid>",
    "<any>",
    "</any>",
    "<either>",
    "</either>",
    "<text_or_list>",
    "</text_or_list>",
    "<root>",
    "</root>",
    "<children>",
    "</children>",
    "<name>",
    "</name>",
    "<$text>",
    "</$text>",
    "<tool_call",
    "<",
    "</",
    ">",
];

/// Text around and inside the tags: values, whitespace, the think tags, partial markers, M2's
/// markup (plain text in M3).
const TEXT: &[&str] = &[
    "<mm:think>",
    "</mm:think>",
    "<mm:thi",
    " ",
    "\n",
    "\t",
    "Paris",
    "3",
    "-2.5e3",
    "true",
    "null",
    "[1, 2]",
    "{\"k\": 1}",
    "天気",
    "😀",
    "&amp;",
    "]<]mini",
    "max[>[",
    "\"",
    "'",
    "=",
    "<think>",
    "<minimax:tool_call>",
    "x",
];

/// The keys the generated arguments use: the tools' parameters and nested keys, and one no
/// schema knows.
const KEYS: &[&str] = &[
    "location",
    "days",
    "unit",
    "opts",
    "limit",
    "deep",
    "tags",
    "rows",
    "k",
    "v",
    "grid",
    "any",
    "either",
    "text_or_list",
    "item",
    "invoke",
    "root",
    "children",
    "name",
    "$text",
    "-n",
    "a.b",
    "城市",
    "paths",
    "flags",
    "zz",
];

const TOOL_NAMES: &[&str] = &["get_weather", "tree", "fs.read-file:v2", "nope"];

fn m3_tools() -> &'static [Value] {
    static TOOLS: OnceLock<Vec<Value>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let v: Value = serde_json::from_str(include_str!("common/tools_m3.json")).expect("json");
        v.as_array().expect("a list").clone()
    })
}

fn m3_options(flags: (bool, bool, bool)) -> Options {
    let o = with_flags(options(m3_tools(), &json!({"dialect": "m3"})), flags);
    assert_eq!(o.dialect, Dialect::M3);
    o
}

fn flags() -> impl Strategy<Value = (bool, bool, bool)> {
    (any::<bool>(), any::<bool>(), any::<bool>())
}

fn piece() -> impl Strategy<Value = String> {
    let tag = || prop::sample::select(TAGS);
    prop_oneof![
        6 => tag().prop_map(|t| format!("{N}{t}")),
        1 => (prop::sample::select(&[" ", "\n", " \n "][..]), tag())
            .prop_map(|(w, t)| format!("{N}{w}{t}")),
        1 => tag().prop_map(str::to_string),
        1 => Just(N.to_string()),
        4 => prop::sample::select(TEXT).prop_map(str::to_string),
        1 => "[a-z<>/\"' \n=é😀\\]\\[]{1,4}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat())
}

/// Argument values: every JSON kind, nested.
fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9 <>&\"'\n天😀]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// The chat template's `to_xml`: no whitespace between tags, lists as `item` children, `null`
/// left out of objects (an empty `item` in a list), strings raw.
fn to_xml(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter().filter(|(_, x)| !x.is_null()) {
                out.push_str(&format!("{N}<{k}>"));
                to_xml(x, out);
                out.push_str(&format!("{N}</{k}>"));
            }
        }
        Value::Array(items) => {
            for x in items {
                out.push_str(&format!("{N}<item>"));
                to_xml(x, out);
                out.push_str(&format!("{N}</item>"));
            }
        }
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

/// A response as the template writes one: a think block (or the bare closer, or nothing), content,
/// a block of calls (possibly none), maybe text after it. Returns the text and the call names.
fn response() -> impl Strategy<Value = (String, Vec<&'static str>)> {
    let call = (
        prop::sample::select(TOOL_NAMES),
        prop::collection::vec((prop::sample::select(KEYS), json_tree()), 0..5),
    );
    (
        0..3u8,
        "[a-z \n<>&]{0,12}",
        "[a-z \n<>&天]{0,12}",
        prop::collection::vec(call, 0..4),
        prop::option::of("[a-z \n]{1,6}"),
    )
        .prop_map(|(think, reasoning, content, calls, after)| {
            let mut text = match think {
                0 => format!("<mm:think>{reasoning}</mm:think>"),
                1 => "</mm:think>".to_string(),
                _ => String::new(),
            };
            text.push_str(&content);
            let names: Vec<&'static str> = calls.iter().map(|(name, _)| *name).collect();
            if !calls.is_empty() {
                text.push_str(&format!("{N}<tool_call>\n"));
                for (name, args) in calls {
                    text.push_str(&format!("{N}<invoke name=\"{name}\">"));
                    let args = args.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    to_xml(&Value::Object(args), &mut text);
                    text.push_str(&format!("{N}</invoke>\n"));
                }
                text.push_str(&format!("{N}</tool_call>"));
                text.push_str(&after.unwrap_or_default());
            }
            (text, names)
        })
}

/// One edit of a rendered response, at a fraction of its length.
#[derive(Debug, Clone)]
enum Damage {
    /// The response ends there.
    Truncate(f64),
    /// The next `N` from there is lost (a lost opener or closer marker).
    DropMarker(f64),
    /// Up to 8 chars from there are lost.
    Delete(f64, usize),
    /// A soup piece is inserted there.
    Insert(f64, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        1 => (0.0f64..1.0).prop_map(Damage::Truncate),
        3 => (0.0f64..1.0).prop_map(Damage::DropMarker),
        1 => (0.0f64..1.0, 1..8usize).prop_map(|(f, n)| Damage::Delete(f, n)),
        2 => (0.0f64..1.0, piece()).prop_map(|(f, p)| Damage::Insert(f, p)),
    ]
}

fn apply(text: &mut String, d: &Damage) {
    match d {
        Damage::Truncate(f) => text.truncate(snap(text, *f)),
        Damage::DropMarker(f) => {
            let at = snap(text, *f);
            if let Some(i) = text[at..].find(N) {
                text.replace_range(at + i..at + i + N.len(), "");
            }
        }
        Damage::Delete(f, n) => {
            let at = snap(text, *f);
            let end = text[at..]
                .char_indices()
                .nth(*n)
                .map_or(text.len(), |(i, _)| at + i);
            text.replace_range(at..end, "");
        }
        Damage::Insert(f, p) => {
            let at = snap(text, *f);
            text.insert_str(at, p);
        }
    }
}

/// The M3 fixtures (groups `m3_*`, dialect m3), read once.
fn m3_fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    let all = FIXTURES.get_or_init(|| {
        fixtures()
            .into_iter()
            .filter(|f| f.options.get("dialect").and_then(Value::as_str) == Some("m3"))
            .collect()
    });
    assert!(!all.is_empty(), "no M3 fixtures (options.dialect = \"m3\")");
    all
}

/// Streaming at `fractions` (checked on the way) equals one-shot.
fn invariant(text: &str, opts: &Options, fractions: &[f64]) -> Result<(), TestCaseError> {
    let whole = parse_with_ids(text, opts.clone(), ids());
    let pieces = cut(text, fractions);
    let got = stream(opts, pieces.iter().map(String::as_str));
    prop_assert_eq!(got, whole, "{:?} cut into {:?}", text, pieces);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn m3_markup_is_chunking_invariant(
        text in soup(),
        f in flags(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..10),
    ) {
        invariant(&text, &m3_options(f), &fractions)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Template-shaped responses: whole, every call is complete and named as written; damaged,
    /// at least chunking-invariant.
    #[test]
    fn m3_rendered_responses_are_chunking_invariant(
        (text, names) in response(),
        damages in prop::collection::vec(damage(), 0..4),
        f in flags(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..10),
    ) {
        let opts = m3_options((f.0, false, f.2));
        let whole = parse_with_ids(&text, opts.clone(), ids());
        let got: Vec<&str> = whole.tool_calls.iter().map(|c| c.name.as_str()).collect();
        prop_assert_eq!(got, names, "{:?}", text);
        prop_assert!(whole.tool_calls.iter().all(|c| !c.incomplete), "{:?}", text);
        invariant(&text, &opts, &fractions)?;

        let mut damaged = text;
        for d in &damages {
            apply(&mut damaged, d);
        }
        invariant(&damaged, &m3_options(f), &fractions)?;
    }

    /// Every M3 fixture's input under its own options or any others (still M3), cut at random
    /// points (several at once; `tests/fixtures.rs` tries every single cut).
    #[test]
    fn m3_fixture_inputs_are_chunking_invariant(
        index in any::<prop::sample::Index>(),
        own_options in any::<bool>(),
        other in flags(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let f = index.get(m3_fixtures());
        let mut opts = options(&f.tools, &f.options);
        if !own_options {
            opts = with_flags(opts, other);
        }
        prop_assert_eq!(opts.dialect, Dialect::M3);
        invariant(&f.input, &opts, &fractions)?;
    }
}

/// The streaming checks past serde_json's nesting limit of 128: arguments may nest deeper.
#[test]
fn json_checks_work_past_the_serde_json_nesting_limit() {
    let deep = format!(
        "{{\"a\": {}\"x\\\"\\u00e9\", -1.5e3, true, {{\"k\": null}}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(serde_json::from_str::<Value>(&deep).is_err());
    for (i, _) in deep.char_indices() {
        assert!(check::is_json_prefix(&deep[..i]), "{:?}", &deep[..i]);
    }
    assert!(check::is_json_object(&deep));
    assert!(!check::is_json_object(&deep[..deep.len() - 1]));
    assert!(!check::is_json_object(&deep[6..deep.len() - 1]));
    for bad in [
        "[1,]",
        "{,",
        "[1 2]",
        "\"\\x\"",
        "01",
        "{1:2}",
        "{\"a\" 1}",
        "tx",
        "1]}",
    ] {
        let text = format!("{}{bad}", "[".repeat(200));
        assert!(!check::is_json_prefix(&text), "{bad}");
    }
}
