//! MiniMax-M3's arguments (SPEC §7): one element per key, `N<key>…N</key>`, nested for objects
//! and arrays. The state machine reports what the markup said (an element opens, text, an
//! element closes); this builds the call's `arguments` JSON from it, typed by the tool's schema
//! graph ([`crate::schema::Graph`]), and streams it through the tool-call builder
//! ([`crate::call::Calls`]) as far as it is decided:
//!
//! * `"key": ` when an element opens; a string-only leaf character by character; any other leaf
//!   when it closes; a container `{`/`[` when its first child opens and `}`/`]` when it closes,
//!   when the schema (or a first child not named `item`) decides its kind.
//! * What can still change is held as a tree and emitted when its element closes: a container
//!   whose kind depends on all its children (no schema, first child `item`), and an object's
//!   keys from the first one that collects repeats (its schema admits an array, or it has none),
//!   since a later repeat adds items to it in its first position.
//!
//! Every piece of text is either streamed once, or kept once in the frame or tree that holds
//! it; closing renders each held node once, so a call costs time linear in its text.

use std::collections::HashMap;
use std::sync::Arc;

use crate::call::Calls;
use crate::convert;
use crate::event::Event;
use crate::json;
use crate::schema::{Graph, NodeId, Tool, Types};
use crate::ws;

/// How deeply elements may nest in one call (SPEC §9); an opener deeper than this is text.
pub const MAX_ELEMENT_DEPTH: usize = 128;

static NO_GRAPH: Graph = Graph::EMPTY;

/// An element held whole: its name, its text pieces joined, its children.
#[derive(Debug, Clone, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Kind {
    /// No child yet. Its raw text is in the frame's `text`; for a string-only element only
    /// whitespace, held until text or a child decides what it is.
    Leaf,
    /// A string-only leaf, streaming; its opening quote is out. `inner` names the tags opened
    /// inside it, kept as text, so their closers are text too (innermost last; at most
    /// [`MAX_ELEMENT_DEPTH`] are tracked).
    Str { inner: Vec<String> },
    /// An object streaming its keys; from the first key that collects repeats, the rest is
    /// held in `tail`. `dollars` lists the `$…text` key names its children took (as counts of `$`).
    Object {
        keys: usize,
        tail: Option<Vec<Node>>,
        dollars: Vec<usize>,
    },
    /// An array streaming its items.
    Array { items: usize },
    /// Held whole as `node`; `root` when its parent streams (it is emitted when it closes),
    /// otherwise it joins its parent's tree. `inner` is as for `Str` once a string-only element
    /// (by its schema where it was opened) has begun with text (B 30).
    Held {
        node: Node,
        root: bool,
        inner: Option<Vec<String>>,
    },
}

#[derive(Debug, Clone)]
struct Frame {
    name: String,
    schema: NodeId,
    kind: Kind,
    /// A leaf's raw text, or a streaming container's text pieces (for `$text`).
    text: String,
}

/// The elements of the open call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Elements {
    tool: Option<Arc<Tool>>,
    /// The call's arguments object (first) and the elements open in it.
    stack: Vec<Frame>,
    /// Text at the call's top level since the last marker: the value of an element whose
    /// opener was lost, if a closer follows (`NParisN</location>`).
    loose: String,
}

/// What `N</name>` did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// It closed an open element named so.
    Element,
    /// No open element has that name.
    Unmatched,
}

impl Elements {
    fn graph(&self) -> &Graph {
        self.tool.as_ref().map_or(&NO_GRAPH, |t| t.graph())
    }

    /// A call opened (`Calls::start` has written its `{`).
    pub(crate) fn start(&mut self, tool: Option<Arc<Tool>>) {
        let schema = if tool.is_some() {
            Graph::ROOT
        } else {
            Graph::NONE
        };
        self.tool = tool;
        self.stack.clear();
        self.stack.push(Frame {
            name: String::new(),
            schema,
            kind: Kind::Object {
                keys: 0,
                tail: None,
                dollars: Vec::new(),
            },
            text: String::new(),
        });
        self.loose.clear();
    }

    /// The tags kept as text in the string value open now, if one is (B 30).
    fn string_tags(&mut self) -> Option<&mut Vec<String>> {
        match self.stack.last_mut().map(|f| &mut f.kind) {
            Some(
                Kind::Str { inner }
                | Kind::Held {
                    inner: Some(inner), ..
                },
            ) => Some(inner),
            _ => None,
        }
    }

    /// Markup kept as text of the string value open now.
    fn keep_as_text(&mut self, raw: &str, calls: &mut Calls, out: &mut Vec<Event>) {
        match self.stack.last_mut().map(|f| &mut f.kind) {
            Some(Kind::Held { node, .. }) => node.text.push_str(raw),
            _ => calls.emit(out, |a| json::escape_into(a, raw)),
        }
    }

