//! Criterion benchmark of compiling request `tools` (SPEC §9): time against JSON size, from 1 KB
//! to 1 MB, for several shapes, including the `$ref` fan-out that used to be exponential.
//!
//! Run: `cargo bench --bench schema`. Throughput is reported in bytes of tools JSON, so a flat
//! MB/s across sizes means linear cost.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use minimax_parser::ToolSet;
use serde_json::{json, Value};

/// One tool of a given shape; `i` makes names unique.
fn tool(shape: &str, i: usize) -> Value {
    let parameters = match shape {
        // A typical agent tool: a dozen typed, described parameters.
        "flat" => {
            let props: serde_json::Map<String, Value> = (0..12)
                .map(|p| {
                    let t = ["string", "integer", "boolean", "number"][p % 4];
                    (
                        format!("param_{p}"),
                        json!({"type": t, "description": "what this parameter is for"}),
                    )
                })
                .collect();
            json!({"type": "object", "properties": props})
        }
        // Definitions referencing the next one four times over, 40 deep (the attack).
        "ref_fan_out" => {
            let defs: serde_json::Map<String, Value> = (0..40)
                .map(|d| {
                    let next = json!({"$ref": format!("#/$defs/d{}", d + 1)});
                    (
                        format!("d{d}"),
                        json!({"anyOf": [next.clone(), next.clone(), next.clone(), next]}),
                    )
                })
                .chain([("d40".to_string(), json!({"type": "integer"}))])
                .collect();
            json!({"$defs": defs, "properties": {"x": {"$ref": "#/$defs/d0"}}})
        }
        // A property whose alternatives all point back at itself.
        "self_ref" => {
            json!({"properties": {"x": {"anyOf": vec![json!({"$ref": "#/properties/x"}); 32]}}})
        }
        // Unions nested 50 deep.
        "nested" => {
            let mut s = json!({"type": ["string", "null"]});
            for _ in 0..50 {
                s = json!({"anyOf": [s, {"type": "integer"}]});
            }
            json!({"properties": {"x": s}})
        }
        other => unreachable!("unknown shape {other}"),
    };
    json!({"type": "function", "function": {"name": format!("tool_{i}"), "parameters": parameters}})
}

/// Tools of `shape` adding up to about `bytes` of JSON; returns them and their exact size.
fn tools(shape: &str, bytes: usize) -> (Vec<Value>, usize) {
    let one = serde_json::to_string(&tool(shape, 0)).map_or(1, |s| s.len());
    let n = (bytes / one).max(1);
    let list: Vec<Value> = (0..n).map(|i| tool(shape, i)).collect();
    let size = serde_json::to_string(&list).map_or(0, |s| s.len());
    (list, size)
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile_tools");
    g.sample_size(20);
    for shape in ["flat", "ref_fan_out", "self_ref", "nested"] {
        for kb in [1, 10, 100, 1000] {
            let (list, size) = tools(shape, kb * 1000);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new(shape, format!("{kb}KB")), &list, |b, l| {
                b.iter(|| ToolSet::from_json(black_box(l)).map(|s| s.is_empty()))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
