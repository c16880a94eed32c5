//! Conformance cases for [`IdempotencyStore`](crate::store::IdempotencyStore):
//! reserve / complete / release, the race for one key, the lease of a holder
//! that died, and the 24-hour expiry, on the suite's fixed clock.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::store::{
    Fingerprint, IDEMPOTENCY_LEASE, IDEMPOTENCY_TTL, IdempotencyKey, LeaseToken, Reservation,
    Store, StoreError,
};

use super::{t0, user};

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).unwrap_or_else(|e| panic!("test key {raw:?}: {e}"))
}

fn body(text: &str) -> Fingerprint {
    Fingerprint::of(&["5511988887777", text])
}

fn response(id: &str) -> Value {
    json!({"success": true, "message_id": id})
}

fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    t0() + chrono::Duration::seconds(seconds)
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn lease_of(r: Reservation) -> LeaseToken {
    match r {
        Reservation::Reserved(lease) => lease,
        other => panic!("expected a reservation, got {other:?}"),
    }
}

async fn reserve(
    store: &Arc<dyn Store>,
    u: crate::domain::UserId,
    k: &str,
    fp: &Fingerprint,
    seconds: i64,
) -> Reservation {
    store
        .reserve_idempotency_key(u, &key(k), fp, at(seconds))
        .await
        .expect("reserve")
}

pub async fn a_completed_key_replays_its_response(store: Arc<dyn Store>) {
    let u = user(&store, "i1").await;
    let lease = lease_of(reserve(&store, u, "k1", &body("hi"), 0).await);
    store
        .complete_idempotency_key(u, &key("k1"), &lease, &response("3EB0A"), at(1))
        .await
        .expect("complete");
    let again = reserve(&store, u, "k1", &body("hi"), 2).await;
    assert_eq!(again, Reservation::Completed(response("3EB0A")));
}

pub async fn a_running_reservation_is_in_progress_for_the_same_body(store: Arc<dyn Store>) {
    let u = user(&store, "i2").await;
    lease_of(reserve(&store, u, "k2", &body("hi"), 0).await);
    let again = reserve(&store, u, "k2", &body("hi"), 1).await;
    assert_eq!(again, Reservation::InProgress);
}

pub async fn a_key_used_with_another_body_is_reused(store: Arc<dyn Store>) {
    let u = user(&store, "i3").await;
    let lease = lease_of(reserve(&store, u, "k3", &body("hi"), 0).await);
    let running = reserve(&store, u, "k3", &body("bye"), 1).await;
    assert_eq!(running, Reservation::Reused, "while the first runs");
    store
        .complete_idempotency_key(u, &key("k3"), &lease, &response("3EB0B"), at(2))
        .await
        .expect("complete");
    let done = reserve(&store, u, "k3", &body("bye"), 3).await;
    assert_eq!(done, Reservation::Reused, "after the first completed");
}

pub async fn a_released_key_is_free_again(store: Arc<dyn Store>) {
    let u = user(&store, "i4").await;
    let lease = lease_of(reserve(&store, u, "k4", &body("hi"), 0).await);
    store
        .release_idempotency_key(u, &key("k4"), &lease)
        .await
        .expect("release");
    let retry = reserve(&store, u, "k4", &body("hi"), 1).await;
    assert!(
        matches!(retry, Reservation::Reserved(ref l) if *l != lease),
        "a failed request does not consume its key: {retry:?}"
    );
}

pub async fn concurrent_reservations_of_one_key_have_one_winner(store: Arc<dyn Store>) {
    let u = user(&store, "i5").await;
    let tasks = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .reserve_idempotency_key(u, &key("race"), &body("hi"), t0())
                .await
        })
    });
    let results: Vec<Reservation> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("reserve"))
        .collect();
    let winners = results
        .iter()
        .filter(|r| matches!(r, Reservation::Reserved(_)))
        .count();
    assert_eq!(winners, 1, "exactly one reservation wins: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Reservation::Reserved(_) | Reservation::InProgress)),
        "the others see it in progress: {results:?}"
    );
}

pub async fn a_completed_key_expires_after_24_hours(store: Arc<dyn Store>) {
    let u = user(&store, "i6").await;
    let lease = lease_of(reserve(&store, u, "k6", &body("hi"), 0).await);
    store
        .complete_idempotency_key(u, &key("k6"), &lease, &response("3EB0C"), at(0))
        .await
        .expect("complete");
    let day = secs(IDEMPOTENCY_TTL);
    let last = reserve(&store, u, "k6", &body("hi"), day - 1).await;
    assert_eq!(
        last,
        Reservation::Completed(response("3EB0C")),
        "one second before"
    );
    let expired = reserve(&store, u, "k6", &body("other"), day).await;
    assert!(
        matches!(expired, Reservation::Reserved(_)),
        "24 hours on, the key is free for any body: {expired:?}"
    );
}

pub async fn an_abandoned_reservation_frees_the_key_after_its_lease(store: Arc<dyn Store>) {
    let u = user(&store, "i7").await;
    let dead = lease_of(reserve(&store, u, "k7", &body("hi"), 0).await);
    let lease = secs(IDEMPOTENCY_LEASE);
    let held = reserve(&store, u, "k7", &body("hi"), lease - 1).await;
    assert_eq!(held, Reservation::InProgress, "within the lease");
    let taken = lease_of(reserve(&store, u, "k7", &body("hi"), lease).await);
    assert_ne!(taken, dead, "a new reservation once the lease ran out");
    let late = store
        .complete_idempotency_key(u, &key("k7"), &dead, &response("LATE"), at(lease + 1))
        .await;
    assert!(
        matches!(late, Err(StoreError::Conflict)),
        "late completion: {late:?}"
    );
    let late = store.release_idempotency_key(u, &key("k7"), &dead).await;
    assert!(
        matches!(late, Err(StoreError::Conflict)),
        "late release: {late:?}"
    );
    let still = reserve(&store, u, "k7", &body("hi"), lease + 2).await;
    assert_eq!(
        still,
        Reservation::InProgress,
        "the new holder keeps the key"
    );
}

pub async fn a_completed_key_cannot_be_completed_or_released_again(store: Arc<dyn Store>) {
    let u = user(&store, "i8").await;
    let lease = lease_of(reserve(&store, u, "k8", &body("hi"), 0).await);
    store
        .complete_idempotency_key(u, &key("k8"), &lease, &response("FIRST"), at(1))
        .await
        .expect("complete");
    let twice = store
        .complete_idempotency_key(u, &key("k8"), &lease, &response("SECOND"), at(2))
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "{twice:?}");
    let release = store.release_idempotency_key(u, &key("k8"), &lease).await;
    assert!(matches!(release, Err(StoreError::Conflict)), "{release:?}");
    let replay = reserve(&store, u, "k8", &body("hi"), 3).await;
    assert_eq!(replay, Reservation::Completed(response("FIRST")));
}

pub async fn keys_are_per_user(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, "i9a").await, user(&store, "i9b").await);
    lease_of(reserve(&store, a, "shared", &body("hi"), 0).await);
    let other = reserve(&store, b, "shared", &body("bye"), 0).await;
    assert!(
        matches!(other, Reservation::Reserved(_)),
        "another user's key is another key: {other:?}"
    );
}
