//! Tool-call ids: `call_` + 24 random alphanumerics, or whatever the caller's generator makes.
//!
//! Randomness comes from the standard library's per-process random hash keys, so the core needs
//! no random-number crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Makes the id of each tool call from its index.
pub struct IdGenerator(Box<dyn FnMut(usize) -> String + Send + Sync>);

impl IdGenerator {
    /// `call_` + 24 random alphanumerics (the OpenAI shape).
    pub fn random() -> Self {
        IdGenerator(Box::new(|_| random_id()))
    }

    /// Ids from a function of the call index, for deterministic tests and replays.
    pub fn from_fn(f: impl FnMut(usize) -> String + Send + Sync + 'static) -> Self {
        IdGenerator(Box::new(f))
    }

    /// The id of call `index`.
    pub fn next(&mut self, index: usize) -> String {
        (self.0)(index)
    }
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdGenerator")
    }
}

/// A fresh `call_…` id.
pub fn random_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let keys = RandomState::new();
    let mut id = String::with_capacity(29);
    id.push_str("call_");
    let mut produced = 0;
    let mut round = 0u64;
    while produced < 24 {
        let mut h = keys.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u64(round);
        let mut x = h.finish();
        // 10 base-62 digits use 59.5 bits of the 64.
        for _ in 0..10 {
            if produced == 24 {
                break;
            }
            id.push(ALPHABET[(x % 62) as usize] as char);
            x /= 62;
            produced += 1;
        }
        round += 1;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_openai_shape_and_differ() {
        let a = random_id();
        let b = random_id();
        assert_eq!(a.len(), 29);
        assert!(a.starts_with("call_"));
        assert!(a[5..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
