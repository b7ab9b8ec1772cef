//! Chunking invariance on generated input: for any text and any cut points, streaming gives the
//! one-shot message, and the streamed arguments obey the contract at every step.

mod common;

use common::*;
use minimax_parser::{
    parse_with_ids, Event, Options, ReasoningMode, StreamParser, ToolCallsInReasoning,
};
use proptest::prelude::*;
use serde_json::json;

/// Pieces that MiniMax output and its failure modes are made of.
const PIECES: &[&str] = &[
    "<think>",
    "</think>",
    "<minimax:tool_call>",
    "</minimax:tool_call>",
    "<invoke name=\"",
    "<invoke name='",
    "<invoke name=",
    "<invoke",
    "\">",
    "'>",
    ">",
    "</invoke>",
    "<parameter name=\"",
    "<parameter name = \"",
    "<parameter",
    "</parameter>",
    "</parameter",
    "<",
    "</",
    "/",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "\n\n",
    "\t",
    "get_weather",
    "city",
    "days",
    "x",
    "3",
    "true",
    "null",
    "[1, 2]",
    "{\"k\": 1}",
    "Paris",
    "héllo",
    "天気",
    "😀",
    "\\",
    "&amp;",
    "name",
    "invoke",
    "parameter",
];

fn piece_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => "[a-z<>/\"' \n=é😀]{1,4}",
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

fn tools() -> Vec<serde_json::Value> {
    vec![
        json!({"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": ["integer", "null"]},
                "x": {"anyOf": [{"type": "array"}, {"type": "boolean"}]}
            }
        }}}),
    ]
}

fn any_options() -> impl Strategy<Value = Options> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(inline, start, ignore)| {
        let mut o = options(&tools(), &serde_json::Value::Null);
        o.reasoning = if inline {
            ReasoningMode::Inline
        } else {
            ReasoningMode::Separate
        };
        o.start_in_reasoning = start;
        o.tool_calls_in_reasoning = if ignore {
            ToolCallsInReasoning::Ignore
        } else {
            ToolCallsInReasoning::Extract
        };
        o
    })
}

/// Cuts `s` at the given fractions (snapped to char boundaries).
fn cut(s: &str, fractions: &[f64]) -> Vec<String> {
    let mut points: Vec<usize> = fractions
        .iter()
        .map(|f| {
            let mut i = ((s.len() as f64) * f) as usize;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        })
        .collect();
    points.push(0);
    points.push(s.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| s[w[0]..w[1]].to_string())
        .collect()
}

