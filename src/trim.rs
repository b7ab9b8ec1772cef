//! Trimming text that arrives in pieces: leading whitespace is dropped, trailing whitespace is
//! held until more text shows it was inside. Used for each channel as a whole and for each run
//! of text inside a tool-call block.

use crate::ws;

/// The trimming state of one stream of text.
#[derive(Debug, Default)]
pub(crate) struct Trim {
    started: bool,
    held: String,
}

impl Trim {
    /// Takes the next piece `t`; calls `emit(held, body)` with what can go out now: the
    /// whitespace held from before and `t` without its trailing whitespace (which is held).
    pub(crate) fn push(&mut self, t: &str, emit: impl FnOnce(&str, &str)) {
        let t = if self.started { t } else { ws::trim_start(t) };
        if t.is_empty() {
            return;
        }
        self.started = true;
        let body = ws::trim_end(t);
        if body.is_empty() {
            self.held.push_str(t);
            return;
        }
        emit(&self.held, body);
        self.held.clear();
        self.held.push_str(&t[body.len()..]);
    }

    /// A copy for finishing ahead, with the held whitespace only when `keep_held`.
    #[cfg(feature = "python")]
    pub(crate) fn preview(&self, keep_held: bool) -> Trim {
        Trim {
            started: self.started,
            held: if keep_held {
                self.held.clone()
            } else {
                String::new()
            },
        }
    }

    /// Starts over, dropping what is held (a new run).
    pub(crate) fn reset(&mut self) {
        self.started = false;
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_across_pieces() {
        let mut t = Trim::default();
        let mut out = String::new();
        for piece in ["  \n", " a ", " ", "b\n", "\n"] {
            t.push(piece, |held, body| {
                out.push_str(held);
                out.push_str(body);
            });
        }
        assert_eq!(out, "a  b");
    }
}
