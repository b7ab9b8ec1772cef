//! Helpers shared by the integration tests: fixture loading and the streaming checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minimax_parser::{
    Event, IdGenerator, Message, MessageBuilder, Options, ReasoningMode, StreamParser,
    ToolCallsInReasoning, ToolSet,
};
use serde_json::Value;

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

/// Every fixture: the `*.json` files under `tests/fixtures/<group>/`. Files directly in
/// `tests/fixtures` (notes and data about the fixtures) are not fixtures.
pub fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
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

/// Deterministic ids so streamed and one-shot messages compare equal.
pub fn ids() -> IdGenerator {
    IdGenerator::from_fn(|i| format!("call_{i}"))
}

/// Feeds `pieces` one by one, checks the streaming contract on the way, returns the merged message.
pub fn stream<'a>(opts: &Options, pieces: impl IntoIterator<Item = &'a str>) -> Message {
    let mut p = StreamParser::with_ids(opts.clone(), ids());
    let mut events = Vec::new();
    for piece in pieces {
        events.extend(p.feed(piece).expect("feed"));
    }
    events.extend(p.finish().expect("finish"));
    check_events(&events);
    let mut b = MessageBuilder::new();
    b.extend(events);
    b.build()
}

/// The streaming contract: argument deltas concatenate to the end event's arguments, every
/// prefix is a prefix of valid JSON, and the final arguments are a JSON object.
pub fn check_events(events: &[Event]) {
    let mut args: std::collections::HashMap<usize, String> = Default::default();
    for e in events {
        match e {
            Event::ToolCallStart { index, .. } => {
                assert!(args.insert(*index, String::new()).is_none(), "index reused");
            }
            Event::ToolCallDelta { index, arguments } => {
                let a = args.get_mut(index).expect("delta before start");
                a.push_str(arguments);
                assert!(is_json_prefix(a), "not a JSON prefix: {a:?}");
            }
            Event::ToolCallEnd {
                index, arguments, ..
            } => {
                let a = args.remove(index).expect("end before start");
                assert_eq!(&a, arguments, "deltas do not add up to the arguments");
                let v: Value = serde_json::from_str(arguments)
                    .unwrap_or_else(|e| panic!("arguments not JSON ({e}): {arguments}"));
                assert!(v.is_object(), "arguments not an object: {arguments}");
            }
            Event::Reasoning(t) | Event::Content(t) => assert!(!t.is_empty(), "empty text event"),
        }
    }
    assert!(args.is_empty(), "a call never ended: {args:?}");
}

/// True when `s` is a prefix of some valid JSON text.
pub fn is_json_prefix(s: &str) -> bool {
    match serde_json::from_str::<Value>(s) {
        Ok(_) => true,
        Err(e) => e.is_eof(),
    }
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
