//! Tag scanning: is the text at a `<` one of the tags the current state accepts, not a tag, or
//! not decidable yet? Also the `name` attribute grammar and the check of what may follow a closer.
//! Everything here is a pure function of the text; the state machine decides what a tag means.

use memchr::{memchr, memchr2};

use crate::dialect::{Classify, Dialect};

/// A structural tag, whatever its spelling in a dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
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
    #[cfg(test)]
    pub(crate) const ALL: [Tag; 8] = [
        Tag::ThinkOpen,
        Tag::ThinkClose,
        Tag::BlockOpen,
        Tag::BlockClose,
        Tag::InvokeOpen,
        Tag::InvokeClose,
        Tag::ParamOpen,
        Tag::ParamClose,
    ];

    /// Tags that carry a `name` attribute before their `>`.
    pub(crate) fn has_attributes(self) -> bool {
        matches!(self, Tag::InvokeOpen | Tag::ParamOpen)
    }
}

/// A tag with attributes longer than this without its `>` is not a tag.
pub(crate) const MAX_TAG_LEN: usize = 1024;

/// What the text at a `<` is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Match<'a> {
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

/// Matches `rest` (which starts with `<`) against the tags in `allowed`. `scanned` remembers, for
/// a tag with attributes still waiting for its `>`, how far it is known to hold none, so a long
/// tag arriving in pieces is not rescanned.
pub(crate) fn match_tag<'a>(
    dialect: Dialect,
    rest: &'a str,
    allowed: &[Tag],
    scanned: &mut usize,
) -> Match<'a> {
    let b = rest.as_bytes();
    let tag = match dialect.classify(b) {
        Classify::Partial => return Match::Partial,
        Classify::No => return Match::No,
        Classify::Is(tag) => tag,
    };
    if !allowed.contains(&tag) {
        return Match::No;
    }
    let lit = dialect.spell(tag);
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
    let from = (*scanned).max(lit.len());
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
            *scanned = limit;
            Match::Partial
        }
        None => Match::No,
    }
}

/// Whether the text after a candidate closer starts with a tag that confirms it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Follower {
    Yes,
    No,
    Maybe,
}

/// Does `rest` start with one of `followers`? A tag with attributes counts only when followed by
/// whitespace, as in a real tag.
pub(crate) fn match_follower(dialect: Dialect, rest: &str, followers: &[Tag]) -> Follower {
    let mut maybe = false;
    let b = rest.as_bytes();
    for &tag in followers {
        let lit = dialect.spell(tag);
        let need = lit.len() + usize::from(tag.has_attributes());
        let matches = if b.len() >= lit.len() {
            b[..lit.len()] == *lit.as_bytes()
        } else {
            common_prefix(b, lit.as_bytes()) == b.len()
        };
        if !matches {
            continue;
        }
        if b.len() < need {
            maybe = true;
        } else if !tag.has_attributes() || b[lit.len()].is_ascii_whitespace() {
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
pub(crate) fn find_lt(b: &[u8]) -> Option<usize> {
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
pub(crate) fn parse_name(attrs: &str) -> Option<&str> {
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
    use crate::dialect::Dialect::M2;

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

    #[test]
    fn tags_table() {
        const ALL: &[Tag] = &Tag::ALL;
        const CONTENT: &[Tag] = &[Tag::ThinkOpen, Tag::BlockOpen];
        let tag = |tag, len, name| Match::Tag { tag, len, name };
        let cases: &[(&str, &[Tag], Match<'_>)] = &[
            ("<think>rest", ALL, tag(Tag::ThinkOpen, 7, None)),
            ("</think>", ALL, tag(Tag::ThinkClose, 8, None)),
            ("<minimax:tool_call>", ALL, tag(Tag::BlockOpen, 19, None)),
            (
                "<invoke name=\"f\">x",
                ALL,
                tag(Tag::InvokeOpen, 17, Some("f")),
            ),
            (
                "<parameter name=p>",
                ALL,
                tag(Tag::ParamOpen, 18, Some("p")),
            ),
            ("<invoke>", ALL, tag(Tag::InvokeOpen, 8, None)),
            ("<thi", ALL, Match::Partial),
            ("<", ALL, Match::Partial),
            ("</", ALL, Match::Partial),
            ("<invoke", ALL, Match::Partial),
            ("<invoke name=\"f\"", ALL, Match::Partial),
            ("<thinking>", ALL, Match::No),
            ("<invoked>", ALL, Match::No),
            ("<invoke name=<b>", ALL, Match::No),
            ("<b>", ALL, Match::No),
            ("</think>", CONTENT, Match::No),
            ("<invoke name=\"f\">", CONTENT, Match::No),
        ];
        for (text, allowed, want) in cases {
            let mut scanned = 0;
            assert_eq!(
                &match_tag(M2, text, allowed, &mut scanned),
                want,
                "{text:?}"
            );
        }
        let long = format!("<parameter name=\"{}", "x".repeat(MAX_TAG_LEN));
        assert_eq!(match_tag(M2, &long, ALL, &mut 0), Match::No);
    }

    #[test]
    fn followers() {
        let after_param = &[Tag::ParamOpen, Tag::InvokeClose];
        let cases = [
            ("<parameter name=\"x\">", Follower::Yes),
            ("</invoke>", Follower::Yes),
            ("<parameterized", Follower::No),
            ("<param", Follower::Maybe),
            ("<parameter", Follower::Maybe),
            ("</inv", Follower::Maybe),
            ("text", Follower::No),
        ];
        for (rest, want) in cases {
            assert_eq!(match_follower(M2, rest, after_param), want, "{rest:?}");
        }
    }

    #[test]
    fn find_lt_near_and_far() {
        assert_eq!(find_lt(b"ab<"), Some(2));
        assert_eq!(find_lt(b"0123456789<"), Some(10));
        assert_eq!(find_lt(b"no tag here at all"), None);
    }
}
