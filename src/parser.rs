//! The channel state machine: one pass over the response text, fed in arbitrary pieces, deciding
//! what each piece is (reasoning, content, a tool-call block, a call, a value) and handing
//! values to the tool-call builder ([`crate::call`]).
//!
//! Why it is linear: `feed` appends the new text to a small buffer that holds only what is still
//! undecided (a marker cut off part-way), then scans forward from the first undecided byte with
//! `memchr`. Decided text is emitted at once and never looked at again. The other things we must
//! wait on live outside the buffer, so they are not rescanned either: trailing whitespace of a
//! channel (trimming), the whitespace after a candidate `</parameter>` (SPEC §3 lookahead) and the
//! raw text of a non-string value until it closes.

use memchr::{memchr, memchr2};

use crate::call::Calls;
use crate::dialect::m3::{self, Scan};
use crate::dialect::Dialect;
use crate::elements::{Closed, Elements};
use crate::event::Event;
use crate::ids::IdGenerator;
use crate::options::{Options, ReasoningMode, ToolCallsInReasoning};
use crate::scanner::{find_lt, match_follower, match_tag, parse_name, Follower, Match, Tag};
use crate::trim::Trim;
use crate::ws;

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

/// The streaming parser for one response. Feed it text with [`StreamParser::feed`], then call
/// [`StreamParser::finish`]; merging all events gives the same message as [`crate::parse`].
pub struct StreamParser {
    opts: Options,
    dialect: Dialect,
    /// Undecided text: a tag cut off part-way.
    buf: String,
    state: State,
    reasoning: Trim,
    content: Trim,
    /// The current run of text inside a block, outside invokes (trimmed per run).
    run: Trim,
    /// The current reasoning segment has non-whitespace text (so a `<think>` is literal).
    segment_has_text: bool,
    /// Inline mode: whitespace held while deciding whether to prepend `<think>`.
    inline_open: Option<String>,
    calls: Calls,
    /// M3: the elements of the open call.
    elements: Elements,
    /// A `</parameter>` or `</invoke>` seen inside a value, waiting for what follows it; the
    /// whitespace after it collects in `lookahead_ws`.
    lookahead: Option<Tag>,
    lookahead_ws: String,
    /// For a tag with attributes held at the start of `buf`: bytes already known to hold no `>`.
    scanned: usize,
    finished: bool,
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
            calls: Calls::new(opts.tools.clone(), ids),
            dialect: opts.dialect,
            opts,
            elements: Elements::default(),
            buf: String::new(),
            state,
            reasoning: Trim::default(),
            content: Trim::default(),
            run: Trim::default(),
            segment_has_text: false,
            inline_open,
            lookahead: None,
            lookahead_ws: String::new(),
            scanned: 0,
            finished: false,
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
    /// It takes `&mut self` only to remember how far it has read an open non-string value.
    #[cfg(feature = "python")]
    pub(crate) fn preview_finish(&mut self) -> Vec<Event> {
        if self.finished {
            return Vec::new();
        }
        // Held whitespace only ever goes out before text that follows it, and the only text
        // finishing can flush is the undecided `buf`: without one, the copy needs none of it
        // (and the whitespace after a candidate closer is dropped when finishing accepts it).
        let flushes = !self.buf.is_empty();
        let mut copy = StreamParser {
            opts: self.opts.clone(),
            dialect: self.dialect,
            buf: self.buf.clone(),
            state: self.state,
            reasoning: self.reasoning.preview(flushes),
            content: self.content.preview(flushes),
            run: self.run.preview(flushes),
            segment_has_text: self.segment_has_text,
            inline_open: self.inline_open.as_ref().map(|held| {
                if flushes {
                    held.clone()
                } else {
                    String::new()
                }
            }),
            calls: self.calls.preview(),
            elements: self.elements.clone(),
            lookahead: self.lookahead,
            lookahead_ws: String::new(),
            scanned: self.scanned,
            finished: false,
            out: Vec::new(),
        };
        copy.finish().unwrap_or_default()
    }

