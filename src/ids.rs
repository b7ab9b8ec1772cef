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
        let mut rng = SplitMix64(seed());
        IdGenerator(Box::new(move |_| rng.id()))
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

/// A seed that differs per process (random hash keys) and per call (a counter).
fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// SplitMix64: tiny and fast; ids need to be unique, not secret.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn id(&mut self) -> String {
        let mut id = *b"call_000000000000000000000000";
        for chunk in id[5..].chunks_mut(8) {
            // Six bits a character; the two values past 61 wrap around (ids need to be unique,
            // not uniform), which avoids slow divisions.
            let mut x = self.next();
            for c in chunk {
                *c = ALPHABET[((x & 63) % 62) as usize];
                x >>= 6;
            }
        }
        // Every byte is ASCII, so this never fails.
        std::str::from_utf8(&id).unwrap_or("call_").to_owned()
    }
}

/// A fresh `call_…` id.
pub fn random_id() -> String {
    SplitMix64(seed()).id()
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
