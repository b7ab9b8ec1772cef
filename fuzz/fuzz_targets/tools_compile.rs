//! Hostile tool schemas (SPEC §9): compiling any `tools` is linear, bounded and never panics,
//! and the types it finds agree with a reachability oracle on arbitrary `$ref` graphs.
//!
//! The input is read two ways:
//! 1. as JSON text: when it is a list, `ToolSet::from_json` must return (`Ok` or an error), never
//!    panic; libFuzzer's `-timeout` and `-rss_limit_mb` bound time and memory;
//! 2. as a recipe for a `$defs` graph (the bytes pick how many definitions, each one's own type,
//!    its combinator and which definitions it references; cycles, self-references and fan-out
//!    arise freely), whose compiled parameter types must equal the union of the own types of
//!    every definition reachable from the parameter's target: what `$ref` resolution means.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minimax_parser::{ToolSet, Types};
use serde_json::{json, Map, Value};

const TYPE_NAMES: [Option<&str>; 8] = [
    None,
    Some("null"),
    Some("boolean"),
    Some("integer"),
    Some("number"),
    Some("string"),
    Some("object"),
    Some("array"),
];
const TYPES: [Types; 8] = [
    Types::ANY,
    Types::NULL,
    Types::BOOLEAN,
    Types::INTEGER,
    Types::NUMBER,
    Types::STRING,
    Types::OBJECT,
    Types::ARRAY,
];
const COMBINATORS: [&str; 4] = ["anyOf", "oneOf", "allOf", "$ref"];

fuzz_target!(|data: &[u8]| {
    if let Ok(Value::Array(list)) = serde_json::from_slice::<Value>(data) {
        let _ = ToolSet::from_json(&list);
    }
    check_graph(data);
});

fn check_graph(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next().unwrap_or(0);
    // At most 60 definitions: two hops a definition stays within the depth limit of 128.
    let n = 1 + usize::from(next()) % 60;
    let mut own = vec![Types::ANY; n];
    let mut edges = vec![Vec::new(); n];
    let mut defs = Map::new();
    for i in 0..n {
        let t = usize::from(next()) % TYPE_NAMES.len();
        own[i] = TYPES[t];
        let combinator = COMBINATORS[usize::from(next()) % COMBINATORS.len()];
        let fan_out = if combinator == "$ref" {
            1
        } else {
            usize::from(next()) % 6
        };
        let targets: Vec<usize> = (0..fan_out).map(|_| usize::from(next()) % n).collect();
        let mut def = Map::new();
        if let Some(name) = TYPE_NAMES[t] {
            def.insert("type".into(), json!(name));
        }
        let refs: Vec<Value> = targets
            .iter()
            .map(|j| json!({"$ref": format!("#/$defs/d{j}")}))
            .collect();
        if combinator == "$ref" {
            def.insert(
                "$ref".into(),
                refs[0].get("$ref").cloned().unwrap_or_default(),
            );
        } else if !refs.is_empty() {
            def.insert(combinator.into(), Value::Array(refs));
        }
        edges[i] = targets;
        defs.insert(format!("d{i}"), Value::Object(def));
    }
    let params: Vec<usize> = (0..1 + usize::from(next()) % 8)
        .map(|_| usize::from(next()) % n)
        .collect();
    let properties: Map<String, Value> = params
        .iter()
        .enumerate()
        .map(|(p, j)| (format!("p{p}"), json!({"$ref": format!("#/$defs/d{j}")})))
        .collect();
    let tool = json!({"name": "f", "parameters": {"$defs": defs, "properties": properties}});
    let set = match ToolSet::from_json(&[tool]) {
        Ok(set) => set,
        Err(e) => panic!("a graph within the limits was refused: {e}"),
    };
    for (p, &target) in params.iter().enumerate() {
        let want = reachable_types(target, &own, &edges);
        let got = set.param_types("f", &format!("p{p}"));
        assert_eq!(got, want, "p{p} -> d{target}");
    }
}

/// The union of the own types of every definition reachable from `start` (itself included).
fn reachable_types(start: usize, own: &[Types], edges: &[Vec<usize>]) -> Types {
    let mut seen = vec![false; own.len()];
    let mut todo = vec![start];
    let mut t = Types::ANY;
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        t |= own[i];
        todo.extend(&edges[i]);
    }
    t
}
