//! Tool schemas, reduced to the JSON types each parameter admits (SPEC §4, §9).
//!
//! The model writes every value as raw text; only the request's JSON Schema says whether
//! `123` is a number or a string. Schemas are reduced once, when a parser is built, to a small
//! set of admitted types per parameter, so conversion during parsing ([`crate::convert`]) is a
//! table lookup. Schemas come from strangers: compiling is linear in their size and bounded in
//! depth.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde_json::Value;

use crate::json;

/// The JSON types a parameter's schema admits, as a bit set.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Types(u8);

impl Types {
    /// JSON `null`.
    pub const NULL: Types = Types(1);
    /// JSON `true` / `false`.
    pub const BOOLEAN: Types = Types(2);
    /// A JSON number without fraction or exponent.
    pub const INTEGER: Types = Types(4);
    /// Any JSON number.
    pub const NUMBER: Types = Types(8);
    /// A string (the raw text).
    pub const STRING: Types = Types(16);
    /// A JSON object.
    pub const OBJECT: Types = Types(32);
    /// A JSON array.
    pub const ARRAY: Types = Types(64);
    /// No type information: the value becomes JSON if it parses, else the raw string.
    pub const ANY: Types = Types(0);

    /// True when every type in `other` is admitted.
    pub fn contains(self, other: Types) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// True when no type information is known.
    pub fn is_any(self) -> bool {
        self.0 == 0
    }

    /// True when the value must be kept verbatim as a string, so it can stream as it arrives.
    pub fn is_string_only(self) -> bool {
        self == Types::STRING
    }

    /// True when a value of type `t` may appear: `t` is admitted, or nothing is known.
    pub fn admits(self, t: Types) -> bool {
        self.is_any() || self.contains(t)
    }

    fn from_name(name: &str) -> Types {
        match name {
            "null" => Types::NULL,
            "boolean" => Types::BOOLEAN,
            "integer" => Types::INTEGER,
            "number" => Types::NUMBER,
            "string" => Types::STRING,
            "object" => Types::OBJECT,
            "array" => Types::ARRAY,
            _ => Types::ANY,
        }
    }

    fn of_value(v: &Value) -> Types {
        match v {
            Value::Null => Types::NULL,
            Value::Bool(_) => Types::BOOLEAN,
            Value::Number(n) => {
                if json::is_integer(&n.to_string()) {
                    Types::INTEGER
                } else {
                    Types::NUMBER
                }
            }
            Value::String(_) => Types::STRING,
            Value::Array(_) => Types::ARRAY,
            Value::Object(_) => Types::OBJECT,
        }
    }
}