    /// A marker that is no tag (or a broken one) was dropped.
    pub(crate) fn lone(&mut self) {
        self.loose.clear();
    }

    /// Text inside the call.
    pub(crate) fn text(&mut self, t: &str, calls: &mut Calls, out: &mut Vec<Event>) {
        if self.stack.len() <= 1 {
            // Between elements: junk, unless a closer shows it was a value (lost opener).
            self.loose.push_str(t);
            return;
        }
        let graph = self.tool.as_ref().map_or(&NO_GRAPH, |t| t.graph());
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        match &mut top.kind {
            Kind::Leaf if graph.types(top.schema).is_string_only() => {
                if ws::trim_start(t).is_empty() {
                    top.text.push_str(t);
                } else {
                    let held = std::mem::take(&mut top.text);
                    top.kind = Kind::Str { inner: Vec::new() };
                    calls.emit(out, |a| {
                        a.push('"');
                        json::escape_into(a, &held);
                        json::escape_into(a, t);
                    });
                }
            }
            Kind::Str { .. } => calls.emit(out, |a| json::escape_into(a, t)),
            Kind::Leaf | Kind::Object { .. } | Kind::Array { .. } => top.text.push_str(t),
            Kind::Held { node, inner, .. } => {
                if inner.is_none()
                    && node.children.is_empty()
                    && graph.types(top.schema).is_string_only()
                    && !ws::trim_start(t).is_empty()
                {
                    *inner = Some(Vec::new());
                }
                node.text.push_str(t);
            }
        }
    }

    /// `N<name>` opened an element; `raw` is the tag as written.
    pub(crate) fn open(&mut self, name: &str, raw: &str, calls: &mut Calls, out: &mut Vec<Event>) {
        self.loose.clear();
        if let Some(inner) = self.string_tags() {
            // Markup inside a string value is its text (SPEC §7, B 30).
            if inner.len() < MAX_ELEMENT_DEPTH {
                inner.push(name.to_string());
            }
            return self.keep_as_text(raw, calls, out);
        }
        if self.stack.len() > MAX_ELEMENT_DEPTH {
            return self.text(raw, calls, out);
        }
        let graph = self.tool.as_ref().map_or(&NO_GRAPH, |t| t.graph());
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        if matches!(top.kind, Kind::Leaf) {
            // The first child decides what kind of container this is.
            let types = graph.types(top.schema);
            let array = types.contains(Types::ARRAY) && !types.contains(Types::OBJECT);
            let object = types.contains(Types::OBJECT) && !types.contains(Types::ARRAY);
            top.kind = if array {
                calls.emit(out, |a| a.push('['));
                Kind::Array { items: 0 }
            } else if !object && name == "item" {
                let node = Node {
                    name: top.name.clone(),
                    text: std::mem::take(&mut top.text),
                    children: Vec::new(),
                };
                Kind::Held {
                    node,
                    root: true,
                    inner: None,
                }
            } else {
                calls.emit(out, |a| a.push('{'));
                Kind::Object {
                    keys: 0,
                    tail: None,
                    dollars: Vec::new(),
                }
            };
        }
        let parent = top.schema;
        let (schema, kind) = match &mut top.kind {
            Kind::Array { items } => {
                let first = *items == 0;
                *items += 1;
                calls.emit(out, |a| {
                    if !first {
                        a.push_str(", ");
                    }
                });
                (graph.items(parent), Kind::Leaf)
            }
            Kind::Object {
                keys,
                tail,
                dollars,
            } => {
                if let Some(n) = dollar_count(name) {
                    dollars.push(n);
                }
                let schema = graph.property(parent, name);
                if tail.is_none() && !collects(graph.types(schema)) {
                    let first = *keys == 0;
                    *keys += 1;
                    calls.emit(out, |a| {
                        if !first {
                            a.push_str(", ");
                        }
                        json::push_string(a, name);
                        a.push_str(": ");
                    });
                    (schema, Kind::Leaf)
                } else {
                    tail.get_or_insert_with(Vec::new);
                    (schema, held(name))
                }
            }
            // Where it was opened, a held child's schema is what its parent's schema says for
            // it (rendering decides again, B 32); that tells whether it is a string value.
            Kind::Held { .. } => {
                let types = graph.types(parent);
                let array = types.contains(Types::ARRAY) && !types.contains(Types::OBJECT);
                let object = types.contains(Types::OBJECT) && !types.contains(Types::ARRAY);
                let schema = if array || (!object && name == "item") {
                    graph.items(parent)
                } else {
                    graph.property(parent, name)
                };
                (schema, held(name))
            }
            Kind::Leaf | Kind::Str { .. } => unreachable!("decided above"),
        };
        self.stack.push(Frame {
            name: name.to_string(),
            schema,
            kind,
            text: String::new(),
        });
    }

