//! JSON text helpers that reproduce Python's `json.dumps(obj, ensure_ascii=False)` layout.
//!
//! Clients compare our `arguments` with what vLLM and the OpenAI SDK produce, which is Python's
//! layout: `", "` and `": "` separators, non-ASCII characters written as themselves, and only
//! `"`, `\` and control characters escaped. Values the model writes as JSON are validated and
//! re-written in that layout in one pass, without building a tree, numbers kept exactly as the
//! model wrote them (big integers never lose digits).

use std::collections::HashMap;

/// Appends `s` to `out` as the *inside* of a JSON string literal (no surrounding quotes),
/// escaping exactly what Python's `json.dumps(..., ensure_ascii=False)` escapes.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !NEEDS_ESCAPE[b as usize] {
            i += 1;
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Bytes that Python's `json.dumps` escapes: `"`, `\\` and the C0 controls.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends `s` to `out` as a complete JSON string literal.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// The kind of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// Nesting deeper than this is refused (serde_json's limit too).
const MAX_NESTING: usize = 128;

/// Validates `text` as one JSON value (surrounding whitespace allowed) and appends it to `out`
/// in `json.dumps` layout, numbers as written. Returns the value's kind, or `None` (leaving
/// `out` as it was) when `text` is not JSON. Objects with repeated keys keep, like a Python
/// dict, the last value at the first key's position (a second, slower pass does that).
pub fn reformat(text: &str, out: &mut String) -> Option<Kind> {
    let mark = out.len();
    let mut r = Reformatter {
        b: text.as_bytes(),
        s: text,
        i: 0,
        out,
        dup_prone: false,
        dedupe: false,
    };
    let mut kind = r.document();
    if kind.is_some() && r.dup_prone {
        r.out.truncate(mark);
        r.i = 0;
        r.dedupe = true;
        kind = r.document();
    }
    if kind.is_none() {
        out.truncate(mark);
    }
    kind
}

struct Reformatter<'a, 'o> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
    out: &'o mut String,
    /// An object may repeat a key (a repeat seen, an escaped key, or too many keys to compare).
    dup_prone: bool,
    /// The second pass: rewrite objects that repeat a key.
    dedupe: bool,
}