impl std::ops::BitOr for Types {
    type Output = Types;
    fn bitor(self, rhs: Types) -> Types {
        Types(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Types {
    fn bitor_assign(&mut self, rhs: Types) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Types {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("Types(any)");
        }
        let names = [
            "null", "boolean", "integer", "number", "string", "object", "array",
        ];
        let set: Vec<&str> = (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        write!(f, "Types({})", set.join("|"))
    }
}

/// FNV-1a: names are short and come from the request, so a simple fast hash beats SipHash.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<V> = HashMap<String, V, BuildHasherDefault<Fnv>>;

/// How many `anyOf`/`oneOf`/`allOf`/`$ref` hops one schema may chain before it is refused
/// (SPEC §9). Real schemas use a handful; the limit keeps the compiler's recursion shallow.
pub const MAX_SCHEMA_DEPTH: usize = 128;

/// Reduces the schemas of one tool to type sets, in time linear in the schema's size: every
/// schema object is visited once and memoised by address, so `$ref` targets are resolved once
/// however often they are used, and fan-out cannot multiply. `$ref` cycles are strongly connected
/// components (Tarjan): every member of a cycle admits the union of what the cycle admits.
struct Compiler<'a> {
    root: &'a Value,
    nodes: HashMap<*const Value, Node>,
    /// Nodes whose visit has begun and whose component is not closed yet.
    stack: Vec<*const Value>,
    next: usize,
}

#[derive(Clone, Copy)]
enum Node {
    /// Being visited; `order` is its visit number.
    Open {
        order: usize,
    },
    Done(Types),
}

/// "Reaches no open node."
const NONE_OPEN: usize = usize::MAX;

impl<'a> Compiler<'a> {
    fn new(root: &'a Value) -> Self {
        Compiler {
            root,
            nodes: HashMap::new(),
            stack: Vec::new(),
            next: 0,
        }
    }

    fn types(&mut self, schema: &'a Value) -> Result<Types, crate::Error> {
        self.visit(schema, 0).map(|(t, ..)| t)
    }

    /// The types of `schema`, the lowest visit number of an open node it reaches, and — while
    /// its component is still open — the rule flags of the members seen so far.
    fn visit(
        &mut self,
        schema: &'a Value,
        depth: usize,
    ) -> Result<(Types, usize, Flags), crate::Error> {
        let Value::Object(map) = schema else {
            return Ok((Types::ANY, NONE_OPEN, Flags::default()));
        };
        if depth > MAX_SCHEMA_DEPTH {
            return Err(crate::Error::InvalidTool(format!(
                "schema nested deeper than {MAX_SCHEMA_DEPTH} levels of anyOf/oneOf/allOf/$ref \
                 (the limit)"
            )));
        }
        let key: *const Value = schema;
        match self.nodes.get(&key) {
            Some(Node::Done(t)) => return Ok((*t, NONE_OPEN, Flags::default())),
            // A cycle: what it adds arrives when its component closes.
            Some(Node::Open { order }) => return Ok((Types::ANY, *order, Flags::default())),
            None => {}
        }
        let order = self.next;
        self.next += 1;
        self.nodes.insert(key, Node::Open { order });
        self.stack.push(key);

        let mut t = own_types(map);
        let mut flags = Flags::of(map);
        let mut low = NONE_OPEN;
        let mut take = |(ct, cl, cf): (Types, usize, Flags)| {
            t |= ct;
            low = low.min(cl);
            flags = flags.or(cf);
        };
        for k in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(members)) = map.get(k) {
                for m in members {
                    take(self.visit(m, depth + 1)?);
                }
            }
        }
        if let Some(Value::String(r)) = map.get("$ref") {
            if let Some(target) = resolve_ref(r, self.root) {
                take(self.visit(target, depth + 1)?);
            }
        }
        if low < order {
            // Part of a cycle through an open ancestor: the ancestor closes the component.
            return Ok((t, low, flags));
        }
        // The root of its component: everything above it on the stack is in the cycle, and each
        // member reaches all the others, so all admit the same types: the union, with the rules
        // for `properties`, `items` and `nullable` applied once to the whole component (so the
        // result does not depend on where the search entered the cycle).
        let t = flags.apply(t);
        while let Some(member) = self.stack.pop() {
            self.nodes.insert(member, Node::Done(t));
            if member == key {
                break;
            }
        }
        Ok((t, NONE_OPEN, Flags::default()))
    }
}

/// The keywords that add a type by rule rather than by name.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    properties: bool,
    items: bool,
    nullable: bool,
}

impl Flags {
    fn of(map: &serde_json::Map<String, Value>) -> Flags {
        Flags {
            properties: map.contains_key("properties"),
            items: map.contains_key("items"),
            nullable: map.get("nullable") == Some(&Value::Bool(true)),
        }
    }

    fn or(self, o: Flags) -> Flags {
        Flags {
            properties: self.properties || o.properties,
            items: self.items || o.items,
            nullable: self.nullable || o.nullable,
        }
    }

    /// With no type known, `properties` admits objects and `items` arrays; `nullable` adds null
    /// to a known type.
    fn apply(self, mut t: Types) -> Types {
        if t.is_any() {
            if self.properties {
                t |= Types::OBJECT;
            } else if self.items {
                t |= Types::ARRAY;
            }
        }
        if self.nullable && !t.is_any() {
            t |= Types::NULL;
        }
        t
    }
}

