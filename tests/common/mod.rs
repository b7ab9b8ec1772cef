//! Helpers shared by the integration tests: fixture loading and the streaming checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minimax_parser::{Message, Options, ReasoningMode, ToolCallsInReasoning, ToolSet};
use serde_json::Value;

pub mod check;
pub use check::ids;

/// One golden fixture file.
pub struct Fixture {
    pub path: PathBuf,
    pub input: String,
    pub tools: Vec<Value>,
    pub options: Value,
    pub expected: Value,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// The golden fixtures' one home, `<group>/<name>.json`: shipped in the Python package as
/// package data (the package's loader, `minimax_parser.conformance.load_fixtures`, reads the
/// same folder); written by `tests/fixtures/make_fixtures.py`.
pub const FIXTURES_DIR: &str = "python/minimax_parser/fixtures";

/// Every fixture: the `*.json` files in the group folders of [`FIXTURES_DIR`]. Files directly in
/// it are not fixtures.
pub fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES_DIR);
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    let mut paths = Vec::new();
    for g in &groups {
        collect(g, &mut paths);
    }
    paths
        .into_iter()
        .map(|path| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Fixture {
                input: v["input"].as_str().expect("input").to_string(),
                tools: v
                    .get("tools")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                options: v.get("options").cloned().unwrap_or(Value::Null),
                expected: v["expected"].clone(),
                path,
            }
        })
        .collect()
}

/// Parser options from a fixture's `tools` and `options`.
pub fn options(tools: &[Value], o: &Value) -> Options {
    let mut opts = Options {
        tools: Arc::new(ToolSet::from_json(tools).expect("valid tools")),
        ..Options::default()
    };
    if let Some(r) = o.get("reasoning").and_then(Value::as_str) {
        opts.reasoning = match r {
            "inline" => ReasoningMode::Inline,
            "separate" => ReasoningMode::Separate,
            other => panic!("bad reasoning option {other}"),
        };
    }
    if let Some(d) = o.get("dialect").and_then(Value::as_str) {
        // The dialect first: it decides where a response starts unless the fixture says.
        opts.dialect = d.parse().expect("dialect option");
        opts.start_in_reasoning = opts.dialect.starts_in_reasoning();
    }
    if let Some(b) = o.get("start_in_reasoning").and_then(Value::as_bool) {
        opts.start_in_reasoning = b;
    }
    if let Some(t) = o.get("tool_calls_in_reasoning").and_then(Value::as_str) {
        opts.tool_calls_in_reasoning = match t {
            "ignore" => ToolCallsInReasoning::Ignore,
            "extract" => ToolCallsInReasoning::Extract,
            other => panic!("bad tool_calls_in_reasoning option {other}"),
        };
    }
    opts
}

/// Feeds `pieces` one by one, checks the whole streaming contract on the way (see
/// [`check::check_events`]), returns the merged message.
pub fn stream<'a>(opts: &Options, pieces: impl IntoIterator<Item = &'a str>) -> Message {
    check::stream_checked(opts, pieces, true)
}

/// The message as the fixture's `expected` shape.
pub fn to_expected(m: &Message) -> Value {
    serde_json::json!({
        "reasoning": m.reasoning,
        "content": m.content,
        "tool_calls": m.tool_calls.iter().map(|c| serde_json::json!({
            "name": c.name, "arguments": c.arguments, "incomplete": c.incomplete,
        })).collect::<Vec<_>>(),
    })
}

/// Char boundaries of `s`, excluding 0 and `s.len()`.
pub fn boundaries(s: &str) -> Vec<usize> {
    s.char_indices()
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .collect()
}

/// `o` with the options picked by `(inline, start_in_reasoning, ignore tool calls in reasoning)`;
/// the dialect stays.
pub fn with_flags(mut o: Options, (inline, start, ignore): (bool, bool, bool)) -> Options {
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
}

/// Cuts `s` at the given fractions of its length (snapped back to char boundaries).
pub fn cut(s: &str, fractions: &[f64]) -> Vec<String> {
    let mut points: Vec<usize> = fractions.iter().map(|&f| snap(s, f)).collect();
    points.push(0);
    points.push(s.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| s[w[0]..w[1]].to_string())
        .collect()
}

/// The byte offset at fraction `f` of `s`, snapped back to a char boundary.
pub fn snap(s: &str, f: f64) -> usize {
    let mut i = ((s.len() as f64) * f) as usize;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
