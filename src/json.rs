//! JSON text helpers that reproduce Python's `json.dumps(obj, ensure_ascii=False)` layout.
//!
//! Clients compare our `arguments` with what vLLM and the OpenAI SDK produce, which is Python's
//! layout: `", "` and `": "` separators, non-ASCII characters written as themselves, and only
//! `"`, `\` and control characters escaped. Numbers are kept exactly as the model wrote them
//! (serde_json's `arbitrary_precision`), so big integers never lose digits.

use serde_json::Value;

/// Appends `s` to `out` as the *inside* of a JSON string literal (no surrounding quotes),
/// escaping exactly what Python's `json.dumps(..., ensure_ascii=False)` escapes.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Appends `s` to `out` as a complete JSON string literal.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// Appends `v` to `out` in `json.dumps` layout.
pub fn push_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // With `arbitrary_precision` the number's Display is the text as written.
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_string(out, k);
                out.push_str(": ");
                push_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Parses `text` as one JSON value. Non-finite numbers are not JSON, so they never come back.
pub fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// True when `text` is a JSON number literal (RFC 8259 grammar, no surrounding whitespace).
pub fn is_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return false,
    }
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
    if matches!(b.get(i), Some(b'e' | b'E')) {
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
    i == b.len()
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
        let v =
            parse(r#"{"b":[1,2.50,{"x":null}],"a":"\u00e9","big":123456789012345678901234567890}"#)
                .unwrap();
        let mut s = String::new();
        push_value(&mut s, &v);
        assert_eq!(
            s,
            r#"{"b": [1, 2.50, {"x": null}], "a": "é", "big": 123456789012345678901234567890}"#
        );
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        let v = parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        let mut s = String::new();
        push_value(&mut s, &v);
        assert_eq!(s, r#"{"a": 3, "b": 2}"#);
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
        assert!(parse("NaN").is_none());
        assert!(parse("Infinity").is_none());
        // Huge exponents stay finite text (serde_json writes the exponent sign).
        assert_eq!(
            parse("1e999999").map(|v| v.to_string()).as_deref(),
            Some("1e+999999")
        );
    }
}
