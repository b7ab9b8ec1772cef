//! The incremental parser: one state machine over the response text, fed in arbitrary pieces.
//!
//! Why it is linear: `feed` appends the new text to a small buffer that holds only what is still
//! undecided (a marker cut off part-way), then scans forward from the first undecided byte with
//! `memchr`. Decided text is emitted at once and never looked at again. The other things we must
//! wait on live outside the buffer, so they are not rescanned either: trailing whitespace of a
//! channel (trimming), the whitespace after a candidate `</parameter>` (SPEC §3 lookahead) and the
//! raw text of a non-string value until it closes.

use std::sync::Arc;

use memchr::{memchr, memchr2};

use crate::event::Event;
use crate::ids::IdGenerator;
use crate::json;
use crate::schema::{self, Tool, ToolSet, Types};
use crate::ws;

/// Where reasoning goes (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningMode {
    /// Reasoning is its own channel (`reasoning_content`).
    #[default]
    Separate,
    /// Think blocks stay in content verbatim, with their tags (vLLM's "append think").
    Inline,
}

/// What a `<minimax:tool_call>` inside unfinished reasoning does (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolCallsInReasoning {
    /// It ends the reasoning and opens a tool-call block.
    #[default]
    Extract,
    /// It stays reasoning text.
    Ignore,
}

/// Parser options; the same for one-shot [`crate::parse`] and [`StreamParser`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The request's tools, for parameter types. Shared, so building a parser is cheap.
    pub tools: Arc<ToolSet>,
    /// Where reasoning goes.
    pub reasoning: ReasoningMode,
    /// The response starts inside reasoning (the chat template ends the prompt with `<think>`).
    pub start_in_reasoning: bool,
    /// What a tool-call block inside unfinished reasoning does.
    pub tool_calls_in_reasoning: ToolCallsInReasoning,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tools: Arc::new(ToolSet::default()),
            reasoning: ReasoningMode::Separate,
            start_in_reasoning: true,
            tool_calls_in_reasoning: ToolCallsInReasoning::Extract,
        }
    }
}

/// A tag the scanner recognises. Which ones count depends on the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    ThinkOpen,
    ThinkClose,
    BlockOpen,
    BlockClose,
    InvokeOpen,
    InvokeClose,
    ParamOpen,
    ParamClose,
}

impl Tag {
    /// The literal text, or for the two tags with attributes, the text before them.
    fn text(self) -> &'static str {
        match self {
            Tag::ThinkOpen => "<think>",
            Tag::ThinkClose => "</think>",
            Tag::BlockOpen => "<minimax:tool_call>",
            Tag::BlockClose => "</minimax:tool_call>",
            Tag::InvokeOpen => "<invoke",
            Tag::InvokeClose => "</invoke>",
            Tag::ParamOpen => "<parameter",
            Tag::ParamClose => "</parameter>",
        }
    }

    fn has_attributes(self) -> bool {
        matches!(self, Tag::InvokeOpen | Tag::ParamOpen)
    }
}

const REASONING_TAGS: &[Tag] = &[Tag::ThinkClose, Tag::ThinkOpen, Tag::BlockOpen];
const REASONING_TAGS_NO_CALLS: &[Tag] = &[Tag::ThinkClose, Tag::ThinkOpen];
const CONTENT_TAGS: &[Tag] = &[
    Tag::ThinkOpen,
    Tag::ThinkClose,
    Tag::BlockOpen,
    Tag::BlockClose,
];
const BLOCK_TAGS: &[Tag] = &[
    Tag::InvokeOpen,
    Tag::BlockClose,
    Tag::BlockOpen,
    Tag::InvokeClose,
    Tag::ParamOpen,
    Tag::ParamClose,
];
const INVOKE_TAGS: &[Tag] = &[
    Tag::ParamOpen,
    Tag::InvokeClose,
    Tag::InvokeOpen,
    Tag::BlockClose,
];
const VALUE_TAGS: &[Tag] = &[Tag::ParamClose, Tag::InvokeClose];
/// What may follow a `</parameter>` that really closes its value (SPEC §3).
const AFTER_PARAM_CLOSE: &[Tag] = &[
    Tag::ParamOpen,
    Tag::InvokeClose,
    Tag::InvokeOpen,
    Tag::BlockClose,
];
/// What may follow a `</invoke>` that closes a value whose `</parameter>` is missing.
const AFTER_INVOKE_CLOSE: &[Tag] = &[Tag::InvokeOpen, Tag::BlockClose];