/// The types a schema object names itself: `type`, `enum`, `const`.
fn own_types(map: &serde_json::Map<String, Value>) -> Types {
    let mut t = Types::ANY;
    match map.get("type") {
        Some(Value::String(name)) => t |= Types::from_name(name),
        Some(Value::Array(names)) => {
            for n in names.iter().filter_map(Value::as_str) {
                t |= Types::from_name(n);
            }
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        for v in values {
            t |= Types::of_value(v);
        }
    }
    if let Some(v) = map.get("const") {
        t |= Types::of_value(v);
    }
    t
}

fn resolve_ref<'a>(r: &str, root: &'a Value) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// One tool from the request: its name, each parameter's admitted types, and the whole
/// parameters schema as a graph (for MiniMax-M3's nested elements).
#[derive(Debug, Clone, Default)]
pub struct Tool {
    /// The function name.
    pub name: String,
    params: FnvMap<Types>,
    graph: Graph,
}

impl Tool {
    /// Builds a tool from a JSON tool definition: the OpenAI form
    /// `{"type": "function", "function": {"name", "parameters"}}`, the bare `{"name", "parameters"}`
    /// (also the OpenAI Responses form `{"type": "function", "name", "parameters"}`), or the
    /// Anthropic form `{"name", "input_schema"}`.
    pub fn from_json(def: &Value) -> Result<Tool, crate::Error> {
        Tool::build(def, true)
    }

    /// As [`Tool::from_json`]; the schema graph only when `graph` (MiniMax-M3 needs it, M2
    /// parameters are typed at the top level only).
    fn build(def: &Value, graph: bool) -> Result<Tool, crate::Error> {
        let Value::Object(map) = def else {
            return Err(crate::Error::InvalidTool(format!(
                "expected a JSON object, got {}",
                kind_name(def)
            )));
        };
        let func = match map.get("function") {
            Some(f @ Value::Object(_)) => f,
            _ => def,
        };
        let name = func
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| {
            crate::Error::InvalidTool(
                "no function name: expected {\"type\": \"function\", \"function\": {\"name\": …}}, \
                 {\"name\": …, \"parameters\": …} or {\"name\": …, \"input_schema\": …}"
                    .to_string(),
            )
        })?;
        let mut params = FnvMap::default();
        let want_graph = graph;
        let mut graph = Graph::default();
        // OpenAI and Responses tools say `parameters`; Anthropic tools say `input_schema`.
        let (key, root) = match (func.get("parameters"), func.get("input_schema")) {
            (Some(p), _) if !p.is_null() => ("parameters", Some(p)),
            (_, Some(s)) if !s.is_null() => ("input_schema", Some(s)),
            _ => ("parameters", None),
        };
        if let Some(root) = root {
            // A schema that is not an object, or whose properties are not one, is a mistake in
            // the request: refused, rather than silently typing nothing.
            if !root.is_object() {
                return Err(crate::Error::InvalidTool(format!(
                    "{name:?}: {key} must be a JSON Schema object, got {}",
                    kind_name(root)
                )));
            }
            match root.get("properties") {
                None | Some(Value::Null | Value::Object(_)) => {}
                Some(other) => {
                    return Err(crate::Error::InvalidTool(format!(
                        "{name:?}: {key}.properties must be an object, got {}",
                        kind_name(other)
                    )))
                }
            }
            let mut compiler = Compiler::new(root);
            if let Some(Value::Object(props)) = root.get("properties") {
                for (k, s) in props {
                    let types = compiler.types(s).map_err(|e| match e {
                        crate::Error::InvalidTool(msg) => {
                            crate::Error::InvalidTool(format!("parameter {k:?}: {msg}"))
                        }
                        other => other,
                    })?;
                    params.insert(k.clone(), types);
                }
            }
            if want_graph {
                graph = Graph::build(root, &mut compiler)?;
            }
        }
        Ok(Tool {
            name: name.to_string(),
            params,
            graph,
        })
    }

    /// The parameters schema as a graph: [`Graph::ROOT`] is the arguments object.
    pub(crate) fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The admitted types of parameter `name`; [`Types::ANY`] when it is not in the schema.
    pub fn param_types(&self, name: &str) -> Types {
        self.params.get(name).copied().unwrap_or(Types::ANY)
    }
}

