//! The streaming contract, checked on the events of one response. The one copy: the integration
//! tests use it through `tests/common/mod.rs`, the fuzz targets include this file by path from
//! `fuzz/fuzz_targets/common.rs` (so it may use only `minimax_parser` and `serde_json`).

use std::collections::HashMap;

use minimax_parser::{Event, IdGenerator, Message, MessageBuilder, Options, StreamParser};
use serde_json::Value;

/// Deterministic ids, so streamed and one-shot messages compare equal.
pub fn ids() -> IdGenerator {
    IdGenerator::from_fn(|i| format!("call_{i}"))
}

/// Feeds `pieces` one by one, checks the streaming contract on the events (with the JSON-prefix
/// check when `prefixes`, see [`check_events`]) and returns the merged message.
pub fn stream_checked<'a>(
    opts: &Options,
    pieces: impl IntoIterator<Item = &'a str>,
    prefixes: bool,
) -> Message {
    let mut p = StreamParser::with_ids(opts.clone(), ids());
    let mut events = Vec::new();
    for piece in pieces {
        events.extend(p.feed(piece).expect("feed"));
    }
    events.extend(p.finish().expect("finish"));
    check_events(&events, prefixes);
    let mut b = MessageBuilder::new();
    b.extend(events);
    b.build()
}

/// The streaming contract: a call starts once per index before its deltas; its argument deltas
/// concatenate to its `ToolCallEnd` arguments, which parse as a JSON object; every call ends;
/// text events are never empty. With `prefixes`, also: after every delta the call's arguments so
/// far are a prefix of valid JSON (this re-parses them, quadratic in their length).
pub fn check_events(events: &[Event], prefixes: bool) {
    let mut args: HashMap<usize, String> = HashMap::new();
    for e in events {
        match e {
            Event::ToolCallStart { index, .. } => {
                assert!(args.insert(*index, String::new()).is_none(), "index reused");
            }
            Event::ToolCallDelta { index, arguments } => {
                let a = args.get_mut(index).expect("delta before start");
                a.push_str(arguments);
                assert!(
                    !prefixes || is_json_prefix(a),
                    "arguments not a JSON prefix: {a:?}"
                );
            }
            Event::ToolCallEnd {
                index, arguments, ..
            } => {
                let a = args.remove(index).expect("end before start");
                assert_eq!(&a, arguments, "deltas do not add up to the arguments");
                let v: Value = serde_json::from_str(arguments)
                    .unwrap_or_else(|e| panic!("arguments not JSON ({e}): {arguments:?}"));
                assert!(v.is_object(), "arguments not an object: {arguments:?}");
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
