//! The tool-call builder: the open call and its value, the `arguments` JSON text they add up to,
//! the argument deltas that stream it, and call ids. The state machine tells it what the markup
//! said (a call starts, a parameter opens, value text, a value or call closes); it never looks
//! at markup itself.

use std::sync::Arc;

use crate::convert;
use crate::event::Event;
use crate::ids::IdGenerator;
use crate::json;
use crate::schema::{Tool, ToolSet, Types};

/// The calls of one response.
#[derive(Debug)]
pub(crate) struct Calls {
    tools: Arc<ToolSet>,
    ids: IdGenerator,
    /// Emit `ToolCallDelta` events (one-shot parsing only needs the end events).
    deltas: bool,
    next_index: usize,
    /// The open call; `Some(None)` for a malformed invoke whose content is skipped.
    open: Option<Option<LiveCall>>,
    value: Option<Value>,
    /// A reusable buffer for non-string values, so each value does not allocate.
    spare: String,
    /// For snapshots: what is known about the open non-string value.
    #[cfg(feature = "python")]
    scan: Option<ValueScan>,
    /// In a preview copy: the open value's converted text, made ahead (its `raw` is left empty).
    #[cfg(feature = "python")]
    closing: Option<String>,
}

#[derive(Debug)]
struct LiveCall {
    index: usize,
    /// The tool's schema, when the request declared it.
    tool: Option<Arc<Tool>>,
    arguments: String,
    params: usize,
}

#[derive(Debug)]
struct Value {
    types: Types,
    /// Raw text of a value that cannot stream (not string-only); converted when it closes.
    raw: String,
}

/// What snapshots learned about the open non-string value's raw text so far, so the next one
/// only reads what arrived since (SPEC §5: a snapshot costs what arrived since the previous one).
/// While the text is inside a JSON string or has unbalanced brackets it cannot be a complete JSON
/// value, so it converts to the raw text as a JSON string — which is escaped incrementally here.
#[cfg(feature = "python")]
#[derive(Debug, Default)]
struct ValueScan {
    /// Bytes of `raw` read so far.
    read: usize,
    /// Brackets opened minus closed, outside strings.
    depth: i64,
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escape: bool,
    /// `raw[..read]` escaped as the inside of a JSON string.
    escaped: String,
}

#[cfg(feature = "python")]
impl ValueScan {
    /// The converted text of `raw` (of a value admitting `types`), as closing it now would give.
    fn closing(&mut self, raw: &str, types: Types) -> String {
        let new = &raw[self.read..];
        for &b in new.as_bytes() {
            if self.in_string {
                match b {
                    _ if self.escape => self.escape = false,
                    b'\\' => self.escape = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'[' | b'{' => self.depth += 1,
                    b']' | b'}' => self.depth -= 1,
                    _ => {}
                }
            }
        }
        json::escape_into(&mut self.escaped, new);
        self.read = raw.len();
        let mut out = String::new();
        if self.in_string || self.depth != 0 {
            // Not a complete JSON value (nor a literal): every conversion falls back to the raw
            // text as a string.
            out.reserve(self.escaped.len() + 2);
            out.push('"');
            out.push_str(&self.escaped);
            out.push('"');
        } else {
            convert::push_converted(&mut out, raw, types);
        }
        out
    }
}

impl Calls {
    pub(crate) fn new(tools: Arc<ToolSet>, ids: IdGenerator) -> Self {
        Calls {
            tools,
            ids,
            deltas: true,
            next_index: 0,
            open: None,
            value: None,
            spare: String::new(),
            #[cfg(feature = "python")]
            scan: None,
            #[cfg(feature = "python")]
            closing: None,
        }
    }

    pub(crate) fn without_deltas(&mut self) {
        self.deltas = false;
    }

    /// A copy for finishing ahead (snapshots): no ids are drawn, the open call's arguments start
    /// empty, so the copy's `ToolCallEnd` carries only what finishing appends, and an open
    /// non-string value comes converted already (finishing never adds value text: what is held
    /// back inside a value is a cut-off tag, which finishing drops).
    #[cfg(feature = "python")]
    pub(crate) fn preview(&mut self) -> Calls {
        let closing = match self.value.as_ref() {
            Some(v) if !v.types.is_string_only() => Some(
                self.scan
                    .get_or_insert_with(ValueScan::default)
                    .closing(&v.raw, v.types),
            ),
            _ => None,
        };
        Calls {
            tools: Arc::clone(&self.tools),
            ids: IdGenerator::from_fn(|_| String::new()),
            deltas: false,
            next_index: self.next_index,
            open: self.open.as_ref().map(|live| {
                live.as_ref().map(|c| LiveCall {
                    index: c.index,
                    tool: c.tool.clone(),
                    arguments: String::new(),
                    params: c.params,
                })
            }),
            value: self.value.as_ref().map(|v| Value {
                types: v.types,
                raw: String::new(),
            }),
            spare: String::new(),
            scan: None,
            closing,
        }
    }

