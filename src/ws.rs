//! What counts as whitespace: exactly Python's `str.isspace()`, so our trimming agrees with the
//! `.strip()` that Python clients and vLLM apply. That is Unicode White_Space plus the four
//! information separators U+001C–U+001F.

/// True for the characters Python's `str.isspace()` accepts.
pub fn is_ws(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `s` without leading whitespace.
pub fn trim_start(s: &str) -> &str {
    // ASCII fast path: most text starts with a non-space ASCII byte or a newline.
    let ascii = s
        .bytes()
        .take_while(|&b| b < 0x80 && is_ws(char::from(b)))
        .count();
    let rest = &s[ascii..];
    match rest.as_bytes().first() {
        Some(&b) if b >= 0x80 => rest.trim_start_matches(is_ws),
        _ => rest,
    }
}

/// `s` without trailing whitespace.
pub fn trim_end(s: &str) -> &str {
    s.trim_end_matches(is_ws)
}

/// `s` without leading and trailing whitespace.
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_isspace() {
        // Generated with: [hex(c) for c in range(0x110000) if chr(c).isspace()] (CPython 3.11).
        let python: &[u32] = &[
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> = (0..0x110000u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_ws(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }
}
