//! The seam between the state machine and a dialect: how a dialect spells each structural tag,
//! and which tag a `<` can start. The state machine works on logical [`Tag`]s only, so a second
//! dialect is a new file here, not edits throughout the parser.

mod m2;

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

/// A dialect: how it spells its markup. An enum rather than a table of function pointers, so
/// the one match per tag compiles to direct, inlinable calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// MiniMax-M2, M2.1, M2.5 and M2.7.
    M2,
}

impl Dialect {
    /// The literal of `tag`; for a tag with attributes, the text before them.
    #[inline]
    pub(crate) fn spell(self, tag: Tag) -> &'static str {
        match self {
            Dialect::M2 => m2::spell(tag),
        }
    }

    /// Which tag the text `b` (starting with `<`) can only be, looking at as few bytes as
    /// possible: one literal compare per tag instead of one per candidate.
    #[inline]
    pub(crate) fn classify(self, b: &[u8]) -> Classify {
        match self {
            Dialect::M2 => m2::classify(b),
        }
    }
}
