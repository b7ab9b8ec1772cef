//! What the parser produces: streaming events and the final message they add up to.

/// One piece of parser output. `feed` returns these in order; adjacent text of one kind is merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// More reasoning text (`reasoning_content`).
    Reasoning(String),
    /// More content text.
    Content(String),
    /// A tool call began: its name is complete.
    ToolCallStart {
        /// Position of the call in the response, counted across all blocks.
        index: usize,
        /// The call id (`call_…`).
        id: String,
        /// The function name.
        name: String,
    },
    /// More of a call's `arguments` JSON text.
    ToolCallDelta {
        /// Which call.
        index: usize,
        /// The next fragment; all fragments of a call concatenate to its final `arguments`.
        arguments: String,
    },
    /// A tool call ended.
    ToolCallEnd {
        /// Which call.
        index: usize,
        /// The complete `arguments` JSON object text.
        arguments: String,
        /// True when the response ended inside the call.
        incomplete: bool,
    },
}

/// A complete tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Position of the call in the response.
    pub index: usize,
    /// The call id.
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments as a JSON object text in `json.dumps` layout.
    pub arguments: String,
    /// True when the response ended inside the call.
    pub incomplete: bool,
}

/// The parsed assistant message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Reasoning text, trimmed; `None` when empty.
    pub reasoning: Option<String>,
    /// Content text, trimmed; `None` when empty.
    pub content: Option<String>,
    /// Tool calls in order.
    pub tool_calls: Vec<ToolCall>,
}

/// Folds a stream of events into a [`Message`]; the merge that the central invariant speaks of.
#[derive(Debug, Default)]
pub struct MessageBuilder {
    reasoning: String,
    content: String,
    calls: Vec<ToolCall>,
}

impl MessageBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one event.
    pub fn push(&mut self, event: Event) {
        match event {
            Event::Reasoning(t) => append(&mut self.reasoning, t),
            Event::Content(t) => append(&mut self.content, t),
            Event::ToolCallStart { index, id, name } => self.calls.push(ToolCall {
                index,
                id,
                name,
                arguments: String::new(),
                incomplete: false,
            }),
            Event::ToolCallDelta { index, arguments } => {
                if let Some(c) = self.calls.iter_mut().rev().find(|c| c.index == index) {
                    c.arguments.push_str(&arguments);
                }
            }
            Event::ToolCallEnd {
                index,
                arguments,
                incomplete,
            } => {
                if let Some(c) = self.calls.iter_mut().rev().find(|c| c.index == index) {
                    // The end event carries the whole text; the deltas (if any) added up to it.
                    c.arguments = arguments;
                    c.incomplete = incomplete;
                }
            }
        }
    }

    /// Adds every event of `events`.
    pub fn extend(&mut self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            self.push(e);
        }
    }

    /// The message so far.
    pub fn build(self) -> Message {
        let opt = |s: String| if s.is_empty() { None } else { Some(s) };
        Message {
            reasoning: opt(self.reasoning),
            content: opt(self.content),
            tool_calls: self.calls,
        }
    }
}

fn append(dst: &mut String, t: String) {
    if dst.is_empty() {
        *dst = t;
    } else {
        dst.push_str(&t);
    }
}
