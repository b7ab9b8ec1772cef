//! Tool schemas and the conversion of raw parameter text into JSON (SPEC §4).
//!
//! The model writes every value as raw text; only the request's JSON Schema says whether
//! `123` is a number or a string. Schemas are reduced once, when a parser is built, to a small
//! set of admitted types per parameter, so conversion during parsing is a table lookup.

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

/// Guards against `$ref` cycles and absurdly deep schemas.
const MAX_DEPTH: usize = 32;

/// Collects the types a schema admits. `root` is the tool's `parameters` object, against which
/// local `$ref`s (`#/$defs/…`, `#/definitions/…`, any JSON pointer) resolve.
pub fn admitted_types(schema: &Value, root: &Value) -> Types {
    collect(schema, root, 0)
}

fn collect(schema: &Value, root: &Value, depth: usize) -> Types {
    let Value::Object(map) = schema else {
        return Types::ANY;
    };
    if depth > MAX_DEPTH {
        return Types::ANY;
    }
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
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(members)) = map.get(key) {
            for m in members {
                t |= collect(m, root, depth + 1);
            }
        }
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        for v in values {
            t |= Types::of_value(v);
        }
    }
    if let Some(v) = map.get("const") {
        t |= Types::of_value(v);
    }
    if let Some(Value::String(r)) = map.get("$ref") {
        if let Some(target) = resolve_ref(r, root) {
            t |= collect(target, root, depth + 1);
        }
    }
    if t.is_any() {
        if map.contains_key("properties") {
            t |= Types::OBJECT;
        } else if map.contains_key("items") {
            t |= Types::ARRAY;
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) && !t.is_any() {
        t |= Types::NULL;
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

/// One tool from the request: its name and each parameter's admitted types.
#[derive(Debug, Clone, Default)]
pub struct Tool {
    /// The function name.
    pub name: String,
    params: FnvMap<Types>,
}

impl Tool {
    /// Builds a tool from a JSON tool definition: the OpenAI form
    /// `{"type": "function", "function": {"name", "parameters"}}` or the bare `{"name", "parameters"}`.
    pub fn from_json(def: &Value) -> Result<Tool, crate::Error> {
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
        let name = func.get("name").and_then(Value::as_str).ok_or_else(|| {
            crate::Error::InvalidTool(
                "no function name: expected {\"type\": \"function\", \"function\": {\"name\": …}} \
                 or {\"name\": …, \"parameters\": …}"
                    .to_string(),
            )
        })?;
        let mut params = FnvMap::default();
        if let Some(root) = func.get("parameters") {
            if let Some(Value::Object(props)) = root.get("properties") {
                for (k, s) in props {
                    params.insert(k.clone(), admitted_types(s, root));
                }
            }
        }
        Ok(Tool {
            name: name.to_string(),
            params,
        })
    }

    /// The admitted types of parameter `name`; [`Types::ANY`] when it is not in the schema.
    pub fn param_types(&self, name: &str) -> Types {
        self.params.get(name).copied().unwrap_or(Types::ANY)
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
        let mut tools = FnvMap::default();
        for (i, d) in defs.iter().enumerate() {
            let tool = Tool::from_json(d).map_err(|e| match e {
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

/// Appends the JSON for raw value text `raw` of a parameter admitting `types` (SPEC §4).
pub fn push_converted(out: &mut String, raw: &str, types: Types) {
    if types.is_string_only() {
        return json::push_string(out, raw);
    }
    let t = crate::ws::trim(raw);
    if types.is_any() {
        if json::reformat(t, out).is_none() {
            json::push_string(out, raw);
        }
        return;
    }
    if types.contains(Types::NULL) && t == "null" {
        return out.push_str("null");
    }
    if types.contains(Types::BOOLEAN) {
        if t.eq_ignore_ascii_case("true") {
            return out.push_str("true");
        }
        if t.eq_ignore_ascii_case("false") {
            return out.push_str("false");
        }
    }
    if types.contains(Types::INTEGER) {
        if json::is_integer(t) {
            return out.push_str(t);
        }
        if !types.contains(Types::NUMBER) && json::is_number(t) && !t.contains(['e', 'E']) {
            if let Some((int, frac)) = t.split_once('.') {
                if frac.bytes().all(|b| b == b'0') {
                    return out.push_str(if int == "-0" { "0" } else { int });
                }
            }
        }
    }
    if types.contains(Types::NUMBER) && json::is_number(t) {
        return out.push_str(t);
    }
    let object = types.contains(Types::OBJECT) && t.starts_with('{');
    let array = types.contains(Types::ARRAY) && t.starts_with('[');
    if (object || array) && json::reformat(t, out).is_some() {
        return;
    }
    json::push_string(out, raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn types_of(schema: Value) -> Types {
        admitted_types(&schema, &schema)
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

    fn conv(raw: &str, t: Types) -> String {
        let mut s = String::new();
        push_converted(&mut s, raw, t);
        s
    }

    #[test]
    fn conversion_table() {
        let s = Types::STRING;
        let i = Types::INTEGER;
        let n = Types::NUMBER;
        let b = Types::BOOLEAN;
        let null = Types::NULL;
        let o = Types::OBJECT;
        let a = Types::ARRAY;
        let any = Types::ANY;
        let cases: &[(&str, Types, &str)] = &[
            // Strings are never coerced and never trimmed.
            ("123", s, r#""123""#),
            ("02134", s, r#""02134""#),
            ("true", s, r#""true""#),
            ("null", s, r#""null""#),
            ("  padded \n", s, r#""  padded \n""#),
            // Integers.
            (" 42 ", i, "42"),
            ("-7", i, "-7"),
            ("5.0", i, "5"),
            ("-0.00", i, "0"),
            ("5.5", i, r#""5.5""#),
            ("1e3", i, r#""1e3""#),
            ("5.0", i | n, "5.0"),
            ("007", i, r#""007""#),
            (
                "123456789012345678901234567890",
                i,
                "123456789012345678901234567890",
            ),
            // Numbers keep their digits.
            ("1.50", n, "1.50"),
            ("1e-7", n, "1e-7"),
            ("NaN", n, r#""NaN""#),
            ("Infinity", n, r#""Infinity""#),
            ("12345678901234567890.5", n, "12345678901234567890.5"),
            // Booleans, any case; `yes` stays a string.
            ("True", b, "true"),
            (" FALSE ", b, "false"),
            ("yes", b, r#""yes""#),
            // null only as the literal.
            ("null", null | i, "null"),
            ("None", null | i, r#""None""#),
            ("null", s | null, "null"),
            ("abc", s | null, r#""abc""#),
            (" abc ", s | null, r#"" abc ""#),
            ("3", s | i, "3"),
            // Objects and arrays are re-serialised in Python's layout.
            (
                r#"{"k":1,"l":[true,null]}"#,
                o,
                r#"{"k": 1, "l": [true, null]}"#,
            ),
            ("[1,2]", a, "[1, 2]"),
            ("[1,2]", o, r#""[1,2]""#),
            ("{bad json}", o, r#""{bad json}""#),
            ("", i, r#""""#),
            // No schema: JSON if it parses, else the raw string.
            ("3", any, "3"),
            (r#""quoted""#, any, r#""quoted""#),
            ("[1,\n2]", any, "[1, 2]"),
            ("hello world", any, r#""hello world""#),
            (" 12 ", any, "12"),
            ("", any, r#""""#),
        ];
        for &(raw, t, want) in cases {
            assert_eq!(conv(raw, t), want, "raw={raw:?} types={t:?}");
        }
    }

    #[test]
    fn tool_forms_and_errors() {
        let openai = json!({"type": "function", "function": {"name": "f",
            "parameters": {"properties": {"x": {"type": "integer"}}}}});
        let bare = json!({"name": "g", "parameters": {"properties": {"y": {"type": "string"}}}});
        let set = ToolSet::from_json(&[openai, bare]).unwrap();
        assert_eq!(set.param_types("f", "x"), Types::INTEGER);
        assert_eq!(set.param_types("g", "y"), Types::STRING);
        assert_eq!(set.param_types("h", "y"), Types::ANY);
        let err = ToolSet::from_json(&[json!({"type": "function"})]).unwrap_err();
        assert!(err.to_string().contains("tools[0]"), "{err}");
        assert!(ToolSet::from_json(&[json!(3)]).is_err());
    }
}