impl Reformatter<'_, '_> {
    fn document(&mut self) -> Option<Kind> {
        let kind = self.value(0)?;
        self.skip_ws();
        (self.i == self.b.len()).then_some(kind)
    }

    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Kind> {
        if depth > MAX_NESTING {
            return None;
        }
        self.skip_ws();
        match *self.b.get(self.i)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(|_| Kind::String),
            b't' => self.literal("true", Kind::Bool),
            b'f' => self.literal("false", Kind::Bool),
            b'n' => self.literal("null", Kind::Null),
            _ => self.number(),
        }
    }

    fn literal(&mut self, lit: &str, kind: Kind) -> Option<Kind> {
        if self.s[self.i..].starts_with(lit) {
            self.out.push_str(lit);
            self.i += lit.len();
            Some(kind)
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Kind> {
        let start = self.i;
        while matches!(
            self.b.get(self.i),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.i += 1;
        }
        let n = &self.s[start..self.i];
        if !is_number(n) {
            return None;
        }
        self.out.push_str(n);
        Some(Kind::Number)
    }

    /// Copies a string, re-escaped the way Python writes it. Returns the raw text between the
    /// quotes, and whether it held escapes.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.i += 1; // opening quote
        let start = self.i;
        self.out.push('"');
        let mut escaped = false;
        loop {
            let run = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            self.out.push_str(&self.s[run..self.i]);
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    self.out.push('"');
                    return Some((start, self.i - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                _ => return None, // raw control character
            }
        }
    }

    fn escape(&mut self) -> Option<()> {
        let c = *self.b.get(self.i + 1)?;
        self.i += 2;
        let decoded = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.b.get(self.i..self.i + 2)? != b"\\u" {
                        return None;
                    }
                    self.i += 2;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)? // a lone low surrogate fails here
                }
            }
            _ => return None,
        };
        let mut buf = [0u8; 4];
        escape_into(self.out, decoded.encode_utf8(&mut buf));
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    fn array(&mut self, depth: usize) -> Option<Kind> {
        self.i += 1;
        self.out.push('[');
        self.skip_ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            self.out.push(']');
            return Some(Kind::Array);
        }
        loop {
            self.value(depth + 1)?;
            self.skip_ws();
            match *self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.out.push_str(", ");
                }
                b']' => {
                    self.i += 1;
                    self.out.push(']');
                    return Some(Kind::Array);
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<Kind> {
        let open = self.out.len();
        self.i += 1;
        self.out.push('{');
        self.skip_ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            self.out.push('}');
            return Some(Kind::Object);
        }
        // Key spans, to spot repeated keys without allocating; past 16 keys, assume a repeat.
        let mut keys = [(0usize, 0usize); 16];
        let mut nkeys = 0;
        // Second pass: each member's key and value spans in `out`.
        let mut members: Vec<Member> = Vec::new();
        loop {
            self.skip_ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let key_at = self.out.len();
            let (start, end, escaped) = self.string()?;
            let key = &self.b[start..end];
            if escaped
                || nkeys == keys.len()
                || keys[..nkeys].iter().any(|&(a, z)| &self.b[a..z] == key)
            {
                self.dup_prone = true;
            } else {
                keys[nkeys] = (start, end);
                nkeys += 1;
            }
            let key_end = self.out.len();
            self.skip_ws();
            if self.b.get(self.i) != Some(&b':') {
                return None;
            }
            self.i += 1;
            self.out.push_str(": ");
            let value_at = self.out.len();
            self.value(depth + 1)?;
            if self.dedupe {
                members.push(Member {
                    key: (key_at, key_end),
                    value: (value_at, self.out.len()),
                });
            }
            self.skip_ws();
            match *self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.out.push_str(", ");
                }
                b'}' => {
                    self.i += 1;
                    self.out.push('}');
                    if self.dedupe {
                        self.dedupe_object(open, &members);
                    }
                    return Some(Kind::Object);
                }
                _ => return None,
            }
        }
    }

    /// Rewrites the object written from `open` so that a repeated key keeps its first position
    /// and its last value. Keys compare by their written form: the escaping is canonical, so two
    /// keys are the same string exactly when they are written the same.
    fn dedupe_object(&mut self, open: usize, members: &[Member]) {
        let text = |span: (usize, usize)| &self.out[span.0..span.1];
        // For each distinct key in first-seen order: (member holding the key, member holding
        // the value).
        let mut slot_of: HashMap<&str, usize> = HashMap::with_capacity(members.len());
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(members.len());
        for (n, m) in members.iter().enumerate() {
            match slot_of.get(text(m.key)) {
                Some(&slot) => order[slot].1 = n,
                None => {
                    slot_of.insert(text(m.key), order.len());
                    order.push((n, n));
                }
            }
        }
        if order.len() == members.len() {
            return;
        }
        let mut rewritten = String::with_capacity(self.out.len() - open);
        rewritten.push('{');
        for (n, &(k, v)) in order.iter().enumerate() {
            if n > 0 {
                rewritten.push_str(", ");
            }
            rewritten.push_str(text(members[k].key));
            rewritten.push_str(": ");
            rewritten.push_str(text(members[v].value));
        }
        rewritten.push('}');
        self.out.truncate(open);
        self.out.push_str(&rewritten);
    }
}

/// Where one object member was written.
struct Member {
    key: (usize, usize),
    value: (usize, usize),
}

/// True when `text` is a JSON number literal (RFC 8259 grammar, no surrounding whitespace) whose
/// value is a finite double.
pub fn is_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
    let int_digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    let exponent = matches!(b.get(i), Some(b'e' | b'E'));
    if exponent {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len() && fits_a_double(text, int_digits, exponent)
}

