//! The one retry policy for contended DynamoDB writes. DynamoDB has no
//! locks: a write that lost a race learns it from a refused condition or a
//! cancelled transaction, and tries again from a fresh read. Every such loop
//! runs here, with one limit and one jittered back-off, so the most a store
//! call can spend retrying is known in one place (the function timeouts in
//! `infra/template.yaml` count on it).
//!
//! Only contention is retried, and only as the caller marks it:
//! [`Step::Raced`] (a condition refused because another writer got there
//! first — re-read and go again at once) and [`Step::Contended`] (a
//! `TransactionConflict`, throttling: back off first). Any `Err` an attempt
//! returns is final: it is not contention.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;

use crate::store::{StoreError, StoreResult};

/// Attempts of one contended write before it answers `Unavailable`.
pub(super) const MAX_ATTEMPTS: usize = 5;

/// What one attempt decided.
pub(super) enum Step<T> {
    Done(T),
    /// Another writer won a conditional race: re-read and try again now.
    Raced,
    /// The write collided with another transaction or was throttled: try
    /// again after a back-off.
    Contended(StoreError),
}

/// Runs `attempt(1)`, `attempt(2)`, … until one is done or fails, at most
/// [`MAX_ATTEMPTS`] times; `doing` names the write in the give-up error.
pub(super) async fn retry<T, F, Fut>(doing: &'static str, mut attempt: F) -> StoreResult<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = StoreResult<Step<T>>>,
{
    let mut last = None;
    for n in 1..=MAX_ATTEMPTS {
        match attempt(n).await? {
            Step::Done(value) => return Ok(value),
            Step::Raced => tracing::debug!(attempt = n, doing, "raced, retrying"),
            Step::Contended(cause) => {
                tracing::debug!(attempt = n, doing, "contended, backing off");
                last = Some(cause);
                if n < MAX_ATTEMPTS {
                    tokio::time::sleep(backoff(n)).await;
                }
            }
        }
    }
    Err(match last {
        Some(StoreError::Unavailable(cause)) => StoreError::Unavailable(cause.context(format!(
            "{doing}: still contended after {MAX_ATTEMPTS} attempts"
        ))),
        _ => StoreError::Unavailable(anyhow!(
            "{doing}: still raced after {MAX_ATTEMPTS} attempts"
        )),
    })
}

/// 20 ms, 40 ms, … (at most 160 ms) plus up to 20 ms of jitter, so that
/// writers who collided do not collide again in lockstep.
pub(super) fn backoff(attempt: usize) -> Duration {
    let base = 20 * u64::try_from(attempt).unwrap_or(u64::MAX).min(8);
    Duration::from_millis(base + rand::random_range(0..20))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn contended() -> StoreError {
        StoreError::Unavailable(anyhow!("TransactionConflict"))
    }

    #[tokio::test]
    async fn a_write_that_wins_at_once_is_attempted_once() {
        let calls = AtomicUsize::new(0);
        let got = retry("writing", |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Step::Done(7))
        })
        .await;
        assert_eq!(got.expect("done"), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn races_and_contention_are_retried_until_the_write_wins() {
        let got = retry("writing", |n| async move {
            Ok(match n {
                1 => Step::Raced,
                2 => Step::Contended(contended()),
                _ => Step::Done(n),
            })
        })
        .await;
        assert_eq!(got.expect("done"), 3, "won on the third attempt");
    }

    #[tokio::test]
    async fn endless_contention_gives_up_after_the_one_limit_as_unavailable() {
        let calls = AtomicUsize::new(0);
        let got: StoreResult<()> = retry("writing a thing", |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Step::Contended(contended()))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
        let Err(StoreError::Unavailable(cause)) = got else {
            panic!("expected Unavailable, got {got:?}");
        };
        let chain = format!("{cause:#}");
        assert!(
            chain.contains("writing a thing") && chain.contains("TransactionConflict"),
            "the give-up names the write and keeps the last cause: {chain}"
        );
    }

    #[tokio::test]
    async fn endless_races_give_up_as_unavailable_too() {
        let got: StoreResult<()> = retry("writing", |_| async { Ok(Step::Raced) }).await;
        assert!(
            matches!(got, Err(StoreError::Unavailable(_))),
            "got {got:?}"
        );
    }

    #[tokio::test]
    async fn an_error_is_not_contention_and_is_never_retried() {
        let calls = AtomicUsize::new(0);
        let got: StoreResult<()> = retry("writing", |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Conflict)
        })
        .await;
        assert!(matches!(got, Err(StoreError::Conflict)), "got {got:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_backoff_grows_with_jitter_and_stays_bounded() {
        for attempt in 1..=MAX_ATTEMPTS {
            let base = 20 * attempt as u64;
            let got = backoff(attempt).as_millis() as u64;
            assert!(
                (base..base + 20).contains(&got),
                "attempt {attempt}: {got} ms"
            );
        }
        assert!(backoff(usize::MAX) < Duration::from_millis(200), "capped");
    }
}