    /// An `<invoke>` opened; `name` is `None` when it has no usable name (skipped whole).
    pub(crate) fn start(&mut self, name: Option<&str>, out: &mut Vec<Event>) {
        let live = name.map(|name| {
            let index = self.next_index;
            self.next_index += 1;
            let id = self.ids.next(index);
            out.push(Event::ToolCallStart {
                index,
                id,
                name: name.to_string(),
            });
            LiveCall {
                index,
                tool: self.tools.get(name).cloned(),
                arguments: String::with_capacity(128),
                params: 0,
            }
        });
        self.open = Some(live);
        self.emit(out, |a| a.push('{'));
    }

    /// A `<parameter name=…>` opened.
    pub(crate) fn open_value(&mut self, name: &str, out: &mut Vec<Event>) {
        let (types, first) = match self.live() {
            Some(call) => {
                call.params += 1;
                let types = call
                    .tool
                    .as_ref()
                    .map_or(Types::ANY, |t| t.param_types(name));
                (types, call.params == 1)
            }
            None => (Types::ANY, true),
        };
        self.emit(out, |a| {
            if !first {
                a.push_str(", ");
            }
            json::push_string(a, name);
            a.push_str(": ");
            if types.is_string_only() {
                a.push('"');
            }
        });
        let mut raw = std::mem::take(&mut self.spare);
        raw.clear();
        self.value = Some(Value { types, raw });
        #[cfg(feature = "python")]
        {
            self.scan = None;
        }
    }

    /// Text of the open value.
    #[inline]
    pub(crate) fn value_text(&mut self, t: &str, out: &mut Vec<Event>) {
        let Some(v) = self.value.as_mut() else {
            return;
        };
        if v.types.is_string_only() {
            self.emit(out, |a| json::escape_into(a, t));
        } else {
            v.raw.push_str(t);
        }
    }

    /// The open value ended.
    pub(crate) fn close_value(&mut self, out: &mut Vec<Event>) {
        let Some(v) = self.value.take() else {
            return;
        };
        #[cfg(feature = "python")]
        if let Some(closing) = self.closing.take() {
            self.emit(out, |a| a.push_str(&closing));
            return;
        }
        self.emit(out, |a| {
            if v.types.is_string_only() {
                a.push('"');
            } else {
                convert::push_converted(a, &v.raw, v.types);
            }
        });
        self.spare = v.raw;
    }

    /// The open call ended; `incomplete` when the response ended inside it.
    pub(crate) fn close(&mut self, incomplete: bool, out: &mut Vec<Event>) {
        self.close_value(out);
        self.emit(out, |a| a.push('}'));
        if let Some(Some(call)) = self.open.take() {
            out.push(Event::ToolCallEnd {
                index: call.index,
                arguments: call.arguments,
                incomplete,
            });
        }
    }

    #[inline]
    fn live(&mut self) -> Option<&mut LiveCall> {
        self.open.as_mut().and_then(Option::as_mut)
    }

    /// The schema of the open call's tool, when the request declared it.
    pub(crate) fn tool(&self) -> Option<Arc<Tool>> {
        self.open.as_ref()?.as_ref()?.tool.clone()
    }

    /// Appends to the open call's arguments with `f` and emits what was appended (nothing for a
    /// malformed call, whose content is skipped).
    #[inline]
    pub(crate) fn emit(&mut self, out: &mut Vec<Event>, f: impl FnOnce(&mut String)) {
        let deltas = self.deltas;
        let Some(LiveCall {
            index, arguments, ..
        }) = self.live()
        else {
            return;
        };
        let start = arguments.len();
        f(arguments);
        let added = &arguments[start..];
        if added.is_empty() || !deltas {
            return;
        }
        match out.last_mut() {
            Some(Event::ToolCallDelta {
                index: i,
                arguments: a,
            }) if *i == *index => a.push_str(added),
            _ => out.push(Event::ToolCallDelta {
                index: *index,
                arguments: added.to_string(),
            }),
        }
    }
}