/// True when the number literal `text` is finite as an IEEE double, so no consumer reads it as
/// Infinity (SPEC §9). Without an exponent, 308 integer digits always fit.
fn fits_a_double(text: &str, int_digits: usize, exponent: bool) -> bool {
    (!exponent && int_digits <= 308) || text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// True when `text` is a JSON integer literal (`-?(0|[1-9][0-9]*)`).
pub fn is_integer(text: &str) -> bool {
    is_number(text) && !text.contains(['.', 'e', 'E'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_python() {
        let mut s = String::new();
        push_string(&mut s, "a\"b\\c\nd\te\u{1}f\u{7f}é\u{2028}😀\u{8}\u{c}\r");
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\nd\\te\\u0001f\u{7f}é\u{2028}😀\\b\\f\\r\""
        );
    }

    #[test]
    fn reserialises_in_python_layout() {
        let mut s = String::new();
        let text = r#"{"b":[1,2.50,{"x":null}],"a":"\u00e9","big":123456789012345678901234567890}"#;
        assert_eq!(reformat(text, &mut s), Some(Kind::Object));
        assert_eq!(
            s,
            r#"{"b": [1, 2.50, {"x": null}], "a": "é", "big": 123456789012345678901234567890}"#
        );
    }

    #[test]
    fn number_grammar() {
        for ok in [
            "0",
            "-0",
            "12",
            "1.5",
            "1e5",
            "1E-5",
            "-1.0e+10",
            "12345678901234567890123",
        ] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "+1", "NaN", "Infinity", "0x10", "1 ",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
        assert!(is_integer("-12"));
        assert!(!is_integer("1.0"));
        assert!(!is_integer("1e3"));
    }

    #[test]
    fn non_finite_is_not_json() {
        let mut out = String::new();
        assert_eq!(reformat("NaN", &mut out), None);
        assert_eq!(reformat("[1, Infinity]", &mut out), None);
        assert_eq!(out, "");
        // A number past the double range would read back as Infinity (issue 8): not a number.
        for big in ["1e999999", "-1e400", "[1, 1e999]", "{\"a\": 2E+308}"] {
            assert_eq!(reformat(big, &mut out), None, "{big}");
        }
        assert!(!is_number(&"9".repeat(400)));
        assert!(is_number(&"9".repeat(308)));
        assert!(is_number("1.7976931348623157e308"));
        assert!(is_number("1e-999999"), "underflow is 0, not Infinity");
        assert_eq!(out, "");
    }

    fn re(text: &str) -> Option<String> {
        let mut out = String::from("prefix:");
        let kind = reformat(text, &mut out);
        match kind {
            Some(_) => Some(out["prefix:".len()..].to_string()),
            None => {
                assert_eq!(out, "prefix:", "failed reformat must leave out as it was");
                None
            }
        }
    }

    /// The fast reformatter agrees with serde_json + push_value on everything serde_json accepts,
    /// except that numbers keep their text exactly.
    #[test]
    fn reformat_matches_python_layout() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"{"k":1,"l":[true,null,false],"m":{}}"#,
                Some(r#"{"k": 1, "l": [true, null, false], "m": {}}"#),
            ),
            (" [ 1 , 2.50 , -0 , 1E+5 ] ", Some("[1, 2.50, -0, 1E+5]")),
            (
                r#""\u00e9\n\/\ud83d\ude00\u0001""#,
                Some("\"é\\n/😀\\u0001\""),
            ),
            (r#"{"a":1,"b":2,"a":3}"#, Some(r#"{"a": 3, "b": 2}"#)),
            // Issue 8: the duplicate-key path kept the layout but re-spelled numbers.
            (
                r#"{"a":1E+5,"b":[2.50,{"c":1,"c":-0.0E1}],"a":1E+6}"#,
                Some(r#"{"a": 1E+6, "b": [2.50, {"c": -0.0E1}]}"#),
            ),
            (r#"{"\u0062":1,"a":2,"b":3}"#, Some(r#"{"b": 3, "a": 2}"#)),
            (r#"{"\u0061":1,"a":2}"#, Some(r#"{"a": 2}"#)),
            ("[]", Some("[]")),
            ("\"tab\there\"", None),
            (r#""\ud800""#, None),
            (r#""\udc00""#, None),
            ("[1,]", None),
            ("{\"a\" 1}", None),
            ("01", None),
            ("tru", None),
            ("[1] x", None),
            ("", None),
            ("{'a': 1}", None),
        ];
        for &(text, want) in cases {
            assert_eq!(re(text).as_deref(), want, "{text}");
        }
        let deep_ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(re(&deep_ok).is_some());
        let too_deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(re(&too_deep).is_none());
    }
}
