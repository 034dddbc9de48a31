//! Device credentials and enrollment tokens: random secrets, stored only as hashes.
//!
//! The secrets are 256 random bits, so a plain SHA-256 is enough to make a stolen database useless
//! for impersonation (there is nothing to brute-force); a slow password hash would only slow syncs.

use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random secret, as 64 hex digits.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    // The OS random source failing is not something an endpoint can work around.
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    hex(&b)
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compare two hashes in time independent of where they differ (subtle's constant-time
/// comparison: a well-kept implementation the compiler is kept from short-circuiting, where a
/// hand-written fold is only as constant-time as today's optimiser leaves it).
pub fn equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