/// A well-formed response the way the chat template writes it.
fn well_formed() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-zA-Z0-9 é天😀<>/\"'\n]{0,20}",
        Just("</parameter> not the end".to_string()),
        Just("a</invoke>b".to_string()),
        Just("3".to_string()),
        Just("null".to_string()),
    ];
    let param = (
        prop::sample::select(vec!["city", "days", "x", "other"]),
        value,
    )
        .prop_map(|(k, v)| format!("<parameter name=\"{k}\">{v}</parameter>\n"));
    let invoke = (
        prop::sample::select(vec!["get_weather", "unknown.tool"]),
        prop::collection::vec(param, 0..4),
    )
        .prop_map(|(n, ps)| format!("<invoke name=\"{n}\">\n{}</invoke>\n", ps.concat()));
    let block = prop::collection::vec(invoke, 1..3)
        .prop_map(|is| format!("<minimax:tool_call>\n{}</minimax:tool_call>", is.concat()));
    (
        "[a-z \n]{0,30}",
        "[a-z \n]{0,30}",
        prop::option::of(block),
        "[a-z \n]{0,10}",
    )
        .prop_map(|(r, c, b, tail)| format!("{r}</think>\n\n{c}{}{tail}", b.unwrap_or_default()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_markup_is_chunking_invariant(
        text in piece_text(),
        opts in any_options(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..8),
    ) {
        let whole = parse_with_ids(&text, opts.clone(), ids());
        let pieces = cut(&text, &fractions);
        let got = stream(&opts, pieces.iter().map(String::as_str));
        prop_assert_eq!(got, whole);
    }

    #[test]
    fn well_formed_is_chunking_invariant(
        text in well_formed(),
        opts in any_options(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let whole = parse_with_ids(&text, opts.clone(), ids());
        let chars: Vec<String> = text.chars().map(String::from).collect();
        prop_assert_eq!(&stream(&opts, chars.iter().map(String::as_str)), &whole);
        let pieces = cut(&text, &fractions);
        prop_assert_eq!(stream(&opts, pieces.iter().map(String::as_str)), whole);
    }

    #[test]
    fn string_values_round_trip(value in "[a-zA-Z0-9 é天😀<>/\"'\\\\\n\t]{0,40}") {
        // A string-only value comes back verbatim, whatever markup-like text it holds, as long
        // as a `</parameter>` in it is not followed by a real follower.
        prop_assume!(!value.contains("</parameter>") && !value.contains("</invoke>"));
        let text = format!(
            "</think><minimax:tool_call><invoke name=\"get_weather\"><parameter name=\"city\">{value}</parameter></invoke></minimax:tool_call>"
        );
        let opts = options(&tools(), &serde_json::Value::Null);
        let msg = parse_with_ids(&text, opts, ids());
        prop_assert_eq!(msg.tool_calls.len(), 1);
        let args: serde_json::Value = serde_json::from_str(&msg.tool_calls[0].arguments).unwrap();
        prop_assert_eq!(args["city"].as_str(), Some(value.as_str()));
    }
}

// ---------------------------------------------------------------- ground truth by construction
//
// Responses rendered the way the chat template writes them, from random tool schemas (one per
// parameter: string / integer / number / boolean, null unions, enum, object, array, anyOf /
// oneOf, $ref) and values drawn to fit them. The expected message is known by construction:
// string values verbatim, other values in `json.dumps(..., ensure_ascii=False)` layout with
// numbers exactly as written, keys in the order written. Nothing here calls the crate's JSON or
// schema code; `py_json_str` is written out from Python's `json.dumps` rules.

use serde_json::{Map, Value};

/// `json.dumps(s, ensure_ascii=False)` for one string.
fn py_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON string as a model might write it: like `py_json_str`, or with non-ASCII as `\u` escapes.
fn written_json_str(s: &str, ascii: bool) -> String {
    if !ascii {
        return py_json_str(s);
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) > 0x7f {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            let e = py_json_str(&c.to_string());
            out.push_str(&e[1..e.len() - 1]);
        }
    }
    out.push('"');
    out
}

/// A JSON value tree for object / array parameters.
#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// `json.dumps(value, ensure_ascii=False)` layout, numbers as written.
    fn dumps(&self) -> String {
        match self {
            J::Null => "null".into(),
            J::Bool(b) => b.to_string(),
            J::Num(n) => n.clone(),
            J::Str(s) => py_json_str(s),
            J::Arr(v) => format!(
                "[{}]",
                v.iter().map(J::dumps).collect::<Vec<_>>().join(", ")
            ),
            J::Obj(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, x)| format!("{}: {}", py_json_str(k), x.dumps()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The text the model writes: compact or spread over lines, strings maybe `\u`-escaped.
    fn write(&self, ascii: bool, pretty: bool) -> String {
        let (sep, colon) = if pretty { (",\n  ", ": ") } else { (",", ":") };
        match self {
            J::Str(s) => written_json_str(s, ascii),
            J::Arr(v) => format!(
                "[{}]",
                v.iter()
                    .map(|x| x.write(ascii, pretty))
                    .collect::<Vec<_>>()
                    .join(sep)
            ),
            J::Obj(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, x)| format!(
                        "{}{colon}{}",
                        written_json_str(k, ascii),
                        x.write(ascii, pretty)
                    ))
                    .collect::<Vec<_>>()
                    .join(sep)
            ),
            other => other.dumps(),
        }
    }
}

fn dedup_keys(v: Vec<(String, J)>) -> Vec<(String, J)> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn json_tree() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        "(0|-?[1-9][0-9]{0,24})(\\.[0-9]{1,4})?".prop_map(J::Num),
        "[a-zA-Z0-9 é天😀\"\\\\/\n\t]{0,8}".prop_map(J::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            prop::collection::vec(("[a-z天😀_ ]{0,5}", inner), 0..4)
                .prop_map(|v| J::Obj(dedup_keys(v))),
        ]
    })
}

