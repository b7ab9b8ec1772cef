//! The seam between the state machine and a dialect: how a dialect spells each structural tag,
//! and which tag a `<` can start. The state machine works on logical [`Tag`]s only, so a second
//! dialect is a new file here, not edits throughout the parser. MiniMax-M3 also puts a marker
//! in front of its tool-call markup ([`m3::scan`]); its tool-call arguments are elements, built
//! by [`crate::elements`].

mod m2;
pub(crate) mod m3;

use std::str::FromStr;

use crate::options::{choose, UnknownOption};
use crate::scanner::Tag;

/// What the bytes after a `<` say about the tag it may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Classify {
    /// Too few bytes to tell.
    Partial,
    /// No tag of this dialect starts so.
    No,
    /// Only this tag can start so (its full literal is still to be compared).
    Is(Tag),
}

/// The output format of a model generation. An enum rather than a table of function pointers,
/// so the one match per tag compiles to direct, inlinable calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// MiniMax-M2, M2.1, M2.5 and M2.7: `<think>`, `<minimax:tool_call>`, `<invoke>`,
    /// `<parameter>` (SPEC §1).
    #[default]
    M2,
    /// MiniMax-M3: `<mm:think>`, and `]<]minimax[>[`-prefixed `<tool_call>`, `<invoke>` and one
    /// element per argument (SPEC §7).
    M3,
}

impl FromStr for Dialect {
    type Err = UnknownOption;
    fn from_str(s: &str) -> Result<Self, UnknownOption> {
        choose("dialect", s, &[("m2", Dialect::M2), ("m3", Dialect::M3)])
    }
}

impl Dialect {
    /// Where a response starts when the caller does not say: M2's chat template ends the prompt
    /// inside `<think>`; M3's default ("adaptive") mode ends it before any think tag.
    pub fn starts_in_reasoning(self) -> bool {
        match self {
            Dialect::M2 => true,
            Dialect::M3 => false,
        }
    }

    /// The literal of `tag`; for a tag with attributes, the text before them.
    #[inline]
    pub(crate) fn spell(self, tag: Tag) -> &'static str {
        match self {
            Dialect::M2 => m2::spell(tag),
            Dialect::M3 => m3::spell(tag),
        }
    }

    /// Which tag the text `b` (starting with `<`) can only be, looking at as few bytes as
    /// possible: one literal compare per tag instead of one per candidate.
    #[inline]
    pub(crate) fn classify(self, b: &[u8]) -> Classify {
        match self {
            Dialect::M2 => m2::classify(b),
            Dialect::M3 => m3::classify(b),
        }
    }
}