/// A tag with attributes longer than this without its `>` is not a tag.
const MAX_TAG_LEN: usize = 1024;

#[derive(Debug)]
enum Match<'a> {
    /// Not a tag: the `<` is text.
    No,
    /// Could still become a tag; wait for more text.
    Partial,
    /// A complete tag of `len` bytes; `name` is its name attribute, for tags that have one.
    Tag {
        tag: Tag,
        len: usize,
        name: Option<&'a str>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reasoning,
    Content,
    Block,
    Invoke,
    Value,
}

#[derive(Debug, Clone, Copy)]
enum Channel {
    Reasoning,
    Content,
}

/// Trimming state of one text channel: leading whitespace is dropped, trailing whitespace is held
/// until we know more text follows in the same channel.
#[derive(Debug, Clone, Default)]
struct Trim {
    started: bool,
    held: String,
}

#[derive(Debug)]
struct Call {
    /// `None` for a malformed invoke whose content is skipped.
    live: Option<LiveCall>,
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

/// A `</parameter>` or `</invoke>` seen inside a value, waiting for what follows it; the
/// whitespace after it collects in `StreamParser::lookahead_ws`.
#[derive(Debug, Clone)]
struct Lookahead {
    closer: Tag,
}

/// The streaming parser for one response. Feed it text with [`StreamParser::feed`], then call
/// [`StreamParser::finish`]; merging all events gives the same message as [`crate::parse`].
pub struct StreamParser {
    opts: Options,
    ids: IdGenerator,
    buf: String,
    state: State,
    reasoning: Trim,
    content: Trim,
    /// The current reasoning segment has non-whitespace text (so a `<think>` is literal).
    segment_has_text: bool,
    /// Inline mode: whitespace held while deciding whether to prepend `<think>`.
    inline_open: Option<String>,
    /// Text run inside a block, outside invokes: has text started, and its held whitespace.
    run_started: bool,
    run_held: String,
    call: Option<Call>,
    value: Option<Value>,
    lookahead: Option<Lookahead>,
    lookahead_ws: String,
    /// A reusable buffer for non-string values, so each value does not allocate.
    spare: String,
    /// For a tag with attributes held at the start of `buf`: bytes already known to hold no `>`.
    scanned: usize,
    next_index: usize,
    finished: bool,
    /// Emit `ToolCallDelta` events (one-shot parsing only needs the end events).
    deltas: bool,
    out: Vec<Event>,
}

impl std::fmt::Debug for StreamParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamParser")
            .field("state", &self.state)
            .field("held", &self.buf)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl StreamParser {
    /// A parser with the given options and random `call_…` ids.
    pub fn new(opts: Options) -> Self {
        Self::with_ids(opts, IdGenerator::random())
    }

    /// A parser with the given options and id generator.
    pub fn with_ids(opts: Options, ids: IdGenerator) -> Self {
        let inline_open =
            (opts.reasoning == ReasoningMode::Inline && opts.start_in_reasoning).then(String::new);
        let state = if opts.start_in_reasoning {
            State::Reasoning
        } else {
            State::Content
        };
        StreamParser {
            opts,
            ids,
            buf: String::new(),
            state,
            reasoning: Trim::default(),
            content: Trim::default(),
            segment_has_text: false,
            inline_open,
            run_started: false,
            run_held: String::new(),
            call: None,
            value: None,
            lookahead: None,
            lookahead_ws: String::new(),
            spare: String::new(),
            scanned: 0,
            next_index: 0,
            finished: false,
            deltas: true,
            out: Vec::new(),
        }
    }

    /// Feeds the next piece of the response; returns the events it completed.
    pub fn feed(&mut self, text: &str) -> Result<Vec<Event>, crate::Error> {
        if self.finished {
            return Err(crate::Error::Finished);
        }
        if self.buf.is_empty() {
            let used = self.run(text, false);
            self.buf.push_str(&text[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.push_str(text);
            let used = self.run(&buf, false);
            buf.drain(..used);
            self.buf = buf;
        }
        Ok(std::mem::take(&mut self.out))
    }

    /// Ends the response: flushes held text and closes an unfinished call (`incomplete`).
    pub fn finish(&mut self) -> Result<Vec<Event>, crate::Error> {
        if self.finished {
            return Err(crate::Error::Finished);
        }
        self.finished = true;
        let buf = std::mem::take(&mut self.buf);
        self.run(&buf, true);
        if self.lookahead.is_some() {
            // The end of the response is a valid follower of a closing tag.
            self.accept_closer();
        }
        if matches!(self.state, State::Invoke | State::Value) {
            self.close_call(true);
        }
        Ok(std::mem::take(&mut self.out))
    }

    /// What [`StreamParser::finish`] would add if the response ended now, leaving this parser as
    /// it is (SPEC §5 snapshots): held text flushed, and the open call's `ToolCallEnd` — whose
    /// `arguments` hold only the text finishing appends to the arguments streamed so far (the
    /// rest of the value, `}`), so a preview costs O(held text), not O(call). Empty once finished.
    #[cfg(feature = "python")]
    pub(crate) fn preview_finish(&self) -> Vec<Event> {
        if self.finished {
            return Vec::new();
        }
        let mut copy = StreamParser {
            opts: self.opts.clone(),
            // Finishing starts no call, so no id is ever drawn.
            ids: IdGenerator::from_fn(|_| String::new()),
            buf: self.buf.clone(),
            state: self.state,
            reasoning: self.reasoning.clone(),
            content: self.content.clone(),
            segment_has_text: self.segment_has_text,
            inline_open: self.inline_open.clone(),
            run_started: self.run_started,
            run_held: self.run_held.clone(),
            call: self.call.as_ref().map(|c| Call {
                live: c.live.as_ref().map(|l| LiveCall {
                    index: l.index,
                    tool: l.tool.clone(),
                    arguments: String::new(),
                    params: l.params,
                }),
            }),
            value: self.value.clone(),
            lookahead: self.lookahead.clone(),
            lookahead_ws: self.lookahead_ws.clone(),
            spare: String::new(),
            scanned: self.scanned,
            next_index: self.next_index,
            finished: false,
            deltas: false,
            out: Vec::new(),
        };
        copy.finish().unwrap_or_default()
    }

    /// Skips `ToolCallDelta` events; each call's arguments still arrive in its `ToolCallEnd`.
    /// For one-shot parsing, where nobody reads the fragments.
    pub(crate) fn without_argument_deltas(mut self) -> Self {
        self.deltas = false;
        self
    }

    /// Makes room for about `n` events, so one-shot parsing of a long text does not regrow.
    pub(crate) fn reserve_events(&mut self, n: usize) {
        self.out.reserve(n);
    }

    /// True once [`StreamParser::finish`] was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Processes `s`; returns how many bytes were decided. At `eof`, everything is decided.
    fn run(&mut self, s: &str, eof: bool) -> usize {
        let mut pos = 0;
        while pos < s.len() {
            let next = if self.lookahead.is_some() {
                self.step_lookahead(s, pos, eof)
            } else {
                self.step(s, pos, eof)
            };
            match next {
                Some(p) => pos = p,
                None => break,
            }
        }
        pos
    }

    fn tags(&self) -> &'static [Tag] {
        match self.state {
            State::Reasoning => match self.opts.tool_calls_in_reasoning {
                ToolCallsInReasoning::Extract => REASONING_TAGS,
                ToolCallsInReasoning::Ignore => REASONING_TAGS_NO_CALLS,
            },
            State::Content => CONTENT_TAGS,
            State::Block => BLOCK_TAGS,
            State::Invoke => INVOKE_TAGS,
            State::Value => VALUE_TAGS,
        }
    }

    /// One step in a text state: text up to the next `<`, or the tag at `pos`.
    fn step(&mut self, s: &str, pos: usize, eof: bool) -> Option<usize> {
        let rest = &s[pos..];
        match find_lt(rest.as_bytes()) {
            None => {
                self.text(rest);
                Some(s.len())
            }
            Some(i) if i > 0 => {
                self.text(&rest[..i]);
                Some(pos + i)
            }
            Some(_) => match self.match_tag(rest) {
                Match::Tag { tag, len, name } => {
                    self.scanned = 0;
                    self.on_tag(tag, name);
                    Some(pos + len)
                }
                Match::No => {
                    self.scanned = 0;
                    self.text("<");
                    Some(pos + 1)
                }
                Match::Partial if !eof => None,
                Match::Partial => {
                    // The response ended inside something that looked like a tag.
                    self.scanned = 0;
                    if matches!(self.state, State::Reasoning | State::Content) {
                        self.text(rest);
                    }
                    Some(s.len())
                }
            },
        }
    }

    /// Matches the tags of the current state against `rest`, which starts with `<`.
    fn match_tag<'a>(&mut self, rest: &'a str) -> Match<'a> {
        let b = rest.as_bytes();
        // Every tag is told apart by its first letter after `<` or `</`, so at most one literal
        // needs comparing.
        let tag = match (b.get(1), b.get(2)) {
            (None, _) | (Some(b'/'), None) => return Match::Partial,
            (Some(b'/'), Some(c)) => match c {
                b't' => Tag::ThinkClose,
                b'm' => Tag::BlockClose,
                b'i' => Tag::InvokeClose,
                b'p' => Tag::ParamClose,
                _ => return Match::No,
            },
            (Some(c), _) => match c {
                b't' => Tag::ThinkOpen,
                b'm' => Tag::BlockOpen,
                b'i' => Tag::InvokeOpen,
                b'p' => Tag::ParamOpen,
                _ => return Match::No,
            },
        };
        if !self.tags().contains(&tag) {
            return Match::No;
        }
        let lit = tag.text();
        if b.len() < lit.len() || (tag.has_attributes() && b.len() == lit.len()) {
            let same = common_prefix(b, lit.as_bytes());
            return if same == b.len().min(lit.len()) {
                Match::Partial
            } else {
                Match::No
            };
        }
        if b[..lit.len()] != *lit.as_bytes() {
            return Match::No;
        }
        if !tag.has_attributes() {
            return Match::Tag {
                tag,
                len: lit.len(),
                name: None,
            };
        }
        let after = b[lit.len()];
        if !(after.is_ascii_whitespace() || after == b'>' || after == b'/') {
            return Match::No;
        }
        let from = self.scanned.max(lit.len());
        let limit = b.len().min(MAX_TAG_LEN);
        match memchr2(b'>', b'<', &b[from..limit]) {
            Some(j) if b[from + j] == b'>' => {
                let end = from + j;
                Match::Tag {
                    tag,
                    len: end + 1,
                    name: parse_name(&rest[lit.len()..end]),
                }
            }
            Some(_) => Match::No,
            None if b.len() < MAX_TAG_LEN => {
                self.scanned = limit;
                Match::Partial
            }
            None => Match::No,
        }
    }

