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
}

#[derive(Debug)]
struct LiveCall {
    index: usize,
    /// The tool's schema, when the request declared it.
    tool: Option<Arc<Tool>>,
    arguments: String,
    params: usize,
}

#[derive(Debug, Clone)]
struct Value {
    types: Types,
    /// Raw text of a value that cannot stream (not string-only); converted when it closes.
    raw: String,
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
        }
    }

    pub(crate) fn without_deltas(&mut self) {
        self.deltas = false;
    }

    /// A copy for finishing ahead (snapshots): no ids are drawn, and the open call's arguments
    /// start empty, so the copy's `ToolCallEnd` carries only what finishing appends.
    #[cfg(feature = "python")]
    pub(crate) fn preview(&self) -> Calls {
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
            value: self.value.clone(),
            spare: String::new(),
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
        self.arguments(out, |a| a.push('{'));
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
        self.arguments(out, |a| {
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
    }

    /// Text of the open value.
    #[inline]
    pub(crate) fn value_text(&mut self, t: &str, out: &mut Vec<Event>) {
        let Some(v) = self.value.as_mut() else {
            return;
        };
        if v.types.is_string_only() {
            self.arguments(out, |a| json::escape_into(a, t));
        } else {
            v.raw.push_str(t);
        }
    }

    /// The open value ended.
    pub(crate) fn close_value(&mut self, out: &mut Vec<Event>) {
        let Some(v) = self.value.take() else {
            return;
        };
        self.arguments(out, |a| {
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
        self.arguments(out, |a| a.push('}'));
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

    /// Appends to the open call's arguments with `f` and emits what was appended.
    #[inline]
    fn arguments(&mut self, out: &mut Vec<Event>, f: impl FnOnce(&mut String)) {
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
