//! The port of the failed-login lockout (API.md "Auth"): at most `max`
//! attempts per address within a window, exact under concurrency.
//!
//! The attempt is counted *before* the password is checked, and only while
//! fewer than `max` were counted: counting after the check let every one of
//! 40 parallel guesses be checked (the check takes tens of milliseconds, the
//! count came too late for all of them). A success then clears the window,
//! its own attempt included.
//!
//! Windows are keyed by [`throttle_key`], a SHA-256 of the normalised
//! address, never by the address itself: login counts whatever a caller
//! sends, and a 5 kB "address" made a DynamoDB key over its 2 KiB limit (a
//! 500 instead of a 401). A hash keeps every key 64 characters in both
//! stores, treats valid and invalid input alike, and keeps a table of failed
//! logins free of addresses. Changing the key needed no migration: the old
//! rows were 15-minute windows, orphaned and harmless once they have run out.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::StoreResult;
use crate::domain::Email;

/// The answer to one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Counted: the password may be checked. `attempt` is its number in the
    /// window (1..=max).
    Allowed { attempt: u32 },
    /// Not counted and not to be checked: the window is full until `until`.
    Locked { until: DateTime<Utc> },
}

#[async_trait]
pub trait LoginThrottleStore: Send + Sync {
    /// Counts one attempt for `email` at `now`, atomically and only while
    /// fewer than `max` are counted in the running window; a window that
    /// has run out (or none) restarts at 1. Of any number of concurrent
    /// calls, at most `max` per window are `Allowed`.
    async fn register_login_attempt(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
        max: u32,
    ) -> StoreResult<LoginAttempt>;
    /// Forgets the window (after a successful login).
    async fn clear_login_failures(&self, email: &Email) -> StoreResult<()>;
}

/// The key of an address's window: lowercase hex SHA-256 of the address as
/// normalised by [`Email::normalise`], 64 characters whatever came in.
pub fn throttle_key(email: &Email) -> String {
    Sha256::digest(email.as_str().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a window that started at `started_at` still runs at `now`.
pub fn window_active(started_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    now < window_end(started_at, window)
}

/// When a window that started at `started_at` runs out.
pub fn window_end(started_at: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| started_at.checked_add_signed(w))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_sha256_of_the_normalised_address_in_hex() {
        let ana = throttle_key(&Email::normalise(" Ana@Example.com "));
        assert_eq!(
            ana,
            "8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11"
        );
        let huge = throttle_key(&Email::normalise(&"a".repeat(5 * 1024)));
        assert_eq!(huge.len(), 64, "bounded whatever came in");
        assert_ne!(huge, ana);
    }
}