    /// After a candidate closer inside a value: skip whitespace, then decide on what follows.
    fn step_lookahead(&mut self, s: &str, pos: usize, eof: bool) -> Option<usize> {
        let rest = &s[pos..];
        let ws = rest.len() - ws::trim_start(rest).len();
        if ws > 0 {
            self.lookahead_ws.push_str(&rest[..ws]);
            return Some(pos + ws);
        }
        let followers = match self.lookahead.as_ref().map(|la| la.closer) {
            Some(Tag::ParamClose) => AFTER_PARAM_CLOSE,
            _ => AFTER_INVOKE_CLOSE,
        };
        match match_follower(rest, followers) {
            Follower::Yes => self.accept_closer(),
            Follower::Maybe if !eof => return None,
            Follower::Maybe => self.accept_closer(),
            Follower::No => {
                if let Some(la) = self.lookahead.take() {
                    self.value_text(la.closer.text());
                    let ws = std::mem::take(&mut self.lookahead_ws);
                    self.value_text(&ws);
                    self.lookahead_ws = ws;
                }
            }
        }
        Some(pos)
    }

    /// The candidate closer really closes its value (and, for `</invoke>`, its call).
    fn accept_closer(&mut self) {
        let Some(la) = self.lookahead.take() else {
            return;
        };
        self.close_value();
        if la.closer == Tag::InvokeClose {
            self.close_call(false);
            self.state = State::Block;
        } else {
            self.state = State::Invoke;
        }
    }