    /// `N</name>`: closes the innermost open element named so, and those opened inside it; in a
    /// string value, the closer of a tag kept as its text is text too. An unmatched closer leaves
    /// the top-level text for [`Elements::unmatched_closer`].
    pub(crate) fn close(
        &mut self,
        name: &str,
        raw: &str,
        calls: &mut Calls,
        out: &mut Vec<Event>,
    ) -> Closed {
        if let Some(inner) = self.string_tags() {
            if let Some(j) = inner.iter().rposition(|n| n == name) {
                inner.truncate(j);
                self.keep_as_text(raw, calls, out);
                return Closed::Element;
            }
        }
        let i = match self.stack.iter().rposition(|f| f.name == name) {
            Some(i) if i > 0 => i,
            _ => return Closed::Unmatched,
        };
        self.loose.clear();
        while self.stack.len() > i {
            self.pop(calls, out);
        }
        Closed::Element
    }

    /// A closer that matched no element and is no structure: text inside a string value, the
    /// end of a value whose opener was lost at the top level, else junk (skipped).
    pub(crate) fn unmatched_closer(
        &mut self,
        name: &str,
        raw: &str,
        calls: &mut Calls,
        out: &mut Vec<Event>,
    ) {
        if self.string_tags().is_some() {
            return self.keep_as_text(raw, calls, out);
        }
        if self.stack.len() == 1 && !ws::trim_start(&self.loose).is_empty() {
            let value = std::mem::take(&mut self.loose);
            self.open(name, "", calls, out);
            self.text(&value, calls, out);
            self.pop(calls, out);
        }
        self.loose.clear();
    }

    /// The call ends (its closer, the next call, or the end of the response): every element
    /// still open closes there, and what the arguments object holds back goes out, all but its
    /// `}` (which [`Calls::close`] writes).
    pub(crate) fn close_all(&mut self, calls: &mut Calls, out: &mut Vec<Event>) {
        while self.stack.len() > 1 {
            self.pop(calls, out);
        }
        if let Some(Frame {
            schema,
            kind:
                Kind::Object {
                    keys,
                    tail: Some(tail),
                    ..
                },
            ..
        }) = self.stack.pop()
        {
            let mut s = String::new();
            render_members(self.graph(), schema, &tail, keys > 0, &mut s);
            calls.emit(out, |a| a.push_str(&s));
        }
        self.stack.clear();
        self.loose.clear();
        self.tool = None;
    }

    /// Closes the innermost element.
    fn pop(&mut self, calls: &mut Calls, out: &mut Vec<Event>) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let graph = self.tool.as_ref().map_or(&NO_GRAPH, |t| t.graph());
        match frame.kind {
            Kind::Leaf => {
                let mut s = String::new();
                render_leaf(graph, frame.schema, &frame.text, &mut s);
                calls.emit(out, |a| a.push_str(&s));
            }
            Kind::Str { .. } => calls.emit(out, |a| a.push('"')),
            Kind::Object {
                keys,
                tail,
                dollars,
            } => {
                let mut s = String::new();
                let mut any = keys > 0;
                if let Some(tail) = &tail {
                    any |= render_members(graph, frame.schema, tail, any, &mut s);
                }
                push_text_key(&frame.text, any, dollars, &mut s);
                s.push('}');
                calls.emit(out, |a| a.push_str(&s));
            }
            Kind::Array { items } => {
                let mut s = String::new();
                push_text_item(&frame.text, items > 0, &mut s);
                s.push(']');
                calls.emit(out, |a| a.push_str(&s));
            }
            Kind::Held { mut node, root, .. } => {
                node.text.push_str(&frame.text);
                if root {
                    let mut s = String::new();
                    render_value(graph, frame.schema, &node, &mut s);
                    calls.emit(out, |a| a.push_str(&s));
                    return;
                }
                match self.stack.last_mut().map(|f| &mut f.kind) {
                    Some(Kind::Held { node: parent, .. }) => parent.children.push(node),
                    Some(Kind::Object {
                        tail: Some(tail), ..
                    }) => tail.push(node),
                    _ => unreachable!("a held element's parent holds a tree"),
                }
            }
        }
    }
}

fn held(name: &str) -> Kind {
    Kind::Held {
        node: Node {
            name: name.to_string(),
            ..Node::default()
        },
        root: false,
        inner: None,
    }
}

