//! Parser options, the same for one-shot [`crate::parse`] and [`crate::StreamParser`], with their
//! spellings (parsed once, here, for every binding).

use std::str::FromStr;
use std::sync::Arc;

use crate::dialect::Dialect;
use crate::schema::ToolSet;

/// Where reasoning goes (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningMode {
    /// Reasoning is its own channel (`reasoning_content`).
    #[default]
    Separate,
    /// Think blocks stay in content verbatim, with their tags (vLLM's "append think").
    Inline,
}

/// What a tool-call block inside unfinished reasoning does (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolCallsInReasoning {
    /// It ends the reasoning and opens a tool-call block.
    #[default]
    Extract,
    /// It stays reasoning text.
    Ignore,
}

/// An option value outside the listed ones; its message lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOption(pub String);

impl std::fmt::Display for UnknownOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownOption {}

/// Parses `s` as one of `choices` (spelling, value), naming the option and the choices if not.
pub(crate) fn choose<T: Copy>(
    option: &str,
    s: &str,
    choices: &[(&str, T)],
) -> Result<T, UnknownOption> {
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            UnknownOption(format!(
                "{option} must be {}, got {s:?}",
                names.join(" or ")
            ))
        })
}

impl FromStr for ReasoningMode {
    type Err = UnknownOption;
    fn from_str(s: &str) -> Result<Self, UnknownOption> {
        choose(
            "reasoning",
            s,
            &[
                ("separate", ReasoningMode::Separate),
                ("inline", ReasoningMode::Inline),
            ],
        )
    }
}

impl FromStr for ToolCallsInReasoning {
    type Err = UnknownOption;
    fn from_str(s: &str) -> Result<Self, UnknownOption> {
        choose(
            "tool_calls_in_reasoning",
            s,
            &[
                ("extract", ToolCallsInReasoning::Extract),
                ("ignore", ToolCallsInReasoning::Ignore),
            ],
        )
    }
}

/// Parser options; the same for one-shot [`crate::parse`] and [`crate::StreamParser`].
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
    /// The model generation's output format.
    pub dialect: Dialect,
}

impl Options {
    /// The defaults for `dialect`: the same as [`Options::default`] but with that dialect and
    /// its start state ([`Dialect::starts_in_reasoning`]).
    pub fn for_dialect(dialect: Dialect) -> Options {
        Options {
            dialect,
            start_in_reasoning: dialect.starts_in_reasoning(),
            ..Options::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tools: Arc::new(ToolSet::default()),
            reasoning: ReasoningMode::Separate,
            start_in_reasoning: true,
            tool_calls_in_reasoning: ToolCallsInReasoning::Extract,
            dialect: Dialect::M2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!("inline".parse(), Ok(ReasoningMode::Inline));
        assert_eq!("ignore".parse(), Ok(ToolCallsInReasoning::Ignore));
        let err = "loud".parse::<ReasoningMode>().unwrap_err().to_string();
        assert_eq!(
            err,
            "reasoning must be \"separate\" or \"inline\", got \"loud\""
        );
    }
}