    fn on_tag(&mut self, tag: Tag, name: Option<&str>) {
        let inline = self.opts.reasoning == ReasoningMode::Inline;
        match (self.state, tag) {
            (State::Reasoning, Tag::ThinkClose) => {
                if inline {
                    self.open_inline_think("");
                    self.channel(Channel::Content, "</think>");
                }
                self.state = State::Content;
            }
            (State::Reasoning, Tag::ThinkOpen) => {
                if self.segment_has_text {
                    self.text("<think>");
                } else if inline {
                    match self.inline_open.take() {
                        Some(ws) => {
                            let mut s = ws;
                            s.push_str("<think>");
                            self.channel(Channel::Content, &s);
                        }
                        None => self.channel(Channel::Content, "<think>"),
                    }
                }
            }
            (State::Reasoning, Tag::BlockOpen) => {
                // Reasoning with no text before the block: no `<think>` to write in inline mode.
                self.inline_open = None;
                self.enter_block();
            }
            (State::Content, Tag::ThinkOpen) => {
                if inline {
                    self.channel(Channel::Content, "<think>");
                }
                self.segment_has_text = false;
                self.state = State::Reasoning;
            }
            (State::Content, Tag::BlockOpen) => self.enter_block(),
            (State::Block, Tag::InvokeOpen) => {
                self.end_run();
                self.start_call(name);
            }
            (State::Block, Tag::BlockClose) => {
                self.end_run();
                self.state = State::Content;
            }
            (State::Block, _) => self.end_run(),
            (State::Invoke, Tag::ParamOpen) => {
                if let Some(name) = name {
                    self.open_value(name);
                }
            }
            (State::Invoke, Tag::InvokeClose) => {
                self.close_call(false);
                self.state = State::Block;
            }
            (State::Invoke, Tag::InvokeOpen) => {
                self.close_call(false);
                self.start_call(name);
            }
            (State::Invoke, Tag::BlockClose) => {
                self.close_call(false);
                self.state = State::Content;
            }
            (State::Value, Tag::ParamClose | Tag::InvokeClose) => {
                self.lookahead = Some(Lookahead { closer: tag });
                self.lookahead_ws.clear();
            }
            // Stray closers in content are markup and dropped.
            _ => {}
        }
    }

