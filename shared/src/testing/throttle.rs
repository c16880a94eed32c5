//! Conformance cases for [`LoginThrottleStore`](crate::store::LoginThrottleStore).

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;

use super::{email, t0};

const WINDOW: Duration = Duration::from_secs(15 * 60);

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

pub async fn no_failures_means_no_window(store: Arc<dyn Store>) {
    let w = store
        .login_window(&email("a@example.com"), t0(), WINDOW)
        .await
        .expect("read");
    assert_eq!(w, None);
}

pub async fn failures_accumulate_within_the_window(store: Arc<dyn Store>) {
    let e = email("b@example.com");
    for i in 1..=3 {
        let w = store
            .record_login_failure(&e, t0() + secs(i * 60), WINDOW)
            .await
            .expect("record");
        assert_eq!(w.failures, i as u32, "after failure {i}");
        assert_eq!(
            w.started_at,
            t0() + secs(60),
            "the window starts at the first failure"
        );
    }
    let w = store
        .login_window(&e, t0() + secs(14 * 60), WINDOW)
        .await
        .expect("read");
    assert_eq!(w.map(|w| w.failures), Some(3));
}

pub async fn concurrent_failures_are_all_counted(store: Arc<dyn Store>) {
    let e = email("c@example.com");
    store
        .record_login_failure(&e, t0(), WINDOW)
        .await
        .expect("first");
    let tasks = (0..20).map(|_| {
        let (store, e) = (Arc::clone(&store), e.clone());
        tokio::spawn(async move { store.record_login_failure(&e, t0() + secs(1), WINDOW).await })
    });
    for r in futures::future::join_all(tasks).await {
        r.expect("task").expect("record");
    }
    let w = store
        .login_window(&e, t0() + secs(2), WINDOW)
        .await
        .expect("read");
    assert_eq!(
        w.map(|w| w.failures),
        Some(21),
        "no concurrent failure may be lost"
    );
}

pub async fn an_expired_window_restarts_at_one(store: Arc<dyn Store>) {
    let e = email("d@example.com");
    for _ in 0..5 {
        store
            .record_login_failure(&e, t0(), WINDOW)
            .await
            .expect("record");
    }
    let later = t0() + secs(15 * 60);
    let w = store.login_window(&e, later, WINDOW).await.expect("read");
    assert_eq!(
        w, None,
        "a window is over exactly `window` after it started"
    );
    let w = store
        .record_login_failure(&e, later, WINDOW)
        .await
        .expect("record");
    assert_eq!(
        (w.failures, w.started_at),
        (1, later),
        "a new window starts"
    );
}

pub async fn clearing_forgets_the_failures(store: Arc<dyn Store>) {
    let e = email("e@example.com");
    store
        .record_login_failure(&e, t0(), WINDOW)
        .await
        .expect("record");
    store.clear_login_failures(&e).await.expect("clear");
    let w = store.login_window(&e, t0(), WINDOW).await.expect("read");
    assert_eq!(w, None);
    store
        .clear_login_failures(&email("never@example.com"))
        .await
        .expect("clearing nothing is fine");
}

pub async fn windows_are_per_email(store: Arc<dyn Store>) {
    let (a, b) = (email("f@example.com"), email("g@example.com"));
    store
        .record_login_failure(&a, t0(), WINDOW)
        .await
        .expect("record");
    store
        .record_login_failure(&a, t0(), WINDOW)
        .await
        .expect("record");
    let wb = store.login_window(&b, t0(), WINDOW).await.expect("read");
    assert_eq!(wb, None, "b has no failures of its own");
}
