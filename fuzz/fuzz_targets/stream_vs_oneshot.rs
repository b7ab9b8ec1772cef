//! Streaming equals one-shot, for any text cut anywhere.
//!
//! Input layout: `text [0xFF flags schedule…]`. `text` is the response (invalid UTF-8 is
//! replaced, so every input is used); 0xFF never occurs in UTF-8, so a fixture's raw input is a
//! valid seed. `flags` picks the options (bit 0 inline reasoning, bit 1 start where the dialect
//! does not, bit 2 ignore tool calls in reasoning, bit 3 dialect M3; `common::options`); each
//! schedule byte is the length in chars of the next piece. Without control bytes the dialect is
//! M2 and the text is cut into pieces of 1..=7 chars.
//!
//! Checks: the merged stream equals `parse_with_ids` (both name calls `call_<i>`); in the cut
//! run every argument delta leaves the call's arguments a JSON prefix; the deltas of a call
//! concatenate to its `ToolCallEnd` arguments, which parse as a JSON object; every call ends;
//! one char at a time and one piece give the same message too.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use minimax_parser::ToolSet;
use serde_json::Value;

/// Tools with every kind of schema, under the names the fixtures use.
fn tools() -> Arc<ToolSet> {
    static TOOLS: OnceLock<Arc<ToolSet>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let v: Value = serde_json::from_str(include_str!("tools.json")).expect("tools.json");
            Arc::new(ToolSet::from_json(v.as_array().expect("a list")).expect("valid tools"))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let (text, control) = common::split_ff(data);
    let text = String::from_utf8_lossy(text);
    let flags = control.first().copied().unwrap_or(0);
    let schedule = control.get(1..).unwrap_or(&[]);
    common::check(&text, &common::options(tools(), flags), schedule);
});