    /// Text that is not a tag, in the current state.
    fn text(&mut self, t: &str) {
        match self.state {
            State::Reasoning => {
                if !self.segment_has_text && t.chars().any(|c| !ws::is_ws(c)) {
                    self.segment_has_text = true;
                }
                if self.opts.reasoning == ReasoningMode::Inline {
                    if self.inline_open.is_some() {
                        let body = ws::trim_start(t);
                        if body.is_empty() {
                            if let Some(held) = self.inline_open.as_mut() {
                                held.push_str(t);
                            }
                        } else {
                            self.open_inline_think(t);
                        }
                    } else {
                        self.channel(Channel::Content, t);
                    }
                } else {
                    self.channel(Channel::Reasoning, t);
                }
            }
            State::Content => self.channel(Channel::Content, t),
            State::Block => self.run_text(t),
            State::Invoke => {} // junk between parameters
            State::Value => self.value_text(t),
        }
    }

    /// Inline mode: the response started in reasoning without `<think>`; write one, then `t`.
    fn open_inline_think(&mut self, t: &str) {
        if let Some(held) = self.inline_open.take() {
            let mut s = String::with_capacity(7 + held.len() + t.len());
            s.push_str("<think>");
            s.push_str(&held);
            s.push_str(t);
            self.channel(Channel::Content, &s);
        } else if !t.is_empty() {
            self.channel(Channel::Content, t);
        }
    }

    fn enter_block(&mut self) {
        self.state = State::Block;
        self.end_run();
    }

    /// Text inside a block, outside invokes: trimmed per run, then content.
    fn run_text(&mut self, t: &str) {
        let t = if self.run_started {
            t
        } else {
            ws::trim_start(t)
        };
        if t.is_empty() {
            return;
        }
        self.run_started = true;
        let body = ws::trim_end(t);
        if body.is_empty() {
            self.run_held.push_str(t);
            return;
        }
        let mut held = std::mem::take(&mut self.run_held);
        self.channel(Channel::Content, &held);
        self.channel(Channel::Content, body);
        held.clear();
        held.push_str(&t[body.len()..]);
        self.run_held = held;
    }

