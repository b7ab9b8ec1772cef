//! MiniMax-M3 (`Dialect::M3`): streaming equals one-shot, for any text cut anywhere, under tools
//! whose parameters nest objects and arrays (M3 writes every argument as elements, typed by
//! these schemas: `items`, `properties`, `additionalProperties`, a recursive `$ref`).
//!
//! Input layout: `text [0xFF flags schedule…]`, as in `stream_vs_oneshot`; the dialect is always
//! M3 (flag bit 3 is forced on), so bit 1 set means starting in reasoning (the template's
//! `thinking_mode="enabled"`). Without control bytes the text starts in content and is cut into
//! pieces of 1..=7 chars. The tools are `tests/common/tools_m3.json`, the ones the M3 property
//! tests use.
//!
//! Checks (`common::check`, shared with the other targets and `tests/common/check.rs`): the
//! merged stream equals `parse_with_ids`; in the cut run every argument delta leaves the call's
//! arguments a JSON prefix; the deltas of a call concatenate to its `ToolCallEnd` arguments,
//! which parse as a JSON object; every call ends; one char at a time and one piece give the same
//! message too; no panic.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use minimax_parser::ToolSet;
use serde_json::Value;

fn tools() -> Arc<ToolSet> {
    static TOOLS: OnceLock<Arc<ToolSet>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let v: Value = serde_json::from_str(include_str!("../../tests/common/tools_m3.json"))
                .expect("tools_m3.json");
            Arc::new(ToolSet::from_json(v.as_array().expect("a list")).expect("valid tools"))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let (text, control) = common::split_ff(data);
    let text = String::from_utf8_lossy(text);
    let flags = control.first().copied().unwrap_or(0) | 8;
    let schedule = control.get(1..).unwrap_or(&[]);
    common::check(&text, &common::options(tools(), flags), schedule);
});
