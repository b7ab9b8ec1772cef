//! Shared by the fuzz targets: options from a flag byte, cut points, and the streaming checks
//! (`tests/common/check.rs`, the one copy the integration tests use too, included by path).
#![allow(dead_code)]

use std::sync::Arc;

use minimax_parser::{
    parse_with_ids, Dialect, Message, Options, ReasoningMode, ToolCallsInReasoning, ToolSet,
};

#[path = "../../tests/common/check.rs"]
mod check;
use check::ids;

/// Bit 0: inline reasoning; bit 1: start where the dialect does not (in content for M2, in
/// reasoning for M3); bit 2: ignore tool calls in reasoning; bit 3: dialect M3.
pub fn options(tools: Arc<ToolSet>, flags: u8) -> Options {
    let dialect = if flags & 8 != 0 {
        Dialect::M3
    } else {
        Dialect::M2
    };
    Options {
        tools,
        reasoning: if flags & 1 != 0 {
            ReasoningMode::Inline
        } else {
            ReasoningMode::Separate
        },
        start_in_reasoning: dialect.starts_in_reasoning() != (flags & 2 != 0),
        tool_calls_in_reasoning: if flags & 4 != 0 {
            ToolCallsInReasoning::Ignore
        } else {
            ToolCallsInReasoning::Extract
        },
        dialect,
    }
}

/// Splits `data` at the first 0xFF (a byte UTF-8 never uses): (before, after).
pub fn split_ff(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    }
}

/// Feeds `pieces`, checks the streaming contract (`check::check_events`) and returns the merged
/// message. The check that every delta leaves a JSON prefix re-parses the arguments so far
/// (quadratic in their length), so it runs only when `prefixes`.
pub fn run(opts: &Options, pieces: &[&str], prefixes: bool) -> Message {
    check::stream_checked(opts, pieces.iter().copied(), prefixes)
}

/// Cuts `text` into pieces on char boundaries: each byte of `schedule` is the next piece's
/// length in chars (0 counts as 1; the last piece takes the rest). With no schedule, pieces of
/// 1..=7 chars.
pub fn cut<'a>(text: &'a str, schedule: &[u8]) -> Vec<&'a str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let mut pieces = Vec::new();
    let (mut at, mut k) = (0usize, 0usize);
    while at + 1 < bounds.len() {
        let step = match schedule.get(k) {
            Some(&b) => (b as usize).max(1),
            None if !schedule.is_empty() => bounds.len(),
            None => 1 + (k * 7 + text.len()) % 7,
        };
        let next = (at + step).min(bounds.len() - 1);
        pieces.push(&text[bounds[at]..bounds[next]]);
        at = next;
        k += 1;
    }
    pieces
}

/// The whole check for one text: streamed at `schedule`, one char at a time and in one piece,
/// each equal to the one-shot message.
pub fn check(text: &str, opts: &Options, schedule: &[u8]) {
    let whole = parse_with_ids(text, opts.clone(), ids());
    let pieces = cut(text, schedule);
    assert_eq!(run(opts, &pieces, true), whole, "streamed at {pieces:?}");
    let chars: Vec<&str> = text
        .char_indices()
        .map(|(i, c)| &text[i..i + c.len_utf8()])
        .collect();
    assert_eq!(run(opts, &chars, false), whole, "one char at a time");
    assert_eq!(run(opts, &[text], true), whole, "one piece");
}
