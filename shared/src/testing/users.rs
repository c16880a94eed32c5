//! Conformance cases for [`UserStore`](crate::store::UserStore).

use std::collections::HashSet;
use std::sync::Arc;

use crate::domain::{UserId, UserName};
use crate::store::{Store, StoreError};

use super::{email, new_user, t0};

pub async fn created_user_reads_back_by_id_and_email(store: Arc<dyn Store>) {
    let created = store
        .create_user(new_user("ana@example.com", "Ana"))
        .await
        .expect("create");
    assert_eq!(created.email.as_str(), "ana@example.com");
    assert_eq!(created.name, "Ana");
    assert!(created.is_active, "new users are active");
    assert_eq!(created.created_at, t0());

    let by_id = store.user_by_id(created.id).await.expect("by id");
    assert_eq!(by_id.as_ref(), Some(&created), "read back by id");

    let creds = store
        .user_by_email(&email("ana@example.com"))
        .await
        .expect("by email");
    let creds = creds.expect("found by email");
    assert_eq!(creds.user, created, "read back by email");
    assert_eq!(
        creds.password_hash,
        "$argon2id$v=19$m=19456,t=2,p=1$fake$ana@example.com"
    );
}

pub async fn second_registration_of_an_email_conflicts(store: Arc<dyn Store>) {
    store
        .create_user(new_user("bo@example.com", "Bo"))
        .await
        .expect("first");
    let second = store
        .create_user(new_user("bo@example.com", "Other Bo"))
        .await;
    assert!(
        matches!(second, Err(StoreError::Conflict)),
        "got {second:?}"
    );
    let creds = store
        .user_by_email(&email("bo@example.com"))
        .await
        .expect("read");
    assert_eq!(
        creds.map(|c| c.user.name),
        Some("Bo".to_owned()),
        "the first one stays"
    );
}

pub async fn concurrent_registrations_of_one_email_have_one_winner(store: Arc<dyn Store>) {
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .create_user(new_user("race@example.com", &format!("R{i}")))
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let mut won = 0;
    for r in results {
        match r.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("a losing registration must be a Conflict, got {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one of 8 concurrent registrations wins");
}

pub async fn unknown_users_are_absent(store: Arc<dyn Store>) {
    let by_id = store
        .user_by_id(UserId::new(987_654_321))
        .await
        .expect("by id");
    assert!(by_id.is_none());
    let by_email = store
        .user_by_email(&email("nobody@example.com"))
        .await
        .expect("by email");
    assert!(by_email.is_none());
}

pub async fn rename_changes_only_the_name(store: Arc<dyn Store>) {
    let created = store
        .create_user(new_user("cy@example.com", "Cy"))
        .await
        .expect("create");
    let name = UserName::parse("Zoë R").expect("name");
    let renamed = store.rename_user(created.id, &name).await.expect("rename");
    assert_eq!(renamed.name, "Zoë R");
    assert_eq!(
        (renamed.id, &renamed.email, renamed.created_at),
        (created.id, &created.email, created.created_at)
    );
    let again = store
        .user_by_id(created.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(again.name, "Zoë R", "rename is durable");
}

pub async fn rename_of_unknown_user_is_not_found(store: Arc<dyn Store>) {
    let name = UserName::parse("Nobody").expect("name");
    let r = store.rename_user(UserId::new(424_242), &name).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "got {r:?}");
}

pub async fn deactivation_is_stored_and_reversible(store: Arc<dyn Store>) {
    let created = store
        .create_user(new_user("di@example.com", "Di"))
        .await
        .expect("create");
    let off = store
        .set_user_active(created.id, false)
        .await
        .expect("deactivate");
    assert!(!off.is_active);
    let read = store
        .user_by_id(created.id)
        .await
        .expect("read")
        .expect("exists");
    assert!(!read.is_active, "inactive is durable");
    let on = store
        .set_user_active(created.id, true)
        .await
        .expect("reactivate");
    assert!(on.is_active);
    let r = store.set_user_active(UserId::new(31_337), false).await;
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "unknown user: {r:?}"
    );
}

pub async fn user_ids_are_distinct_and_json_safe(store: Arc<dyn Store>) {
    let mut ids = HashSet::new();
    for i in 0..10 {
        let u = store
            .create_user(new_user(&format!("u{i}@example.com"), "U"))
            .await
            .expect("create");
        assert!(
            u.id.get() > 0 && u.id.get() < (1_i64 << 53),
            "id {} is not JSON-safe",
            u.id
        );
        assert!(ids.insert(u.id), "id {} was handed out twice", u.id);
    }
}

pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("a reachable store answers ping");
}