/// The base JSON Schema types a parameter may admit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Base {
    Str,
    Int,
    Num,
    Bool,
    Obj,
    Arr,
}

impl Base {
    fn name(self) -> &'static str {
        match self {
            Base::Str => "string",
            Base::Int => "integer",
            Base::Num => "number",
            Base::Bool => "boolean",
            Base::Obj => "object",
            Base::Arr => "array",
        }
    }
}

/// How the admitted types are written in the schema.
#[derive(Clone, Copy, Debug)]
enum Form {
    Type,
    Nullable,
    AnyOf,
    OneOf,
    Ref { definitions: bool },
    Enum,
}

/// One parameter's schema: admitted types, whether null is admitted, and how it is written.
#[derive(Clone, Debug)]
struct ParamSchema {
    types: Vec<Base>,
    null: bool,
    form: Form,
}

const STR_ENUM: &[&str] = &["red", "3", "02134", "true", "ok 🟢", " spaced "];
const INT_ENUM: &[&str] = &["1", "2", "-5", "30000000000000000000"];

impl ParamSchema {
    fn enum_ok(&self) -> bool {
        self.types.len() == 1 && matches!(self.types[0], Base::Str | Base::Int | Base::Bool)
    }

    fn form(&self) -> Form {
        match self.form {
            Form::Enum if !self.enum_ok() => Form::Type,
            Form::Nullable if self.types.len() != 1 || !self.null => Form::Type,
            f => f,
        }
    }

    fn one(b: Base) -> Value {
        match b {
            Base::Arr => json!({"type": "array", "items": {}}),
            b => json!({"type": b.name()}),
        }
    }

    /// The schema JSON; `$ref` targets are added to `defs` under `key`.
    fn schema(&self, key: &str, defs: &mut Map<String, Value>) -> Value {
        let mut names: Vec<Value> = self.types.iter().map(|b| json!(b.name())).collect();
        if self.null {
            names.push(json!("null"));
        }
        let typed = if names.len() == 1 {
            json!({"type": names[0]})
        } else {
            json!({"type": names})
        };
        match self.form() {
            Form::Type => typed,
            Form::Nullable => json!({"type": self.types[0].name(), "nullable": true}),
            Form::AnyOf | Form::OneOf => {
                let mut members: Vec<Value> = self.types.iter().map(|b| Self::one(*b)).collect();
                if self.null {
                    members.push(json!({"type": "null"}));
                }
                let k = if matches!(self.form(), Form::AnyOf) {
                    "anyOf"
                } else {
                    "oneOf"
                };
                json!({ k: members })
            }
            Form::Ref { definitions } => {
                defs.insert(key.to_string(), typed);
                let section = if definitions { "definitions" } else { "$defs" };
                json!({"$ref": format!("#/{section}/{key}")})
            }
            Form::Enum => {
                let mut vals: Vec<Value> = match self.types[0] {
                    Base::Str => STR_ENUM.iter().map(|s| json!(s)).collect(),
                    Base::Int => INT_ENUM
                        .iter()
                        .map(|s| serde_json::from_str(s).unwrap())
                        .collect(),
                    _ => vec![json!(true), json!(false)],
                };
                if self.null {
                    vals.push(Value::Null);
                }
                json!({ "enum": vals })
            }
        }
    }

    fn string_only(&self) -> bool {
        self.types == [Base::Str] && !self.null
    }
}