    fn end_run(&mut self) {
        self.run_started = false;
        self.run_held.clear();
    }

    /// Emits channel text, trimming the channel as a whole.
    fn channel(&mut self, which: Channel, t: &str) {
        let trim = match which {
            Channel::Reasoning => &mut self.reasoning,
            Channel::Content => &mut self.content,
        };
        let t = if trim.started { t } else { ws::trim_start(t) };
        if t.is_empty() {
            return;
        }
        trim.started = true;
        let body = ws::trim_end(t);
        if body.is_empty() {
            trim.held.push_str(t);
            return;
        }
        let slot = match (which, self.out.last_mut()) {
            (Channel::Reasoning, Some(Event::Reasoning(s))) => s,
            (Channel::Content, Some(Event::Content(s))) => s,
            _ => {
                let s = String::with_capacity(trim.held.len() + body.len());
                self.out.push(match which {
                    Channel::Reasoning => Event::Reasoning(s),
                    Channel::Content => Event::Content(s),
                });
                match self.out.last_mut() {
                    Some(Event::Reasoning(s) | Event::Content(s)) => s,
                    _ => unreachable!("just pushed a text event"),
                }
            }
        };
        slot.push_str(&trim.held);
        slot.push_str(body);
        trim.held.clear();
        trim.held.push_str(&t[body.len()..]);
    }

    fn start_call(&mut self, name: Option<&str>) {
        self.state = State::Invoke;
        let live = name.map(|name| {
            let index = self.next_index;
            self.next_index += 1;
            let id = self.ids.next(index);
            self.out.push(Event::ToolCallStart {
                index,
                id,
                name: name.to_string(),
            });
            LiveCall {
                index,
                tool: self.opts.tools.get(name).cloned(),
                arguments: String::with_capacity(128),
                params: 0,
            }
        });
        self.call = Some(Call { live });
        self.arguments(|a| a.push('{'));
    }

    /// Appends to the current call's arguments with `f` and emits what was appended.
    fn arguments(&mut self, f: impl FnOnce(&mut String)) {
        let Some(LiveCall {
            index, arguments, ..
        }) = self.call.as_mut().and_then(|c| c.live.as_mut())
        else {
            return;
        };
        let start = arguments.len();
        f(arguments);
        let added = &arguments[start..];
        if added.is_empty() || !self.deltas {
            return;
        }
        match self.out.last_mut() {
            Some(Event::ToolCallDelta {
                index: i,
                arguments: a,
            }) if *i == *index => a.push_str(added),
            _ => self.out.push(Event::ToolCallDelta {
                index: *index,
                arguments: added.to_string(),
            }),
        }
    }

