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
                assert!(
                    is_json_object(arguments),
                    "arguments not a JSON object: {arguments:?}"
                );
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
        Err(e) if too_deep(&e) => deep_json(s).is_some(),
        Err(e) => e.is_eof(),
    }
}

/// True when `s` is one JSON object.
pub fn is_json_object(s: &str) -> bool {
    match serde_json::from_str::<Value>(s) {
        Ok(v) => v.is_object(),
        Err(e) if too_deep(&e) => deep_json(s) == Some(true) && s.trim_start().starts_with('{'),
        Err(_) => false,
    }
}

/// serde_json refuses to nest deeper than 128, JSON has no such limit, and arguments may nest
/// deeper: an M3 call's elements nest up to 128 deep (SPEC §9), a schema-less leaf among them
/// may hold JSON text, and an M2 value at JSON's nesting limit sits inside the arguments object.
fn too_deep(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("recursion limit exceeded")
}

/// The JSON check without a nesting limit: the structure on an explicit stack, each scalar (a
/// string, a number, a literal) by serde_json. `None`: not a prefix of JSON text; otherwise
/// whether `s` is complete.
fn deep_json(s: &str) -> Option<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum Want {
        Value,
        ValueOrClose,
        Key,
        KeyOrClose,
        Colon,
        CommaOrClose,
        End,
    }
    let b = s.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut want = Want::Value;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let after = |stack: &[u8]| {
            if stack.is_empty() {
                Want::End
            } else {
                Want::CommaOrClose
            }
        };
        match (want, c) {
            (_, b' ' | b'\t' | b'\n' | b'\r') => {}
            (Want::ValueOrClose, b']') | (Want::KeyOrClose, b'}') => {
                stack.pop();
                want = after(&stack);
            }
            (Want::Value | Want::ValueOrClose, b'{' | b'[') => {
                stack.push(c);
                want = if c == b'{' {
                    Want::KeyOrClose
                } else {
                    Want::ValueOrClose
                };
            }
            (Want::Value | Want::ValueOrClose | Want::Key | Want::KeyOrClose, _) => {
                let key = matches!(want, Want::Key | Want::KeyOrClose);
                if key && c != b'"' {
                    return None;
                }
                let end = scalar_end(b, i);
                match serde_json::from_str::<Value>(&s[i..end]) {
                    Ok(_) => {}
                    Err(e) if e.is_eof() && end == b.len() => return Some(false),
                    Err(_) => return None,
                }
                want = if key { Want::Colon } else { after(&stack) };
                i = end;
                continue;
            }
            (Want::Colon, b':') => want = Want::Value,
            (Want::CommaOrClose, b',') => {
                want = if stack.last() == Some(&b'{') {
                    Want::Key
                } else {
                    Want::Value
                };
            }
            (Want::CommaOrClose, b']') | (Want::CommaOrClose, b'}')
                if stack.last() == Some(&if c == b']' { b'[' } else { b'{' }) =>
            {
                stack.pop();
                want = after(&stack);
            }
            _ => return None,
        }
        i += 1;
    }
    Some(want == Want::End)
}

/// Where the scalar starting at `i` ends: after the closing quote of a string (or at the end),
/// else at the next structural byte or whitespace.
fn scalar_end(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'"' {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'"' => return i + 1,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        return b.len();
    }
    while i < b.len() && !b",:[]{} \t\n\r".contains(&b[i]) {
        i += 1;
    }
    i
}
