//! The idempotency port: a client's key for a request, scoped to its user,
//! so that a retry of a send that went through is answered from the store
//! instead of sending again (API.md, Sending).
//!
//! A key moves `absent → pending → completed`. `pending` is a lease held by
//! the one request that reserved it: it completes the key with its response
//! or releases it (a failed request does not consume its key). A holder that
//! died cannot release, so a lease runs out after [`IDEMPOTENCY_LEASE`] and
//! the key is free again. A completed key replays its response for
//! [`IDEMPOTENCY_TTL`]; after that it is forgotten.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreResult;
use crate::domain::{ParseError, UserId};

/// How long a completed key replays its response.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a reservation holds its key without completing: twice the
/// Evolution timeout (30 s), so a live holder always finishes within it.
pub const IDEMPOTENCY_LEASE: Duration = Duration::from_secs(60);

/// `Idempotency-Key` (or `client_message_id`): 1..=128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if (1..=Self::MAX_CHARS).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "validation_error",
                "Idempotency-Key: must be 1 to 128 characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests "the same body": a hash of their normalised
/// parts, so the store neither keeps nor compares message texts.
///
/// FNV-1a over 128 bits rather than the standard library's hasher, whose
/// output may change between Rust releases: a fingerprint written by one
/// build must match in the next one for the key's whole day. Collisions only
/// matter between one user's own requests under one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    /// The fingerprint of `parts`, each length-prefixed so that moving text
    /// from one part to the next changes it.
    pub fn of(parts: &[&str]) -> Self {
        let mut hash = Self::OFFSET;
        for part in parts {
            let len = (part.len() as u64).to_le_bytes();
            for byte in len.iter().chain(part.as_bytes()) {
                hash ^= u128::from(*byte);
                hash = hash.wrapping_mul(Self::PRIME);
            }
        }
        Self(format!("{hash:032x}"))
    }

    /// A fingerprint as stored (adapters read it back).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies one reservation, so that a holder whose lease ran out (and
/// whose key someone else took) cannot complete or release the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken(String);

impl LeaseToken {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LeaseToken {
    fn default() -> Self {
        Self::new()
    }
}

/// What reserving a key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// The caller holds the key: it must complete or release it.
    Reserved(LeaseToken),
    /// A request with this key and body succeeded: its response.
    Completed(Value),
    /// A request with this key and body holds it right now.
    InProgress,
    /// The key is taken by a request with another body.
    Reused,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` of `user` for a request with `fingerprint` at `now`,
    /// unless a live reservation or an unexpired completion holds it. Of
    /// concurrent reservations of one free key exactly one is `Reserved`.
    async fn reserve_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> StoreResult<Reservation>;

    /// Records the response of the reservation `lease`; the key replays it
    /// until [`IDEMPOTENCY_TTL`] after `now`. [`StoreError::Conflict`] when
    /// the reservation is no longer this one (its lease ran out and someone
    /// else took the key, or it was completed or released already).
    ///
    /// [`StoreError::Conflict`]: super::StoreError::Conflict
    async fn complete_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        lease: &LeaseToken,
        response: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Frees the key of a failed request so that a retry may use it.
    /// [`StoreError::Conflict`] as for completing.
    ///
    /// [`StoreError::Conflict`]: super::StoreError::Conflict
    async fn release_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        lease: &LeaseToken,
    ) -> StoreResult<()>;
}

/// `now + d`, saturating instead of overflowing on absurd durations.
pub(crate) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_128_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(
            IdempotencyKey::parse(&"é".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        for bad in [String::new(), "k".repeat(129)] {
            let err = IdempotencyKey::parse(&bad).expect_err("refused");
            assert_eq!(err.code, "validation_error", "case of {} chars", bad.len());
        }
    }

    #[test]
    fn fingerprints_are_stable_and_tell_bodies_apart() {
        let a = Fingerprint::of(&["5511988887777", "Hi"]);
        assert_eq!(a, Fingerprint::of(&["5511988887777", "Hi"]));
        assert_eq!(a.as_str().len(), 32);
        let cases = [
            ["5511988887777", "Hi!"],
            ["5511988887778", "Hi"],
            ["5511988887777H", "i"],
        ];
        for parts in cases {
            assert_ne!(a, Fingerprint::of(&parts), "case {parts:?}");
        }
        // Pinned: a change of algorithm would break keys stored by the last build.
        assert_eq!(a.as_str(), "a77fc26ac12f399381cfc0fb6e066796");
    }
}