    fn open_value(&mut self, name: &str) {
        self.state = State::Value;
        let types = match self.call.as_mut().and_then(|c| c.live.as_mut()) {
            Some(call) => {
                call.params += 1;
                call.tool
                    .as_ref()
                    .map_or(Types::ANY, |t| t.param_types(name))
            }
            None => Types::ANY,
        };
        let first = self
            .call
            .as_ref()
            .and_then(|c| c.live.as_ref())
            .is_some_and(|c| c.params == 1);
        self.arguments(|a| {
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

    fn value_text(&mut self, t: &str) {
        let Some(v) = self.value.as_mut() else {
            return;
        };
        if v.types.is_string_only() {
            self.arguments(|a| json::escape_into(a, t));
        } else {
            v.raw.push_str(t);
        }
    }

    fn close_value(&mut self) {
        let Some(v) = self.value.take() else {
            return;
        };
        self.arguments(|a| {
            if v.types.is_string_only() {
                a.push('"');
            } else {
                schema::push_converted(a, &v.raw, v.types);
            }
        });
        self.spare = v.raw;
    }

    fn close_call(&mut self, incomplete: bool) {
        self.lookahead = None;
        self.close_value();
        self.arguments(|a| a.push('}'));
        if let Some(Call {
            live: Some(call), ..
        }) = self.call.take()
        {
            self.out.push(Event::ToolCallEnd {
                index: call.index,
                arguments: call.arguments,
                incomplete,
            });
        }
    }
}

enum Follower {
    Yes,
    No,
    Maybe,
}

/// Does `rest` start with one of `followers`? `<parameter` and `<invoke` count only when followed
/// by whitespace, as in a real tag.
fn match_follower(rest: &str, followers: &[Tag]) -> Follower {
    let mut maybe = false;
    for &tag in followers {
        let lit = tag.text();
        let need = lit.len() + usize::from(tag.has_attributes());
        let b = rest.as_bytes();
        let matches = if b.len() >= lit.len() {
            b[..lit.len()] == *lit.as_bytes()
        } else {
            common_prefix(b, lit.as_bytes()) == b.len()
        };
        if !matches {
            continue;
        }
        if rest.len() < need {
            maybe = true;
        } else if !tag.has_attributes() || rest.as_bytes()[lit.len()].is_ascii_whitespace() {
            return Follower::Yes;
        }
    }
    if maybe {
        Follower::Maybe
    } else {
        Follower::No
    }
}

/// The first `<` in `b`. Inside tool-call markup the next `<` is usually a byte or two away,
/// where a plain look beats setting up a vector search.
#[inline]
fn find_lt(b: &[u8]) -> Option<usize> {
    let head = b.len().min(8);
    let mut i = 0;
    while i < head {
        if b[i] == b'<' {
            return Some(i);
        }
        i += 1;
    }
    if b.len() <= 8 {
        return None;
    }
    memchr(b'<', &b[8..]).map(|i| i + 8)
}

/// How many leading bytes `a` and `b` share. Tag literals are short, so a plain loop beats a
/// call to `memcmp`.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The `name` attribute of a tag's attribute text (`name="x"`, `name='x'`, `name=x`, `name = "x"`).
fn parse_name(attrs: &str) -> Option<&str> {
    // The chat template's own spelling, ` name="x"`, without the general machinery.
    if let Some(rest) = attrs.strip_prefix(" name=\"") {
        if let Some(end) = memchr(b'"', rest.as_bytes()) {
            let name = &rest[..end];
            let tail_blank = rest.as_bytes()[end + 1..]
                .iter()
                .all(u8::is_ascii_whitespace);
            let (first, last) = (name.bytes().next(), name.bytes().last());
            let padded = |b: Option<u8>| b.is_none_or(|b| b.is_ascii_whitespace() || b >= 0x80);
            if tail_blank && !padded(first) && !padded(last) {
                return Some(name);
            }
        }
    }
    let mut s = attrs.trim();
    while !s.is_empty() {
        let key_end = s
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(s.len());
        let key = &s[..key_end];
        s = s[key_end..].trim_start();
        let mut value = None;
        if let Some(v) = s.strip_prefix('=') {
            let v = v.trim_start();
            let (val, rest) = match v.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &v[1..];
                    match inner.find(q) {
                        Some(end) => (&inner[..end], &inner[end + 1..]),
                        None => (inner, ""),
                    }
                }
                _ => {
                    let end = v.find(char::is_whitespace).unwrap_or(v.len());
                    (&v[..end], &v[end..])
                }
            };
            value = Some(val);
            s = rest.trim_start();
        }
        if key == "name" {
            let name = value?.trim();
            let name = name.strip_suffix('/').unwrap_or(name).trim_end();
            return (!name.is_empty()).then_some(name);
        }
        if key_end == 0 && value.is_none() {
            // A lone `/` or other punctuation: skip one character.
            let mut chars = s.chars();
            chars.next();
            s = chars.as_str();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            (r#" name="get_weather""#, Some("get_weather")),
            (" name='a.b:c-d'", Some("a.b:c-d")),
            (" name=bare", Some("bare")),
            (" name = \"spaced\" ", Some("spaced")),
            (" name=bare/", Some("bare")),
            (r#" id="1" name="second""#, Some("second")),
            (r#" name=" padded ""#, Some("padded")),
            (r#" name="unterminated"#, Some("unterminated")),
            (r#" name="""#, None),
            ("", None),
            (" foo", None),
            (" / ", None),
        ];
        for (attrs, want) in cases {
            assert_eq!(parse_name(attrs), want, "{attrs:?}");
        }
    }
}