/// A key collects repeated elements into an array when its schema admits one (or says nothing).
fn collects(types: Types) -> bool {
    types.admits(Types::ARRAY)
}

/// For a name `$…$text`, how many `$` it starts with.
fn dollar_count(name: &str) -> Option<usize> {
    let rest = name.trim_start_matches('$');
    (rest == "text" && rest.len() < name.len()).then(|| name.len() - rest.len())
}

/// Appends the `$text` member of an object whose text pieces are `text`, if any of them is
/// more than whitespace: named with the fewest `$` no child took.
fn push_text_key(text: &str, after: bool, mut taken: Vec<usize>, out: &mut String) {
    if ws::trim_start(text).is_empty() {
        return;
    }
    taken.sort_unstable();
    let mut n = 1;
    for t in taken {
        if t == n {
            n += 1;
        }
    }
    if after {
        out.push_str(", ");
    }
    out.push('"');
    for _ in 0..n {
        out.push('$');
    }
    out.push_str("text\": ");
    json::push_string(out, text);
}

/// Appends the text pieces of an array, if more than whitespace, as its last item.
fn push_text_item(text: &str, after: bool, out: &mut String) {
    if ws::trim_start(text).is_empty() {
        return;
    }
    if after {
        out.push_str(", ");
    }
    json::push_string(out, text);
}

/// A leaf's JSON by its schema (SPEC §4, §7): string-only verbatim; otherwise an empty or
/// blank leaf by what the schema admits, anything else converted as in §4.
fn render_leaf(graph: &Graph, schema: NodeId, text: &str, out: &mut String) {
    let types = graph.types(schema);
    if types.is_string_only() {
        return json::push_string(out, text);
    }
    if ws::trim_start(text).is_empty() {
        let empty = if types.admits(Types::STRING) {
            "\"\""
        } else if types.contains(Types::ARRAY) {
            "[]"
        } else if types.contains(Types::OBJECT) {
            "{}"
        } else if types.contains(Types::NULL) {
            "null"
        } else {
            "\"\""
        };
        return out.push_str(empty);
    }
    convert::push_converted(out, text, types);
}

/// A held element's JSON by its schema.
fn render_value(graph: &Graph, schema: NodeId, node: &Node, out: &mut String) {
    if node.children.is_empty() {
        return render_leaf(graph, schema, &node.text, out);
    }
    let types = graph.types(schema);
    let array = types.contains(Types::ARRAY) && !types.contains(Types::OBJECT);
    let object = types.contains(Types::OBJECT) && !types.contains(Types::ARRAY);
    if array || (!object && node.children.iter().all(|c| c.name == "item")) {
        let items = graph.items(schema);
        out.push('[');
        for (i, child) in node.children.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            render_value(graph, items, child, out);
        }
        push_text_item(&node.text, true, out);
        out.push(']');
    } else {
        out.push('{');
        render_members(graph, schema, &node.children, false, out);
        let taken = node
            .children
            .iter()
            .filter_map(|c| dollar_count(&c.name))
            .collect();
        push_text_key(&node.text, true, taken, out);
        out.push('}');
    }
}

/// Appends the members of an object of schema `schema` made of `children` (after earlier
/// members when `after`): keys that collect gather their repeats as an array in the first
/// one's place; other keys repeat in order. Returns whether it appended any.
fn render_members(
    graph: &Graph,
    schema: NodeId,
    children: &[Node],
    mut after: bool,
    out: &mut String,
) -> bool {
    // (schema of the key, first child, its repeats), in the order of first occurrence.
    let mut members: Vec<(NodeId, usize, Vec<usize>)> = Vec::with_capacity(children.len());
    let mut collecting: HashMap<&str, usize> = HashMap::new();
    for (i, child) in children.iter().enumerate() {
        let key = graph.property(schema, &child.name);
        if collects(graph.types(key)) {
            if let Some(&m) = collecting.get(child.name.as_str()) {
                members[m].2.push(i);
                continue;
            }
            collecting.insert(&child.name, members.len());
        }
        members.push((key, i, Vec::new()));
    }
    for (key, first, repeats) in &members {
        if after {
            out.push_str(", ");
        }
        after = true;
        let child = &children[*first];
        json::push_string(out, &child.name);
        out.push_str(": ");
        if repeats.is_empty() {
            render_value(graph, *key, child, out);
            continue;
        }
        let items = graph.items(*key);
        out.push('[');
        render_value(graph, items, child, out);
        for &j in repeats {
            out.push_str(", ");
            render_value(graph, items, &children[j], out);
        }
        out.push(']');
    }
    !members.is_empty()
}
