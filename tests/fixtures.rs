//! Golden fixtures (shared with the Python suite): one-shot parse, every split point, and
//! one character at a time must all give the fixture's expected message.

mod common;

use common::*;
use minimax_parser::parse_with_ids;

#[test]
fn there_are_enough_fixtures() {
    let n = fixtures().len();
    assert!(n >= 200, "only {n} fixtures");
}

#[test]
fn one_shot_matches_expected() {
    let mut failures = Vec::new();
    for f in fixtures() {
        let opts = options(&f.tools, &f.options);
        let got = to_expected(&parse_with_ids(&f.input, opts, ids()));
        if got != f.expected {
            failures.push(format!(
                "{}\n  want {}\n  got  {}",
                f.path.display(),
                f.expected,
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_split_point_matches_one_shot() {
    for f in fixtures() {
        let opts = options(&f.tools, &f.options);
        let whole = parse_with_ids(&f.input, opts.clone(), ids());
        assert_eq!(
            stream(&opts, [f.input.as_str()]),
            whole,
            "{}",
            f.path.display()
        );
        for i in boundaries(&f.input) {
            let got = stream(&opts, [&f.input[..i], &f.input[i..]]);
            assert_eq!(got, whole, "{} split at byte {i}", f.path.display());
        }
        let chars: Vec<String> = f.input.chars().map(String::from).collect();
        let got = stream(&opts, chars.iter().map(String::as_str));
        assert_eq!(got, whole, "{} one char at a time", f.path.display());
    }
}
