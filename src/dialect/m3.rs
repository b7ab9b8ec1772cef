//! MiniMax-M3's markup (SPEC §7): `<mm:think>`/`</mm:think>` without a prefix, and every tag of
//! a tool-call block behind the marker `]<]minimax[>[` (`N`): `N<tool_call>`, `N<invoke
//! name=…>`, one element `N<key>…N</key>` per argument, and their closers. Only `N`-prefixed
//! tags are structure, so a tag is recognised by the marker, and its name is whatever comes
//! before `>`.

use memchr::memchr2;

use super::Classify;
use crate::scanner::{Tag, MAX_TAG_LEN};

/// The marker in front of every tool-call tag (one token in M3's vocabulary, id 200058).
pub(crate) const MARK: &str = "]<]minimax[>[";

#[inline]
pub(super) fn spell(tag: Tag) -> &'static str {
    match tag {
        Tag::ThinkOpen => "<mm:think>",
        Tag::ThinkClose => "</mm:think>",
        Tag::BlockOpen => "]<]minimax[>[<tool_call>",
        Tag::BlockClose => "]<]minimax[>[</tool_call>",
        Tag::InvokeOpen => "]<]minimax[>[<invoke",
        Tag::InvokeClose => "]<]minimax[>[</invoke>",
        // M3 has no parameter tags: arguments are elements.
        Tag::ParamOpen => "]<]minimax[>[<parameter",
        Tag::ParamClose => "]<]minimax[>[</parameter>",
    }
}

/// A `<` starts only the think tags: everything else is behind the marker.
#[inline]
pub(super) fn classify(b: &[u8]) -> Classify {
    let (close, at) = match b.get(1) {
        None => return Classify::Partial,
        Some(b'/') => (true, 2),
        Some(_) => (false, 1),
    };
    match b.get(at) {
        None => Classify::Partial,
        Some(b'm') if close => Classify::Is(Tag::ThinkClose),
        Some(b'm') => Classify::Is(Tag::ThinkOpen),
        Some(_) => Classify::No,
    }
}

/// What the text at a `]` is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan<'a> {
    /// Not the marker: the `]` is text.
    NotMark,
    /// Could still become a tag (or is the marker still arriving); wait for more text.
    /// `mark` says whether the whole marker is there.
    Partial { mark: bool },
    /// The marker with no tag after it (`N` then text): `len` bytes of marker.
    Lone { len: usize },
    /// The marker and a tag that cannot be completed (a `<` before its `>`, or too long):
    /// `len` bytes, dropped.
    Broken { len: usize },
    /// A complete tag of `len` bytes: `N<name>` (`close` false) or `N</name>`; `name` is
    /// everything before the `>`, verbatim.
    Tag {
        close: bool,
        name: &'a str,
        len: usize,
    },
}

/// Reads the text `rest` (starting with `]`) as the marker and the tag after it. Whitespace
/// between the marker and `<` is allowed (SPEC §7). `scanned` remembers how far a tag still
/// waiting for its `>` is known to hold none, so a long tag arriving in pieces is not rescanned.
pub(crate) fn scan<'a>(rest: &'a str, scanned: &mut usize) -> Scan<'a> {
    let b = rest.as_bytes();
    let mark = MARK.as_bytes();
    if b.len() < mark.len() {
        return if mark.starts_with(b) {
            Scan::Partial { mark: false }
        } else {
            Scan::NotMark
        };
    }
    if !b.starts_with(mark) {
        return Scan::NotMark;
    }
    let mut i = mark.len();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    match b.get(i) {
        None => return Scan::Partial { mark: true },
        Some(b'<') => {}
        Some(_) => return Scan::Lone { len: mark.len() },
    }
    let close = match b.get(i + 1) {
        None => return Scan::Partial { mark: true },
        Some(b'/') => true,
        Some(_) => false,
    };
    let start = i + 1 + usize::from(close);
    let from = (*scanned).max(start);
    let limit = b.len().min(start + MAX_TAG_LEN);
    if from > limit {
        return Scan::Partial { mark: true };
    }
    match memchr2(b'>', b'<', &b[from..limit]) {
        Some(j) if b[from + j] == b'>' => {
            *scanned = 0;
            Scan::Tag {
                close,
                name: &rest[start..from + j],
                len: from + j + 1,
            }
        }
        Some(j) => {
            *scanned = 0;
            // A `<` inside the name: the tag is broken there. A `]` just before it is
            // probably the next marker's, which is left to be read again.
            let at = from + j;
            let len = if at > start && b[at - 1] == b']' {
                at - 1
            } else {
                at
            };
            Scan::Broken { len }
        }
        None if limit < start + MAX_TAG_LEN => {
            *scanned = limit;
            Scan::Partial { mark: true }
        }
        None => {
            *scanned = 0;
            Scan::Broken { len: mark.len() }
        }
    }
}

/// For an opener named `name`: the attribute text if it is `invoke` followed by whitespace (the
/// call opener `N<invoke name="…">`), else `None` (an element).
pub(crate) fn invoke_attributes(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("invoke")?;
    rest.starts_with(|c: char| c.is_ascii_whitespace())
        .then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(s: &str) -> Scan<'_> {
        scan(s, &mut 0)
    }

    #[test]
    fn marker_and_tags() {
        assert_eq!(scan_all("]x"), Scan::NotMark);
        assert_eq!(scan_all("]<]mini"), Scan::Partial { mark: false });
        assert_eq!(scan_all("]<]minimax[>["), Scan::Partial { mark: true });
        assert_eq!(scan_all("]<]minimax[>[ \n"), Scan::Partial { mark: true });
        assert_eq!(scan_all("]<]minimax[>[Paris"), Scan::Lone { len: 13 });
        assert_eq!(
            scan_all("]<]minimax[>[<location>Paris"),
            Scan::Tag {
                close: false,
                name: "location",
                len: 23
            }
        );
        assert_eq!(
            scan_all("]<]minimax[>[ \n</-n>"),
            Scan::Tag {
                close: true,
                name: "-n",
                len: 20
            }
        );
        assert_eq!(
            scan_all("]<]minimax[>[<a b]<]minimax[>[</x>"),
            Scan::Broken { len: 17 }
        );
        assert_eq!(scan_all("]<]minimax[>[<a b"), Scan::Partial { mark: true });
        let long = format!("]<]minimax[>[<{}", "x".repeat(MAX_TAG_LEN + 1));
        assert_eq!(scan_all(&long), Scan::Broken { len: 13 });
    }

    #[test]
    fn long_tags_in_pieces_are_not_rescanned() {
        let mut scanned = 0;
        let t = format!("]<]minimax[>[<{}", "y".repeat(100));
        assert_eq!(scan(&t, &mut scanned), Scan::Partial { mark: true });
        assert_eq!(scanned, t.len());
        let t2 = format!("{t}>");
        assert!(matches!(scan(&t2, &mut scanned), Scan::Tag { len, .. } if len == t2.len()));
    }

    #[test]
    fn think_tags_classify() {
        assert_eq!(classify(b"<"), Classify::Partial);
        assert_eq!(classify(b"</"), Classify::Partial);
        assert_eq!(classify(b"<mm:think>"), Classify::Is(Tag::ThinkOpen));
        assert_eq!(classify(b"</mm:think>"), Classify::Is(Tag::ThinkClose));
        assert_eq!(classify(b"<think>"), Classify::No);
        assert_eq!(invoke_attributes("invoke name=\"f\""), Some(" name=\"f\""));
        assert_eq!(invoke_attributes("invoke"), None);
        assert_eq!(invoke_attributes("invoked"), None);
    }
}
