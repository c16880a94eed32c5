//! Conformance cases for [`LoginThrottleStore`](crate::store::LoginThrottleStore).

use std::sync::Arc;
use std::time::Duration;

use crate::domain::Email;
use crate::store::{LoginAttempt, Store};

use super::{email, t0};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX: u32 = 10;

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

async fn attempt(
    store: &Arc<dyn Store>,
    e: &Email,
    at: chrono::DateTime<chrono::Utc>,
) -> LoginAttempt {
    store
        .register_login_attempt(e, at, WINDOW, MAX)
        .await
        .expect("register an attempt")
}

/// Uses up the window of `e`: `MAX` attempts at `at`.
async fn fill(store: &Arc<dyn Store>, e: &Email, at: chrono::DateTime<chrono::Utc>) {
    for i in 1..=MAX {
        assert_eq!(
            attempt(store, e, at).await,
            LoginAttempt::Allowed { attempt: i },
            "attempt {i}"
        );
    }
}

pub async fn attempts_are_allowed_up_to_the_max_then_locked_until_the_window_ends(
    store: Arc<dyn Store>,
) {
    let e = email("a@example.com");
    for i in 1..=MAX {
        let got = attempt(&store, &e, t0() + secs(i64::from(i))).await;
        assert_eq!(got, LoginAttempt::Allowed { attempt: i }, "attempt {i}");
    }
    let got = attempt(&store, &e, t0() + secs(60)).await;
    assert_eq!(
        got,
        LoginAttempt::Locked {
            until: t0() + secs(1) + secs(15 * 60)
        },
        "locked until the window that started at the first attempt ends"
    );
    let again = attempt(&store, &e, t0() + secs(61)).await;
    assert!(
        matches!(again, LoginAttempt::Locked { .. }),
        "a refused attempt is not counted and changes nothing: {again:?}"
    );
}

pub async fn forty_concurrent_attempts_allow_exactly_ten(store: Arc<dyn Store>) {
    let e = email("b@example.com");
    let tasks = (0..40).map(|i| {
        let (store, e) = (Arc::clone(&store), e.clone());
        tokio::spawn(async move {
            store
                .register_login_attempt(&e, t0() + chrono::Duration::milliseconds(i), WINDOW, MAX)
                .await
        })
    });
    let mut allowed = Vec::new();
    let mut locked = 0;
    for r in futures::future::join_all(tasks).await {
        match r.expect("task").expect("register an attempt") {
            LoginAttempt::Allowed { attempt } => allowed.push(attempt),
            LoginAttempt::Locked { .. } => locked += 1,
        }
    }
    allowed.sort_unstable();
    assert_eq!(
        (allowed, locked),
        ((1..=MAX).collect::<Vec<_>>(), 30),
        "exactly ten allowed, numbered 1..=10, the other thirty locked"
    );
}

pub async fn a_window_that_ran_out_restarts_at_one(store: Arc<dyn Store>) {
    let e = email("c@example.com");
    fill(&store, &e, t0()).await;
    let later = t0() + secs(15 * 60);
    assert_eq!(
        attempt(&store, &e, later).await,
        LoginAttempt::Allowed { attempt: 1 },
        "a window is over exactly `window` after it started"
    );
    assert_eq!(
        attempt(&store, &e, later + secs(1)).await,
        LoginAttempt::Allowed { attempt: 2 },
        "and the new one counts on"
    );
}

pub async fn clearing_forgets_the_attempts(store: Arc<dyn Store>) {
    let e = email("d@example.com");
    fill(&store, &e, t0()).await;
    store.clear_login_failures(&e).await.expect("clear");
    assert_eq!(
        attempt(&store, &e, t0()).await,
        LoginAttempt::Allowed { attempt: 1 }
    );
    store
        .clear_login_failures(&email("never@example.com"))
        .await
        .expect("clearing nothing is fine");
}

pub async fn windows_are_per_email(store: Arc<dyn Store>) {
    let (a, b) = (email("f@example.com"), email("g@example.com"));
    fill(&store, &a, t0()).await;
    assert_eq!(
        attempt(&store, &b, t0()).await,
        LoginAttempt::Allowed { attempt: 1 },
        "b has no attempts of its own"
    );
}

/// `len` characters that compress badly: PostgreSQL compresses a long key
/// before indexing it, so only such a value shows that keys are bounded (a
/// btree entry holds at most ~2.7 kB, a DynamoDB partition key 2 KiB).
fn noise(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 33) as usize % 36])
        })
        .collect()
}

pub async fn an_address_of_any_length_has_a_window(store: Arc<dyn Store>) {
    let huge = Email::normalise(&format!("{}@example.com", noise(5 * 1024)));
    fill(&store, &huge, t0()).await;
    assert!(
        matches!(
            attempt(&store, &huge, t0()).await,
            LoginAttempt::Locked { .. }
        ),
        "a 5 kB address is throttled like any other"
    );
    let malformed = Email::normalise("  not an address \u{0} ");
    assert_eq!(
        attempt(&store, &malformed, t0()).await,
        LoginAttempt::Allowed { attempt: 1 }
    );
}
