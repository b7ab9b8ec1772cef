//! A streaming parser for the raw output of the MiniMax-M2 model family (M2, M2.1, M2.5, M2.7).
//!
//! It splits a response into what an OpenAI-compatible client expects: reasoning, content and
//! tool calls with JSON `arguments` typed by the request's tool schemas. Feed it text in any
//! pieces; merging the events always gives the one-shot result.
//!
//! ```
//! use minimax_parser::{parse, Options};
//!
//! let text = "I should look.</think>\n\nChecking.<minimax:tool_call>\n\
//!             <invoke name=\"get_weather\">\n<parameter name=\"city\">Paris</parameter>\n\
//!             </invoke>\n</minimax:tool_call>";
//! let msg = parse(text, Options::default());
//! assert_eq!(msg.reasoning.as_deref(), Some("I should look."));
//! assert_eq!(msg.content.as_deref(), Some("Checking."));
//! assert_eq!(msg.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
//! ```

#![warn(missing_docs)]

// The pipeline, in the order text flows through it: the scanner finds tags (spelled by a
// dialect), the state machine (`parser`) decides channels, the tool-call builder (`call`) turns
// values into `arguments` JSON by the compiled schemas (`schema`, `convert`, `json`), and
// `event` merges what comes out into a message.
mod call;
mod convert;
mod dialect;
mod elements;
mod event;
mod ids;
mod json;
mod options;
mod parser;
mod scanner;
mod schema;
mod trim;
mod ws;

#[cfg(feature = "python")]
mod python;

pub use dialect::Dialect;
pub use elements::MAX_ELEMENT_DEPTH;
pub use event::{Event, Message, MessageBuilder, ToolCall};
pub use ids::{random_id, IdGenerator};
pub use options::{Options, ReasoningMode, ToolCallsInReasoning, UnknownOption};
pub use parser::StreamParser;
pub use schema::{Tool, ToolSet, Types, MAX_SCHEMA_ALTERNATIVES, MAX_SCHEMA_DEPTH};

/// Misuse of the API. Model output never produces an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `feed` or `finish` after `finish`.
    Finished,
    /// A tool definition without a usable name.
    InvalidTool(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Finished => f.write_str(
                "this StreamParser is finished; create a new StreamParser for the next response",
            ),
            Error::InvalidTool(msg) => write!(f, "invalid tool definition: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// Parses a complete response at once.
pub fn parse(text: &str, opts: Options) -> Message {
    parse_with_ids(text, opts, IdGenerator::random())
}

/// Parses a complete response at once, naming calls with `ids`.
pub fn parse_with_ids(text: &str, opts: Options, ids: IdGenerator) -> Message {
    let mut p = StreamParser::with_ids(opts, ids).without_argument_deltas();
    // Dense tool-call text makes about one event per 32 bytes; prose far fewer.
    p.reserve_events((text.len() / 32).min(1 << 20));
    let mut b = MessageBuilder::new();
    // A fresh parser accepts one feed and one finish, so neither can fail.
    b.extend(p.feed(text).unwrap_or_default());
    b.extend(p.finish().unwrap_or_default());
    b.build()
}

/// The README's Rust example, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