    /// Skips `ToolCallDelta` events; each call's arguments still arrive in its `ToolCallEnd`.
    /// For one-shot parsing, where nobody reads the fragments.
    pub(crate) fn without_argument_deltas(mut self) -> Self {
        self.calls.without_deltas();
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
        if self.dialect == Dialect::M3 {
            return self.step_m3(s, pos, eof);
        }
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
            Some(_) => self.step_tag(s, pos, eof),
        }
    }

    /// At a `<`: the tag it starts, or text.
    fn step_tag(&mut self, s: &str, pos: usize, eof: bool) -> Option<usize> {
        let rest = &s[pos..];
        match match_tag(self.dialect, rest, self.tags(), &mut self.scanned) {
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
        }
    }

    /// One step of MiniMax-M3: in reasoning and content, think tags start with `<` and the
    /// block opener with the marker; inside a block only the marker starts structure (SPEC §7).
    fn step_m3(&mut self, s: &str, pos: usize, eof: bool) -> Option<usize> {
        let rest = &s[pos..];
        let b = rest.as_bytes();
        let in_text = matches!(self.state, State::Reasoning | State::Content);
        let found = if in_text {
            memchr2(b'<', b']', b)
        } else {
            memchr(b']', b)
        };
        match found {
            None => {
                self.text(rest);
                return Some(s.len());
            }
            Some(i) if i > 0 => {
                self.text(&rest[..i]);
                return Some(pos + i);
            }
            Some(_) => {}
        }
        if b[0] == b'<' {
            return self.step_tag(s, pos, eof);
        }
        if in_text {
            return self.step_m3_text(rest, pos, eof);
        }
        match m3::scan(rest, &mut self.scanned) {
            Scan::NotMark => {
                self.text("]");
                Some(pos + 1)
            }
            Scan::Partial { .. } if !eof => None,
            // The response ended inside a tag of the block: dropped.
            Scan::Partial { .. } => Some(s.len()),
            Scan::Lone { len } | Scan::Broken { len } => {
                // Inside a block, a marker without a tag is dropped.
                if self.state == State::Block {
                    self.run.reset();
                } else {
                    self.elements.lone();
                }
                Some(pos + len)
            }
            Scan::Tag { close, name, len } => {
                self.on_m3_tag(close, name, &rest[..len]);
                Some(pos + len)
            }
        }
    }

    /// At a `]` in reasoning or content: only `N<tool_call>` is structure there; any other
    /// marker is text. A response that ends in a cut-off `N<tool_call>` drops it.
    fn step_m3_text(&mut self, rest: &str, pos: usize, eof: bool) -> Option<usize> {
        const OPEN: &str = "<tool_call>";
        let b = rest.as_bytes();
        let mark = m3::MARK.len();
        if b.len() < mark {
            if !m3::MARK.as_bytes().starts_with(b) {
                self.text("]");
                return Some(pos + 1);
            }
            if eof {
                self.text(rest);
                return Some(pos + rest.len());
            }
            return None;
        }
        if !b.starts_with(m3::MARK.as_bytes()) {
            self.text("]");
            return Some(pos + 1);
        }
        let after = rest[mark..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let extract = self.state == State::Content
            || self.opts.tool_calls_in_reasoning == ToolCallsInReasoning::Extract;
        if extract && after.starts_with(OPEN) {
            self.on_tag(Tag::BlockOpen, None);
            return Some(pos + rest.len() - after.len() + OPEN.len());
        }
        if extract && OPEN.starts_with(after) {
            if !eof {
                return None;
            }
            // A cut-off `N<tool_call>` at the end of the response is dropped.
            return Some(pos + rest.len());
        }
        self.text(m3::MARK);
        Some(pos + mark)
    }

    /// An M3 tag inside a block or a call.
    fn on_m3_tag(&mut self, close: bool, name: &str, raw: &str) {
        if !close {
            let attrs = m3::invoke_attributes(name);
            let invoke = attrs.is_some() || (self.state == State::Block && name == "invoke");
            if invoke {
                if self.state == State::Invoke {
                    self.close_call(false);
                }
                self.run.reset();
                self.start_call(attrs.and_then(parse_name));
            } else if self.state == State::Invoke {
                self.elements
                    .open(name, raw, &mut self.calls, &mut self.out);
            } else {
                // Any other tag between invokes is dropped.
                self.run.reset();
            }
            return;
        }
        if self.state == State::Invoke
            && self
                .elements
                .close(name, raw, &mut self.calls, &mut self.out)
                == Closed::Element
        {
            return;
        }
        match (self.state, name) {
            (State::Invoke, "invoke") => {
                self.close_call(false);
                self.state = State::Block;
            }
            (State::Invoke | State::Block, "tool_call") => {
                if self.state == State::Invoke {
                    self.close_call(false);
                }
                self.run.reset();
                self.state = State::Content;
            }
            (State::Invoke, _) => {
                self.elements
                    .unmatched_closer(name, raw, &mut self.calls, &mut self.out);
            }
            _ => self.run.reset(),
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
        let followers = match self.lookahead {
            Some(Tag::ParamClose) => AFTER_PARAM_CLOSE,
            _ => AFTER_INVOKE_CLOSE,
        };
        match match_follower(self.dialect, rest, followers) {
            Follower::Yes => self.accept_closer(),
            Follower::Maybe if !eof => return None,
            Follower::Maybe => self.accept_closer(),
            Follower::No => {
                // The closer was value text after all, with the whitespace after it.
                if let Some(closer) = self.lookahead.take() {
                    self.calls
                        .value_text(self.dialect.spell(closer), &mut self.out);
                    self.calls.value_text(&self.lookahead_ws, &mut self.out);
                }
            }
        }
        Some(pos)
    }

    /// The candidate closer really closes its value (and, for `</invoke>`, its call).
    fn accept_closer(&mut self) {
        let Some(closer) = self.lookahead.take() else {
            return;
        };
        self.calls.close_value(&mut self.out);
        if closer == Tag::InvokeClose {
            self.close_call(false);
            self.state = State::Block;
        } else {
            self.state = State::Invoke;
        }
    }

    fn on_tag(&mut self, tag: Tag, name: Option<&str>) {
        let inline = self.opts.reasoning == ReasoningMode::Inline;
        let dialect = self.dialect;
        let spell = |tag| dialect.spell(tag);
        match (self.state, tag) {
            (State::Reasoning, Tag::ThinkClose) => {
                if inline {
                    self.open_inline_think("");
                    self.channel(Channel::Content, spell(Tag::ThinkClose));
                }
                self.state = State::Content;
            }
            (State::Reasoning, Tag::ThinkOpen) => {
                if self.segment_has_text {
                    self.text(spell(Tag::ThinkOpen));
                } else if inline {
                    let mut s = self.inline_open.take().unwrap_or_default();
                    s.push_str(spell(Tag::ThinkOpen));
                    self.channel(Channel::Content, &s);
                }
            }
            (State::Reasoning, Tag::BlockOpen) => {
                // Reasoning with no text before the block: no `<think>` to write in inline mode.
                self.inline_open = None;
                self.enter_block();
            }
            (State::Content, Tag::ThinkOpen) => {
                if inline {
                    self.channel(Channel::Content, spell(Tag::ThinkOpen));
                }
                self.segment_has_text = false;
                self.state = State::Reasoning;
            }
            (State::Content, Tag::BlockOpen) => self.enter_block(),
            (State::Block, Tag::InvokeOpen) => {
                self.run.reset();
                self.start_call(name);
            }
            (State::Block, Tag::BlockClose) => {
                self.run.reset();
                self.state = State::Content;
            }
            (State::Block, _) => self.run.reset(),
            (State::Invoke, Tag::ParamOpen) => {
                if let Some(name) = name {
                    self.state = State::Value;
                    self.calls.open_value(name, &mut self.out);
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
                self.lookahead = Some(tag);
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
                if self.opts.reasoning == ReasoningMode::Separate {
                    self.channel(Channel::Reasoning, t);
                } else if self.inline_open.is_none() {
                    self.channel(Channel::Content, t);
                } else if ws::trim_start(t).is_empty() {
                    if let Some(held) = self.inline_open.as_mut() {
                        held.push_str(t);
                    }
                } else {
                    self.open_inline_think(t);
                }
            }
            State::Content => self.channel(Channel::Content, t),
            State::Block => {
                // A run of text inside a block, outside invokes: trimmed per run, then content.
                let mut run = std::mem::take(&mut self.run);
                run.push(t, |held, body| {
                    self.channel(Channel::Content, held);
                    self.channel(Channel::Content, body);
                });
                self.run = run;
            }
            State::Invoke => {
                if self.dialect == Dialect::M3 {
                    self.elements.text(t, &mut self.calls, &mut self.out);
                }
                // M2: junk between parameters.
            }
            State::Value => self.calls.value_text(t, &mut self.out),
        }
    }

    /// Inline mode: the response started in reasoning without `<think>`; write one, then `t`.
    fn open_inline_think(&mut self, t: &str) {
        if let Some(held) = self.inline_open.take() {
            let open = self.dialect.spell(Tag::ThinkOpen);
            let mut s = String::with_capacity(open.len() + held.len() + t.len());
            s.push_str(open);
            s.push_str(&held);
            s.push_str(t);
            self.channel(Channel::Content, &s);
        } else if !t.is_empty() {
            self.channel(Channel::Content, t);
        }
    }

    fn enter_block(&mut self) {
        self.state = State::Block;
        self.run.reset();
    }

    fn start_call(&mut self, name: Option<&str>) {
        self.state = State::Invoke;
        self.calls.start(name, &mut self.out);
        if self.dialect == Dialect::M3 {
            self.elements.start(self.calls.tool());
        }
    }

    fn close_call(&mut self, incomplete: bool) {
        self.lookahead = None;
        self.elements.close_all(&mut self.calls, &mut self.out);
        self.calls.close(incomplete, &mut self.out);
    }

    /// Emits channel text, trimming the channel as a whole; adjacent text of one channel is
    /// merged into one event.
    fn channel(&mut self, which: Channel, t: &str) {
        let (trim, out) = match which {
            Channel::Reasoning => (&mut self.reasoning, &mut self.out),
            Channel::Content => (&mut self.content, &mut self.out),
        };
        trim.push(t, |held, body| {
            let slot = match (which, out.last_mut()) {
                (Channel::Reasoning, Some(Event::Reasoning(s))) => s,
                (Channel::Content, Some(Event::Content(s))) => s,
                _ => {
                    out.push(match which {
                        Channel::Reasoning => Event::Reasoning(String::new()),
                        Channel::Content => Event::Content(String::new()),
                    });
                    match out.last_mut() {
                        Some(Event::Reasoning(s) | Event::Content(s)) => s,
                        _ => unreachable!("just pushed a text event"),
                    }
                }
            };
            slot.reserve(held.len() + body.len());
            slot.push_str(held);
            slot.push_str(body);
        });
    }
}