fn param_schema() -> impl Strategy<Value = ParamSchema> {
    let base = prop::sample::select(vec![
        Base::Str,
        Base::Int,
        Base::Num,
        Base::Bool,
        Base::Obj,
        Base::Arr,
    ]);
    let form = prop_oneof![
        3 => Just(Form::Type),
        1 => Just(Form::Nullable),
        1 => Just(Form::AnyOf),
        1 => Just(Form::OneOf),
        1 => any::<bool>().prop_map(|definitions| Form::Ref { definitions }),
        1 => Just(Form::Enum),
    ];
    (
        prop::collection::vec(base, 1..3),
        prop::bool::weighted(0.3),
        form,
    )
        .prop_map(|(mut types, null, form)| {
            types.dedup();
            ParamSchema { types, null, form }
        })
}

/// A generated value: the text written in the response, and its expected JSON text.
#[derive(Clone, Debug)]
struct Val {
    written: String,
    expected: String,
    /// `Some(text)` for a string value: it must come back verbatim.
    string: Option<String>,
}

/// Value text that is data, never markup: closers only ever followed by a letter.
fn safe_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            6 => "[a-zA-Z0-9 \n\t\"'\\\\/&=.,:;!?é天気😀\u{2028}]{1,6}",
            1 => prop::sample::select(vec![
                "</parameter> is data", "x</invoke>y", "<b>bold</b>", "a < b", "<think>", "</think>",
                "<minimax:tool_call>", "&amp;", "02134", "3", "true", "null", "{\"k\": 1}", "[1, 2]",
                "\r\n", "👨\u{200d}👩\u{200d}👧", "  ",
            ])
            .prop_map(str::to_string),
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", " ", "\n", " \n  "])
}

fn value_for(p: &ParamSchema) -> BoxedStrategy<Val> {
    if matches!(p.form(), Form::Enum) {
        let mut opts: Vec<Val> = match p.types[0] {
            Base::Str => STR_ENUM
                .iter()
                .map(|s| Val {
                    written: s.to_string(),
                    expected: py_json_str(s),
                    string: Some(s.to_string()),
                })
                .collect(),
            Base::Int => INT_ENUM
                .iter()
                .map(|s| Val {
                    written: s.to_string(),
                    expected: s.to_string(),
                    string: None,
                })
                .collect(),
            _ => ["true", "false", "True", "FALSE"]
                .iter()
                .map(|s| Val {
                    written: s.to_string(),
                    expected: s.to_lowercase(),
                    string: None,
                })
                .collect(),
        };
        if p.null {
            opts.push(Val {
                written: "null".into(),
                expected: "null".into(),
                string: None,
            });
        }
        return prop::sample::select(opts).boxed();
    }
    let mut kinds: Vec<BoxedStrategy<Val>> = Vec::new();
    let padded = |s: BoxedStrategy<(String, String)>| {
        (ws(), s, ws())
            .prop_map(|(a, (w, e), b)| Val {
                written: format!("{a}{w}{b}"),
                expected: e,
                string: None,
            })
            .boxed()
    };
    for b in &p.types {
        kinds.push(match b {
            Base::Str if p.string_only() => safe_string()
                .prop_map(|s| Val {
                    expected: py_json_str(&s),
                    written: s.clone(),
                    string: Some(s),
                })
                .boxed(),
            // In a union the text must fit no other admitted type: it starts with a letter.
            Base::Str => safe_string()
                .prop_map(|s| {
                    let s = format!("x{s}");
                    Val {
                        expected: py_json_str(&s),
                        written: s.clone(),
                        string: Some(s),
                    }
                })
                .boxed(),
            Base::Int => padded("0|-?[1-9][0-9]{0,30}".prop_map(|d| (d.clone(), d)).boxed()),
            Base::Num => padded(
                "(0|-?[1-9][0-9]{0,25}|-?0\\.[0-9]{1,6})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?"
                    .prop_filter("one fraction", |n| n.matches('.').count() <= 1)
                    // Past the double range a number stays a string (SPEC §9); the Python
                    // generator covers that case.
                    .prop_filter("finite", |n| n.parse::<f64>().is_ok_and(f64::is_finite))
                    .prop_map(|d| (d.clone(), d))
                    .boxed(),
            ),
            Base::Bool => padded(
                (any::<bool>(), prop::collection::vec(any::<bool>(), 5))
                    .prop_map(|(v, upper)| {
                        let t = v.to_string();
                        let w: String = t
                            .chars()
                            .zip(upper)
                            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
                            .collect();
                        (w, t)
                    })
                    .boxed(),
            ),
            Base::Obj => padded(
                (
                    prop::collection::vec(("[a-z天😀_ ]{0,5}", json_tree()), 0..4),
                    any::<bool>(),
                    any::<bool>(),
                )
                    .prop_map(|(v, ascii, pretty)| {
                        let j = J::Obj(dedup_keys(v));
                        (j.write(ascii, pretty), j.dumps())
                    })
                    .boxed(),
            ),
            Base::Arr => padded(
                (
                    prop::collection::vec(json_tree(), 0..4),
                    any::<bool>(),
                    any::<bool>(),
                )
                    .prop_map(|(v, ascii, pretty)| {
                        let j = J::Arr(v);
                        (j.write(ascii, pretty), j.dumps())
                    })
                    .boxed(),
            ),
        });
    }
    if p.null {
        kinds.push(padded(
            Just(("null".to_string(), "null".to_string())).boxed(),
        ));
    }
    proptest::strategy::Union::new(kinds).boxed()
}

