//! Raw parameter text to JSON, by the types the parameter's schema admits (SPEC §4): strings
//! verbatim, numbers as written (but never Infinity), booleans in any case, objects and arrays
//! re-serialised in Python's layout, and the raw string when nothing fits.

use crate::json;
use crate::schema::Types;
use crate::ws;

/// Appends the JSON for raw value text `raw` of a parameter admitting `types` (SPEC §4).
pub fn push_converted(out: &mut String, raw: &str, types: Types) {
    if types.is_string_only() {
        return json::push_string(out, raw);
    }
    let t = ws::trim(raw);
    if types.is_any() {
        if json::reformat(t, out).is_none() {
            json::push_string(out, raw);
        }
        return;
    }
    if types.contains(Types::NULL) && t == "null" {
        return out.push_str("null");
    }
    if types.contains(Types::BOOLEAN) {
        if t.eq_ignore_ascii_case("true") {
            return out.push_str("true");
        }
        if t.eq_ignore_ascii_case("false") {
            return out.push_str("false");
        }
    }
    if types.contains(Types::INTEGER) {
        if json::is_integer(t) {
            return out.push_str(t);
        }
        if !types.contains(Types::NUMBER) && json::is_number(t) && !t.contains(['e', 'E']) {
            if let Some((int, frac)) = t.split_once('.') {
                if frac.bytes().all(|b| b == b'0') {
                    return out.push_str(if int == "-0" { "0" } else { int });
                }
            }
        }
    }
    if types.contains(Types::NUMBER) && json::is_number(t) {
        return out.push_str(t);
    }
    let object = types.contains(Types::OBJECT) && t.starts_with('{');
    let array = types.contains(Types::ARRAY) && t.starts_with('[');
    if (object || array) && json::reformat(t, out).is_some() {
        return;
    }
    json::push_string(out, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(raw: &str, t: Types) -> String {
        let mut s = String::new();
        push_converted(&mut s, raw, t);
        s
    }

    #[test]
    fn conversion_table() {
        let s = Types::STRING;
        let i = Types::INTEGER;
        let n = Types::NUMBER;
        let b = Types::BOOLEAN;
        let null = Types::NULL;
        let o = Types::OBJECT;
        let a = Types::ARRAY;
        let any = Types::ANY;
        let cases: &[(&str, Types, &str)] = &[
            // Strings are never coerced and never trimmed.
            ("123", s, r#""123""#),
            ("02134", s, r#""02134""#),
            ("true", s, r#""true""#),
            ("null", s, r#""null""#),
            ("  padded \n", s, r#""  padded \n""#),
            // Integers.
            (" 42 ", i, "42"),
            ("-7", i, "-7"),
            ("5.0", i, "5"),
            ("-0.00", i, "0"),
            ("5.5", i, r#""5.5""#),
            ("1e3", i, r#""1e3""#),
            ("5.0", i | n, "5.0"),
            ("007", i, r#""007""#),
            (
                "123456789012345678901234567890",
                i,
                "123456789012345678901234567890",
            ),
            // Numbers keep their digits.
            ("1.50", n, "1.50"),
            ("1e-7", n, "1e-7"),
            ("NaN", n, r#""NaN""#),
            ("Infinity", n, r#""Infinity""#),
            ("12345678901234567890.5", n, "12345678901234567890.5"),
            // Booleans, any case; `yes` stays a string.
            ("True", b, "true"),
            (" FALSE ", b, "false"),
            ("yes", b, r#""yes""#),
            // null only as the literal.
            ("null", null | i, "null"),
            ("None", null | i, r#""None""#),
            ("null", s | null, "null"),
            ("abc", s | null, r#""abc""#),
            (" abc ", s | null, r#"" abc ""#),
            ("3", s | i, "3"),
            // Objects and arrays are re-serialised in Python's layout.
            (
                r#"{"k":1,"l":[true,null]}"#,
                o,
                r#"{"k": 1, "l": [true, null]}"#,
            ),
            ("[1,2]", a, "[1, 2]"),
            ("[1,2]", o, r#""[1,2]""#),
            ("{bad json}", o, r#""{bad json}""#),
            ("", i, r#""""#),
            // No schema: JSON if it parses, else the raw string.
            ("3", any, "3"),
            (r#""quoted""#, any, r#""quoted""#),
            ("[1,\n2]", any, "[1, 2]"),
            ("hello world", any, r#""hello world""#),
            (" 12 ", any, "12"),
            ("", any, r#""""#),
        ];
        for &(raw, t, want) in cases {
            assert_eq!(conv(raw, t), want, "raw={raw:?} types={t:?}");
        }
    }
}
