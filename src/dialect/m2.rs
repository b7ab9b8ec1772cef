//! MiniMax-M2's markup: `<think>`, `<minimax:tool_call>`, `<invoke name=…>`,
//! `<parameter name=…>` and their closers (SPEC §1).

use super::Classify;
use crate::scanner::Tag;

#[inline]
pub(super) fn spell(tag: Tag) -> &'static str {
    match tag {
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

/// Every tag is told apart by its first letter after `<` or `</`.
#[inline]
pub(super) fn classify(b: &[u8]) -> Classify {
    let tag = match (b.get(1), b.get(2)) {
        (None, _) | (Some(b'/'), None) => return Classify::Partial,
        (Some(b'/'), Some(c)) => match c {
            b't' => Tag::ThinkClose,
            b'm' => Tag::BlockClose,
            b'i' => Tag::InvokeClose,
            b'p' => Tag::ParamClose,
            _ => return Classify::No,
        },
        (Some(c), _) => match c {
            b't' => Tag::ThinkOpen,
            b'm' => Tag::BlockOpen,
            b'i' => Tag::InvokeOpen,
            b'p' => Tag::ParamOpen,
            _ => return Classify::No,
        },
    };
    Classify::Is(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classifier agrees with the spellings: each literal classifies as its own tag.
    #[test]
    fn classify_matches_spelling() {
        for tag in Tag::ALL {
            assert_eq!(
                classify(spell(tag).as_bytes()),
                Classify::Is(tag),
                "{tag:?}"
            );
        }
        assert_eq!(classify(b"<"), Classify::Partial);
        assert_eq!(classify(b"</"), Classify::Partial);
        assert_eq!(classify(b"<b>"), Classify::No);
        assert_eq!(classify(b"</x"), Classify::No);
    }
}