/// A schema node in a [`Graph`]; [`Graph::NONE`] stands for "no schema".
pub(crate) type NodeId = u32;

/// How many schema objects one lookup of a child schema (a property, `items`) may search
/// through `anyOf`/`oneOf`/`allOf`/`$ref` alternatives (SPEC §9): enough for any real schema,
/// and it keeps the cost per element constant whatever the request's tools hold.
pub const MAX_SCHEMA_ALTERNATIVES: usize = 256;

/// A tool's parameters schema as a graph of schema objects, so MiniMax-M3's nested elements can
/// be typed at every depth: each node knows its admitted types, its own `properties`, `items`
/// and `additionalProperties`, and the alternatives it is made of (`anyOf`, `oneOf`, `allOf`,
/// `$ref`), through which child lookups also search. Built once per tool, linear in the schema's
/// size: every schema object becomes one node, however often it is referenced.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    nodes: Vec<SchemaNode>,
}

#[derive(Debug, Clone, Default)]
struct SchemaNode {
    types: Types,
    properties: FnvMap<NodeId>,
    items: Option<NodeId>,
    additional: Option<NodeId>,
    alternatives: Vec<NodeId>,
}

impl Graph {
    /// The arguments object of the tool.
    pub(crate) const ROOT: NodeId = 0;
    /// No schema: any type, children without schemas.
    pub(crate) const NONE: NodeId = NodeId::MAX;
    /// The graph of a tool without parameters.
    pub(crate) const EMPTY: Graph = Graph { nodes: Vec::new() };