#[derive(Clone, Debug)]
struct GenTool {
    name: String,
    params: Vec<(String, ParamSchema)>,
}

impl GenTool {
    fn json(&self) -> Value {
        let mut props = Map::new();
        let mut defs = Map::new();
        let mut definitions = Map::new();
        for (i, (k, p)) in self.params.iter().enumerate() {
            let key = format!("T{i}");
            let s = match p.form() {
                Form::Ref { definitions: true } => p.schema(&key, &mut definitions),
                _ => p.schema(&key, &mut defs),
            };
            props.insert(k.clone(), s);
        }
        let mut params = json!({"type": "object", "properties": props});
        if !defs.is_empty() {
            params["$defs"] = Value::Object(defs);
        }
        if !definitions.is_empty() {
            params["definitions"] = Value::Object(definitions);
        }
        json!({"type": "function", "function": {"name": self.name, "parameters": params}})
    }
}

const TOOL_NAMES: &[&str] = &[
    "get_weather",
    "fs.read-file:v2",
    "天气查询",
    "mcp:github.create-issue",
    "🔧fix",
];
const PARAM_NAMES: &[&str] = &[
    "city",
    "days",
    "max-bytes",
    "opt.follow:links",
    "城市",
    "数量",
    "🎒",
    "q",
    "payload",
];

fn gen_tool(name: String) -> impl Strategy<Value = GenTool> {
    (0usize..5).prop_flat_map(move |n| {
        let name = name.clone();
        (
            prop::sample::subsequence(PARAM_NAMES.to_vec(), n),
            prop::collection::vec(param_schema(), n),
        )
            .prop_map(move |(keys, schemas)| GenTool {
                name: name.clone(),
                params: keys.into_iter().map(String::from).zip(schemas).collect(),
            })
    })
}

/// One invoke: the tool, and (parameter index, value) in the order written.
type GenInvoke = (usize, Vec<(usize, Val)>);

fn gen_invoke(tools: &[GenTool]) -> BoxedStrategy<GenInvoke> {
    let tools = tools.to_vec();
    (0..tools.len())
        .prop_flat_map(move |ti| {
            let vals: Vec<BoxedStrategy<Val>> =
                tools[ti].params.iter().map(|(_, p)| value_for(p)).collect();
            let n = vals.len();
            (
                Just(ti),
                vals,
                prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n).prop_shuffle(),
            )
        })
        .prop_map(|(ti, vals, order)| {
            (
                ti,
                order.into_iter().map(|i| (i, vals[i].clone())).collect(),
            )
        })
        .boxed()
}

/// Free text for reasoning and content: no markup, ASCII whitespace only at the edges.
fn free_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            5 => "[a-zA-Z0-9 \n,.!?'\"é天気😀]{1,8}",
            1 => prop::sample::select(vec!["a < b", "x > y", "&amp;", "用户想知道", "🇯🇵 👍🏽"])
                .prop_map(str::to_string),
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
}

