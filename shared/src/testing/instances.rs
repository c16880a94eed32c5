//! Conformance cases for [`InstanceStore`](crate::store::InstanceStore).

use std::sync::Arc;

use crate::domain::InstanceName;
use crate::store::{ConnectionStatus, Store, StoreError};

use super::{t0, user};

pub async fn create_instance_is_idempotent_and_keeps_the_first_secret(store: Arc<dyn Store>) {
    let u = user(&store, "inst1").await;
    let name = InstanceName::for_user(u);
    let first = store
        .create_instance(u, &name, "secret-a", t0())
        .await
        .expect("create");
    assert_eq!((first.user_id, &first.name), (u, &name));
    assert_eq!(
        first.status,
        ConnectionStatus::Disconnected,
        "a new instance is disconnected"
    );
    assert_eq!(
        (first.qr_code.as_ref(), first.chats_count),
        (None, None),
        "no QR, no chats count yet"
    );
    let again = store
        .create_instance(u, &name, "secret-b", t0())
        .await
        .expect("create again");
    assert_eq!(again.webhook_secret, "secret-a", "the secret never changes");
    assert_eq!(again, first, "the existing row is returned as is");
    let read = store
        .instance_by_user(u)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read, first);
}

pub async fn an_unknown_instance_is_absent(store: Arc<dyn Store>) {
    let u = user(&store, "inst2").await;
    assert!(store.instance_by_user(u).await.expect("read").is_none());
}

pub async fn saving_round_trips_every_state_field(store: Arc<dyn Store>) {
    let u = user(&store, "inst3").await;
    let mut i = store
        .create_instance(u, &InstanceName::for_user(u), "s", t0())
        .await
        .expect("create");
    i.status = ConnectionStatus::Connected;
    i.phone_number = Some("5511999999999".into());
    i.profile_name = Some("Ana".into());
    i.qr_code = Some("data:image/png;base64,AAAA".into());
    i.qr_updated_at = Some(t0());
    i.pairing_code = Some("ABCD-EFGH".into());
    i.last_connected_at = Some(t0());
    i.chats_count = Some(12);
    let saved = store.save_instance(&i).await.expect("save");
    assert_eq!(saved.version, i.version + 1, "the version moves on");
    let read = store
        .instance_by_user(u)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read, saved, "every field is stored");
    assert_eq!(
        (read.status, read.chats_count, read.webhook_secret.as_str()),
        (ConnectionStatus::Connected, Some(12), "s")
    );
    let mut cleared = read.clone();
    cleared.qr_code = None;
    cleared.pairing_code = None;
    let saved = store.save_instance(&cleared).await.expect("save cleared");
    assert_eq!(
        (saved.qr_code, saved.pairing_code),
        (None, None),
        "fields can be cleared"
    );
}

pub async fn a_save_from_a_stale_read_conflicts(store: Arc<dyn Store>) {
    let u = user(&store, "inst4").await;
    let read = store
        .create_instance(u, &InstanceName::for_user(u), "s", t0())
        .await
        .expect("create");
    let mut a = read.clone();
    a.status = ConnectionStatus::Qr;
    store.save_instance(&a).await.expect("first save");
    let mut b = read;
    b.status = ConnectionStatus::Connected;
    let r = store.save_instance(&b).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "stale save: {r:?}");
    let now = store
        .instance_by_user(u)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        now.status,
        ConnectionStatus::Qr,
        "the stale save changed nothing"
    );
}

pub async fn of_concurrent_saves_from_one_read_exactly_one_wins(store: Arc<dyn Store>) {
    let u = user(&store, "inst5").await;
    let read = store
        .create_instance(u, &InstanceName::for_user(u), "s", t0())
        .await
        .expect("create");
    let saves = (0..6).map(|i| {
        let (store, mut inst) = (Arc::clone(&store), read.clone());
        inst.chats_count = Some(i);
        tokio::spawn(async move { store.save_instance(&inst).await })
    });
    let results = futures::future::join_all(saves).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::Conflict))))
        .count();
    assert_eq!(
        (won, conflicts),
        (1, 5),
        "one save wins, the others conflict"
    );
}

pub async fn saving_an_instance_that_does_not_exist_is_not_found(store: Arc<dyn Store>) {
    let u = user(&store, "inst6").await;
    let mut ghost = store
        .create_instance(u, &InstanceName::for_user(u), "s", t0())
        .await
        .expect("create");
    let other = user(&store, "inst7").await;
    ghost.user_id = other;
    ghost.name = InstanceName::for_user(other);
    let r = store.save_instance(&ghost).await;
    assert!(
        matches!(r, Err(StoreError::NotFound) | Err(StoreError::Conflict)),
        "no row for that user: {r:?}"
    );
    assert!(
        store.instance_by_user(other).await.expect("read").is_none(),
        "nothing was created"
    );
}