    fn build<'a>(root: &'a Value, compiler: &mut Compiler<'a>) -> Result<Graph, crate::Error> {
        let mut ids: HashMap<*const Value, NodeId> = HashMap::new();
        let mut todo: Vec<&'a Value> = Vec::new();
        let mut graph = Graph::default();
        let mut id_of = |v: &'a Value, graph: &mut Graph, todo: &mut Vec<&'a Value>| -> NodeId {
            if !v.is_object() {
                return Graph::NONE;
            }
            *ids.entry(v as *const Value).or_insert_with(|| {
                graph.nodes.push(SchemaNode::default());
                todo.push(v);
                (graph.nodes.len() - 1) as NodeId
            })
        };
        if id_of(root, &mut graph, &mut todo) == Graph::NONE {
            return Ok(Graph::default());
        }
        let mut next = 0;
        while next < todo.len() {
            let v = todo[next];
            let Value::Object(map) = v else {
                unreachable!("only objects get nodes")
            };
            let mut node = SchemaNode {
                types: compiler.types(v)?,
                ..SchemaNode::default()
            };
            if let Some(Value::Object(props)) = map.get("properties") {
                for (k, s) in props {
                    let id = id_of(s, &mut graph, &mut todo);
                    node.properties.entry(k.clone()).or_insert(id);
                }
            }
            if let Some(items) = map.get("items") {
                node.items = Some(id_of(items, &mut graph, &mut todo));
            }
            if let Some(extra) = map.get("additionalProperties") {
                node.additional = Some(id_of(extra, &mut graph, &mut todo));
            }
            for k in ["anyOf", "oneOf", "allOf"] {
                if let Some(Value::Array(members)) = map.get(k) {
                    for m in members {
                        let id = id_of(m, &mut graph, &mut todo);
                        if id != Graph::NONE {
                            node.alternatives.push(id);
                        }
                    }
                }
            }
            if let Some(Value::String(r)) = map.get("$ref") {
                if let Some(target) = resolve_ref(r, compiler.root) {
                    let id = id_of(target, &mut graph, &mut todo);
                    if id != Graph::NONE {
                        node.alternatives.push(id);
                    }
                }
            }
            graph.nodes[next] = node;
            next += 1;
        }
        Ok(graph)
    }

    /// The types node `id` admits ([`Types::ANY`] for [`Graph::NONE`]).
    pub(crate) fn types(&self, id: NodeId) -> Types {
        self.nodes.get(id as usize).map_or(Types::ANY, |n| n.types)
    }

    /// The schema of property `key` of node `id`: the first `properties` entry found in the node
    /// or its alternatives (depth first, in order), else the first `additionalProperties` schema,
    /// else none.
    pub(crate) fn property(&self, id: NodeId, key: &str) -> NodeId {
        let mut extra = None;
        let found = self.search(id, |n| {
            if let Some(&p) = n.properties.get(key) {
                return Some(p);
            }
            if extra.is_none() {
                extra = n.additional;
            }
            None
        });
        found.or(extra).unwrap_or(Graph::NONE)
    }

    /// The schema of the items of node `id` (the first `items` schema found), else none.
    pub(crate) fn items(&self, id: NodeId) -> NodeId {
        self.search(id, |n| n.items).unwrap_or(Graph::NONE)
    }

    /// Depth-first over `id` and its alternatives, at most [`MAX_SCHEMA_ALTERNATIVES`] nodes,
    /// each once; the first `Some` that `f` returns.
    fn search(
        &self,
        id: NodeId,
        mut f: impl FnMut(&SchemaNode) -> Option<NodeId>,
    ) -> Option<NodeId> {
        let node = self.nodes.get(id as usize)?;
        if node.alternatives.is_empty() {
            // Most schemas: no alternatives to search.
            return f(node);
        }
        let mut stack = vec![id];
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.get(id as usize) else {
                continue;
            };
            if seen.len() == MAX_SCHEMA_ALTERNATIVES {
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            if let Some(found) = f(node) {
                return Some(found);
            }
            stack.extend(node.alternatives.iter().rev());
        }
        None
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The tools of one request, looked up by name.
#[derive(Debug, Clone, Default)]
pub struct ToolSet {
    tools: FnvMap<Arc<Tool>>,
}

impl ToolSet {
    /// Builds the set from tool definitions (see [`Tool::from_json`]). A later tool with the
    /// same name replaces an earlier one.
    pub fn from_json(defs: &[Value]) -> Result<ToolSet, crate::Error> {
        ToolSet::build(defs, true)
    }

    /// As [`ToolSet::from_json`], compiling only what `dialect` needs: M2 types parameters at
    /// the top level only, so it skips the schema graph that M3's nested elements need.
    pub fn for_dialect(defs: &[Value], dialect: crate::Dialect) -> Result<ToolSet, crate::Error> {
        ToolSet::build(defs, dialect == crate::Dialect::M3)
    }

    fn build(defs: &[Value], graphs: bool) -> Result<ToolSet, crate::Error> {
        let mut tools = FnvMap::default();
        for (i, d) in defs.iter().enumerate() {
            let tool = Tool::build(d, graphs).map_err(|e| match e {
                crate::Error::InvalidTool(msg) => {
                    crate::Error::InvalidTool(format!("tools[{i}]: {msg}"))
                }
                other => other,
            })?;
            tools.insert(tool.name.clone(), Arc::new(tool));
        }
        Ok(ToolSet { tools })
    }

    /// The tool called `name`, if the request declared it.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.tools.get(name)
    }

    /// The admitted types of `param` of `tool`; [`Types::ANY`] for an unknown tool or parameter.
    pub fn param_types(&self, tool: &str, param: &str) -> Types {
        self.tools
            .get(tool)
            .map_or(Types::ANY, |t| t.param_types(param))
    }

    /// True when no tools were given.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn types_of(schema: Value) -> Types {
        Compiler::new(&schema).types(&schema).unwrap()
    }

    #[test]
    fn schema_shapes() {
        let cases: Vec<(Value, Types)> = vec![
            (json!({"type": "string"}), Types::STRING),
            (
                json!({"type": ["string", "null"]}),
                Types::STRING | Types::NULL,
            ),
            (
                json!({"type": "integer", "nullable": true}),
                Types::INTEGER | Types::NULL,
            ),
            (
                json!({"anyOf": [{"type": "integer"}, {"type": "null"}]}),
                Types::INTEGER | Types::NULL,
            ),
            (
                json!({"oneOf": [{"type": "boolean"}, {"type": "string"}]}),
                Types::BOOLEAN | Types::STRING,
            ),
            (json!({"allOf": [{"type": "number"}]}), Types::NUMBER),
            (json!({"enum": ["a", "b"]}), Types::STRING),
            (
                json!({"enum": [1, 2.5, null]}),
                Types::INTEGER | Types::NUMBER | Types::NULL,
            ),
            (json!({"const": true}), Types::BOOLEAN),
            (json!({"properties": {}}), Types::OBJECT),
            (json!({"items": {}}), Types::ARRAY),
            (json!({"description": "anything"}), Types::ANY),
            (json!({}), Types::ANY),
            (json!({"type": "wat"}), Types::ANY),
            (json!("not a schema"), Types::ANY),
        ];
        for (schema, want) in cases {
            assert_eq!(types_of(schema.clone()), want, "{schema}");
        }
    }

    #[test]
    fn refs_resolve_locally_and_cycles_stop() {
        let root = json!({
            "type": "object",
            "$defs": {"Unit": {"enum": ["c", "f"]}, "Loop": {"$ref": "#/$defs/Loop"}},
            "definitions": {"N": {"type": ["integer", "null"]}},
            "properties": {
                "unit": {"$ref": "#/$defs/Unit"},
                "n": {"$ref": "#/definitions/N"},
                "loop": {"$ref": "#/$defs/Loop"},
                "remote": {"$ref": "https://example.com/schema"}
            }
        });
        let tool = Tool::from_json(&json!({"name": "t", "parameters": root})).unwrap();
        assert_eq!(tool.param_types("unit"), Types::STRING);
        assert_eq!(tool.param_types("n"), Types::INTEGER | Types::NULL);
        assert_eq!(tool.param_types("loop"), Types::ANY);
        assert_eq!(tool.param_types("remote"), Types::ANY);
        assert_eq!(tool.param_types("missing"), Types::ANY);
    }

    #[test]
    fn cycles_admit_the_union_of_the_cycle() {
        let root = json!({
            "$defs": {
                "A": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "string"}]},
                "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "integer"}]}
            },
            "properties": {
                "a": {"$ref": "#/$defs/A"},
                "b": {"$ref": "#/$defs/B"},
                "self": {"anyOf": [{"$ref": "#/properties/self"}, {"type": "boolean"}]}
            }
        });
        let tool = Tool::from_json(&json!({"name": "t", "parameters": root})).unwrap();
        assert_eq!(tool.param_types("a"), Types::STRING | Types::INTEGER);
        assert_eq!(tool.param_types("b"), Types::STRING | Types::INTEGER);
        assert_eq!(tool.param_types("self"), Types::BOOLEAN);
    }

    /// The rules for `properties` and `nullable` apply to a cycle as a whole, wherever the
    /// search enters it (they used to depend on the order of the parameters).
    #[test]
    fn cycle_rules_do_not_depend_on_order() {
        for (a, b) in [
            (
                json!({"$ref": "#/$defs/B", "nullable": true}),
                Types::INTEGER | Types::NULL,
            ),
            (
                json!({"$ref": "#/$defs/B", "properties": {}}),
                Types::STRING,
            ),
        ] {
            let b_def = json!({"anyOf": [{"$ref": "#/$defs/A"},
                {"type": if b.contains(Types::STRING) { "string" } else { "integer" }}]});
            for order in [["a", "b"], ["b", "a"]] {
                let mut props = serde_json::Map::new();
                for name in order {
                    let target = if name == "a" { "A" } else { "B" };
                    props.insert(name.into(), json!({"$ref": format!("#/$defs/{target}")}));
                }
                let tool = json!({"name": "t", "parameters": {
                    "$defs": {"A": a.clone(), "B": b_def.clone()}, "properties": props}});
                let tool = Tool::from_json(&tool).unwrap();
                assert_eq!(tool.param_types("a"), b, "{order:?}");
                assert_eq!(tool.param_types("b"), b, "{order:?}");
            }
        }
    }

    /// Issue 8: `k` alternatives that all point back at the schema took 22 s for k = 3.
    #[test]
    fn ref_fan_out_is_resolved_once() {
        let x = json!({"anyOf": vec![json!({"$ref": "#/properties/x"}); 64]});
        let tool = json!({"name": "f", "parameters": {"properties": {"x": x}}});
        let set = ToolSet::from_json(&[tool]).unwrap();
        assert_eq!(set.param_types("f", "x"), Types::ANY);
        // A chain of definitions, each pointing four times at the next.
        let mut defs = serde_json::Map::new();
        for i in 0..60 {
            let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
            defs.insert(format!("d{i}"), json!({"anyOf": vec![next; 4]}));
        }
        defs.insert("d60".into(), json!({"type": "number"}));
        let tool = json!({"name": "g", "parameters": {"$defs": defs,
            "properties": {"y": {"$ref": "#/$defs/d0"}}}});
        let set = ToolSet::from_json(&[tool]).unwrap();
        assert_eq!(set.param_types("g", "y"), Types::NUMBER);
    }

    #[test]
    fn chains_past_the_limit_are_refused() {
        let mut defs = serde_json::Map::new();
        let n = MAX_SCHEMA_DEPTH + 10;
        for i in 0..n {
            defs.insert(
                format!("d{i}"),
                json!({"$ref": format!("#/$defs/d{}", i + 1)}),
            );
        }
        defs.insert(format!("d{n}"), json!({"type": "number"}));
        let tool = json!({"name": "g", "parameters": {"$defs": defs,
            "properties": {"y": {"$ref": "#/$defs/d0"}}}});
        let err = ToolSet::from_json(&[tool]).unwrap_err().to_string();
        assert!(err.contains("tools[0]") && err.contains("\"y\""), "{err}");
        assert!(err.contains(&MAX_SCHEMA_DEPTH.to_string()), "{err}");
        // Nesting by anyOf counts the same way.
        let mut s = json!({"type": "string"});
        for _ in 0..n {
            s = json!({"anyOf": [s]});
        }
        let tool = json!({"name": "h", "parameters": {"properties": {"z": s}}});
        assert!(ToolSet::from_json(&[tool]).is_err());
    }

    /// M3 types nested elements by the whole schema: properties, items and
    /// additionalProperties, also through anyOf/$ref alternatives and $ref cycles.
    #[test]
    fn graph_finds_child_schemas_through_alternatives() {
        let tool = json!({"name": "t", "parameters": {
            "$defs": {
                "Row": {"type": "object", "properties": {"n": {"type": "integer"}}},
                "Tree": {"type": "object", "properties": {
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
                    "v": {"type": "number"}}}
            },
            "properties": {
                "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}},
                "either": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Row"}]},
                "env": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "tree": {"$ref": "#/$defs/Tree"}
            }
        }});
        let tool = Tool::from_json(&tool).unwrap();
        let g = tool.graph();
        let rows = g.property(Graph::ROOT, "rows");
        assert_eq!(g.types(rows), Types::ARRAY);
        let row = g.items(rows);
        assert_eq!(g.types(g.property(row, "n")), Types::INTEGER);
        let either = g.property(Graph::ROOT, "either");
        assert_eq!(g.types(either), Types::NULL | Types::OBJECT);
        assert_eq!(g.types(g.property(either, "n")), Types::INTEGER);
        let env = g.property(Graph::ROOT, "env");
        assert_eq!(g.types(g.property(env, "anything")), Types::BOOLEAN);
        let tree = g.property(Graph::ROOT, "tree");
        let kid = g.items(g.property(tree, "kids"));
        let grandkid = g.items(g.property(kid, "kids"));
        assert_eq!(g.types(g.property(grandkid, "v")), Types::NUMBER);
        assert_eq!(g.property(Graph::ROOT, "missing"), Graph::NONE);
        assert_eq!(g.items(Graph::NONE), Graph::NONE);
        assert_eq!(g.types(Graph::NONE), Types::ANY);
    }

    /// A lookup searches at most MAX_SCHEMA_ALTERNATIVES schema objects, so a schema made of
    /// thousands of alternatives costs a bounded amount per element.
    #[test]
    fn child_lookups_search_a_bounded_number_of_alternatives() {
        let mut alts: Vec<Value> = (0..2 * MAX_SCHEMA_ALTERNATIVES)
            .map(|i| json!({"properties": {format!("k{i}"): {"type": "integer"}}}))
            .collect();
        alts.push(json!({"properties": {"last": {"type": "integer"}}}));
        let tool = json!({"name": "t", "parameters": {"properties": {"x": {"anyOf": alts}}}});
        let tool = Tool::from_json(&tool).unwrap();
        let g = tool.graph();
        let x = g.property(Graph::ROOT, "x");
        assert_eq!(g.types(g.property(x, "k0")), Types::INTEGER);
        assert_eq!(g.types(g.property(x, "k100")), Types::INTEGER);
        assert_eq!(g.property(x, "last"), Graph::NONE);
    }

    #[test]
    fn tool_forms_and_errors() {
        let openai = json!({"type": "function", "function": {"name": "f",
            "parameters": {"properties": {"x": {"type": "integer"}}}}});
        let bare = json!({"name": "g", "parameters": {"properties": {"y": {"type": "string"}}}});
        let responses = json!({"type": "function", "name": "r",
            "parameters": {"properties": {"z": {"type": "boolean"}}}});
        let anthropic = json!({"name": "a", "description": "d",
            "input_schema": {"type": "object", "properties": {"w": {"type": "number"}}}});
        let set = ToolSet::from_json(&[openai, bare, responses, anthropic]).unwrap();
        assert_eq!(set.param_types("f", "x"), Types::INTEGER);
        assert_eq!(set.param_types("g", "y"), Types::STRING);
        assert_eq!(set.param_types("r", "z"), Types::BOOLEAN);
        assert_eq!(set.param_types("a", "w"), Types::NUMBER);
        assert_eq!(set.param_types("h", "y"), Types::ANY);
        let err = ToolSet::from_json(&[json!({"type": "function"})]).unwrap_err();
        assert!(err.to_string().contains("tools[0]"), "{err}");
        assert!(ToolSet::from_json(&[json!(3)]).is_err());
        // A schema that is not an object is refused, naming the tool and the key.
        for bad in [
            json!({"type": "function", "name": "r", "parameters": 3}),
            json!({"name": "a", "input_schema": "object"}),
            json!({"name": "p", "parameters": {"type": "object", "properties": 3}}),
        ] {
            let err = ToolSet::from_json(std::slice::from_ref(&bad))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("tools[0]") && err.contains("must be"),
                "{bad}: {err}"
            );
        }
        assert!(ToolSet::from_json(&[json!({"name": "", "input_schema": {}})]).is_err());
        // No schema at all (absent or null) is fine: a tool without parameters.
        let set = ToolSet::from_json(&[json!({"name": "n", "parameters": null})]).unwrap();
        assert_eq!(set.param_types("n", "x"), Types::ANY);
    }
}