/// A generated response with its ground truth.
#[derive(Clone, Debug)]
struct Case {
    text: String,
    tools: Vec<Value>,
    expected: Value,
    reasoning_parts: Vec<String>,
    content_parts: Vec<String>,
    /// (call index, key, value) for every parameter written.
    values: Vec<(usize, String, Val)>,
}

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

fn template_case() -> impl Strategy<Value = Case> {
    prop::sample::subsequence(TOOL_NAMES.to_vec(), 1..4)
        .prop_flat_map(|names| {
            names
                .into_iter()
                .map(|n| gen_tool(n.to_string()))
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|tools| {
            (
                Just(tools.clone()),
                prop::collection::vec(gen_invoke(&tools), 0..5),
                (free_text(), free_text(), free_text(), free_text()),
                prop::option::of(free_text()),
                any::<bool>(),
                0usize..5,
            )
        })
        .prop_map(
            |(tools, invokes, (reasoning, content, mid, tail), second_think, opener, split)| {
                let mut text = String::new();
                if opener {
                    text.push_str("<think>\n");
                }
                text.push_str(&reasoning);
                text.push_str("\n</think>\n\n");
                let mut r_raw = format!("{reasoning}\n");
                let mut c_raw = format!("\n\n{content}");
                text.push_str(&content);
                let mut calls = Vec::new();
                let mut values = Vec::new();
                let mut content_parts = vec![content, tail.clone()];
                if !invokes.is_empty() {
                    let split = split.min(invokes.len());
                    let render =
                        |inv: &[GenInvoke],
                         calls: &mut Vec<Value>,
                         values: &mut Vec<(usize, String, Val)>| {
                            let mut s = String::from("<minimax:tool_call>\n");
                            for (ti, params) in inv {
                                let tool = &tools[*ti];
                                s.push_str(&format!("<invoke name=\"{}\">\n", tool.name));
                                let mut args = Vec::new();
                                for (pi, v) in params {
                                    let key = &tool.params[*pi].0;
                                    s.push_str(&format!(
                                        "<parameter name=\"{key}\">{}</parameter>\n",
                                        v.written
                                    ));
                                    args.push(format!("{}: {}", py_json_str(key), v.expected));
                                    values.push((calls.len(), key.clone(), v.clone()));
                                }
                                s.push_str("</invoke>\n");
                                calls.push(json!({
                                    "name": tool.name,
                                    "arguments": format!("{{{}}}", args.join(", ")),
                                    "incomplete": false,
                                }));
                            }
                            s.push_str("</minimax:tool_call>");
                            s
                        };
                    text.push('\n');
                    c_raw.push('\n');
                    text.push_str(&render(&invokes[..split], &mut calls, &mut values));
                    if split < invokes.len() {
                        content_parts.push(mid.clone());
                        text.push_str(&format!("\n{mid}\n"));
                        c_raw.push_str(&format!("\n{mid}\n"));
                        text.push_str(&render(&invokes[split..], &mut calls, &mut values));
                    }
                }
                if let Some(r2) = &second_think {
                    text.push_str(&format!("\n<think>\n{r2}\n</think>\n"));
                    c_raw.push('\n');
                    r_raw.push_str(&format!("\n{r2}\n"));
                    c_raw.push('\n');
                }
                text.push_str(&tail);
                c_raw.push_str(&tail);
                let mut reasoning_parts = vec![reasoning.clone()];
                reasoning_parts.extend(second_think);
                Case {
                    text,
                    tools: tools.iter().map(GenTool::json).collect(),
                    expected: json!({
                        "reasoning": trimmed(&r_raw),
                        "content": trimmed(&c_raw),
                        "tool_calls": calls,
                    }),
                    reasoning_parts,
                    content_parts,
                    values,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// (a) One-shot parsing gives the message the response was built from.
    #[test]
    fn template_one_shot_is_ground_truth(case in template_case()) {
        let opts = options(&case.tools, &Value::Null);
        let got = to_expected(&parse_with_ids(&case.text, opts, ids()));
        prop_assert_eq!(got, case.expected, "input: {:?}", case.text);
    }

    /// (b) Streaming at random cut points (and one char at a time) gives the same ground truth.
    #[test]
    fn template_chunking_is_ground_truth(
        case in template_case(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let opts = options(&case.tools, &Value::Null);
        let pieces = cut(&case.text, &fractions);
        let got = to_expected(&stream(&opts, pieces.iter().map(String::as_str)));
        prop_assert_eq!(&got, &case.expected, "pieces: {:?}", pieces);
        let chars: Vec<String> = case.text.chars().map(String::from).collect();
        let got = to_expected(&stream(&opts, chars.iter().map(String::as_str)));
        prop_assert_eq!(&got, &case.expected);
    }

    /// (c) After every delta, each call's streamed arguments are a prefix of valid JSON; at the
    /// end they are exactly the ground-truth arguments.
    #[test]
    fn template_streamed_arguments_are_json_prefixes(
        case in template_case(),
        fractions in prop::collection::vec(0.0f64..1.0, 0..20),
    ) {
        let opts = options(&case.tools, &Value::Null);
        let mut p = StreamParser::with_ids(opts, ids());
        let mut args: Vec<String> = Vec::new();
        let mut events = Vec::new();
        for piece in cut(&case.text, &fractions) {
            events.extend(p.feed(&piece).unwrap());
        }
        events.extend(p.finish().unwrap());
        for e in &events {
            match e {
                Event::ToolCallStart { index, .. } => {
                    prop_assert_eq!(*index, args.len());
                    args.push(String::new());
                }
                Event::ToolCallDelta { index, arguments } => {
                    args[*index].push_str(arguments);
                    prop_assert!(is_json_prefix(&args[*index]), "not a JSON prefix: {:?}", args[*index]);
                }
                Event::ToolCallEnd { index, arguments, incomplete } => {
                    prop_assert_eq!(&args[*index], arguments);
                    prop_assert!(!incomplete);
                }
                _ => {}
            }
        }
        let want: Vec<&str> = case.expected["tool_calls"].as_array().unwrap().iter()
            .map(|c| c["arguments"].as_str().unwrap()).collect();
        prop_assert_eq!(args.iter().map(String::as_str).collect::<Vec<_>>(), want);
    }

    /// (d) Nothing is lost: every generated text, tool name and value is in the output.
    #[test]
    fn template_nothing_lost(case in template_case()) {
        let opts = options(&case.tools, &Value::Null);
        let msg = parse_with_ids(&case.text, opts, ids());
        let reasoning = msg.reasoning.clone().unwrap_or_default();
        let content = msg.content.clone().unwrap_or_default();
        for r in &case.reasoning_parts {
            prop_assert!(reasoning.contains(r.trim()), "reasoning lost {:?}", r);
        }
        for c in &case.content_parts {
            prop_assert!(content.contains(c.trim()), "content lost {:?}", c);
        }
        let names: Vec<&str> = msg.tool_calls.iter().map(|c| c.name.as_str()).collect();
        let want: Vec<&str> = case.expected["tool_calls"].as_array().unwrap().iter()
            .map(|c| c["name"].as_str().unwrap()).collect();
        prop_assert_eq!(names, want);
        for (call, key, v) in &case.values {
            let decoded: Map<String, Value> = serde_json::from_str(&msg.tool_calls[*call].arguments).unwrap();
            let got = decoded.get(key);
            match &v.string {
                Some(s) => {
                    prop_assert_eq!(got.and_then(Value::as_str), Some(s.as_str()), "value lost for {}", key);
                    prop_assert!(msg.tool_calls[*call].arguments.contains(&py_json_str(s)));
                }
                None => {
                    let want: Value = serde_json::from_str(&v.expected).unwrap();
                    prop_assert_eq!(got, Some(&want), "value lost for {}", key);
                }
            }
        }
    }
}
