//! Arbitrary tool schemas with arbitrary text: never a panic, and streaming equals one-shot.
//!
//! Input layout: `tools-json 0xFF text [0xFF flags schedule…]`. When `tools-json` is not a JSON
//! list of valid tools, `ToolSet::from_json` must return an error (misuse), not panic, and the
//! input is done. Otherwise the text is checked as in `stream_vs_oneshot` under those tools
//! (the same flag byte: bit 3 picks M3, whose element arguments are typed through `items`,
//! `properties` and `additionalProperties`): this reaches the schema code with odd shapes
//! (`$ref` chains and cycles, nested unions, `enum`/`const` of every kind, `nullable`, schemas
//! without `type`).
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use minimax_parser::ToolSet;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (tools, rest) = common::split_ff(data);
    let Ok(tools) = serde_json::from_slice::<Value>(tools) else {
        return;
    };
    let Some(list) = tools.as_array() else {
        return;
    };
    let Ok(set) = ToolSet::from_json(list) else {
        return;
    };
    let (text, control) = common::split_ff(rest);
    let text = String::from_utf8_lossy(text);
    let flags = control.first().copied().unwrap_or(0);
    let schedule = control.get(1..).unwrap_or(&[]);
    common::check(&text, &common::options(Arc::new(set), flags), schedule);
});
