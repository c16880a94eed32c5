//! One stash TTL for both stores (`nolose_shared::store::STASH_TTL`, 7 days):
//! a status update that waits for its message is forgotten after the same
//! time whichever store keeps it. No store method exposes the deadline, so
//! each adapter is checked where it keeps it: PostgreSQL by what its sweep
//! leaves, DynamoDB by the TTL attribute it writes.

use std::sync::Arc;

use chrono::TimeDelta;
use nolose_shared::domain::MessageStatus::{Read, Sent};
use nolose_shared::store::dynamo::DynamoStore;
use nolose_shared::store::{STASH_TTL, StatusOutcome, Store};
use nolose_shared::testing::{message, t0, upsert, user};

#[test]
fn a_stashed_update_waits_seven_days() {
    assert_eq!(STASH_TTL, TimeDelta::days(7));
}

#[tokio::test]
async fn dynamodb_lets_a_stash_expire_after_the_shared_ttl() {
    let client = nolose_tests::dynamo::client().await;
    let table = nolose_tests::dynamo::fresh_table(&client).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    let u = user(&store, "stash-ttl").await;
    let outcome = store.advance_status(u, "EARLY", Read, t0()).await;
    assert_eq!(outcome.expect("stash"), StatusOutcome::Stashed);

    let items = client
        .scan()
        .table_name(&table)
        .filter_expression("attribute_exists(stashed_status)")
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "one stashed update");
    let expires = items[0]
        .get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok());
    assert_eq!(
        expires,
        Some((t0() + STASH_TTL).timestamp()),
        "the TTL attribute is the shared STASH_TTL after the update"
    );
}

#[tokio::test]
async fn postgres_forgets_a_stash_just_after_the_shared_ttl() {
    let (store, _db) = nolose_tests::pg::fresh_store().await;
    let u = user(&store, "stash-ttl").await;
    let c = store
        .upsert_contact(u, &upsert("5511900000003@s.whatsapp.net"))
        .await
        .expect("contact")
        .id;
    let second = TimeDelta::seconds(1);
    // Each later stash sweeps the user's stashes older than STASH_TTL.
    for (key, at) in [
        ("KEPT", t0() + second + second),
        ("GONE", t0()),
        ("SWEEP", t0() + STASH_TTL + second),
    ] {
        let outcome = store.advance_status(u, key, Read, at).await;
        assert_eq!(outcome.expect("stash"), StatusOutcome::Stashed, "{key}");
    }
    for (key, want) in [("KEPT", Read), ("GONE", Sent)] {
        let mut m = message(c, key, true, 0);
        m.status = Sent;
        let stored = store.insert_messages(u, &[m]).await.expect("insert");
        assert_eq!(stored[0].message.status, want, "{key}");
    }
}
