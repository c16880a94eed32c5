//! Conformance cases for [`ContactStore`](crate::store::ContactStore).

use std::collections::HashSet;
use std::sync::Arc;

use crate::store::{ContactId, Page, Store};

use super::{jid, t0, upsert, user};

pub async fn upsert_creates_then_updates_without_erasing(store: Arc<dyn Store>) {
    let u = user(&store, "c1").await;
    let mut c = upsert("5511988887777@s.whatsapp.net");
    c.name = Some("Maria".into());
    let created = store.upsert_contact(u, &c).await.expect("create");
    assert_eq!(
        (created.name.as_deref(), created.profile_name.as_deref()),
        (Some("Maria"), None)
    );
    assert!(
        created.id.get() > 0 && created.id.get() < 1 << 53,
        "JSON-safe id"
    );
    let mut later = upsert("5511988887777@s.whatsapp.net");
    later.profile_name = Some("Mari".into());
    let updated = store.upsert_contact(u, &later).await.expect("update");
    assert_eq!(updated.id, created.id, "same contact");
    assert_eq!(
        (updated.name.as_deref(), updated.profile_name.as_deref()),
        (Some("Maria"), Some("Mari")),
        "name kept"
    );
    assert_eq!(updated.created_at, created.created_at);
    let by_id = store
        .contact_by_id(u, created.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(by_id, updated);
}

pub async fn contacts_belong_to_their_user(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, "c2a").await, user(&store, "c2b").await);
    let ca = store
        .upsert_contact(a, &upsert("5511911112222@s.whatsapp.net"))
        .await
        .expect("a");
    let cb = store
        .upsert_contact(b, &upsert("5511911112222@s.whatsapp.net"))
        .await
        .expect("b");
    assert_ne!(ca.id, cb.id, "the same JID is two contacts for two users");
    assert!(
        store.contact_by_id(b, ca.id).await.expect("read").is_none(),
        "b cannot read a's contact"
    );
    assert!(
        store
            .contact_by_id(a, ContactId::new(ca.id.get() + 777))
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(store.count_contacts(a).await.expect("count"), 1);
}

pub async fn a_remembered_lid_finds_the_contact(store: Arc<dyn Store>) {
    let u = user(&store, "c3").await;
    let mut c = upsert("5511933334444@s.whatsapp.net");
    c.lid = Some(jid("123456789012345@lid"));
    let created = store.upsert_contact(u, &c).await.expect("create");
    assert_eq!(created.lid, Some(jid("123456789012345@lid")));
    let by_lid = store
        .contact_by_jid(u, &jid("123456789012345@lid"))
        .await
        .expect("read");
    assert_eq!(by_lid.map(|c| c.id), Some(created.id), "found by LID");
    let by_phone = store
        .contact_by_jid(u, &jid("5511933334444@s.whatsapp.net"))
        .await
        .expect("read");
    assert_eq!(by_phone.map(|c| c.id), Some(created.id), "found by JID");
    let without = store
        .upsert_contact(u, &upsert("5511933334444@s.whatsapp.net"))
        .await
        .expect("again");
    assert_eq!(
        without.lid,
        Some(jid("123456789012345@lid")),
        "a later upsert without lid keeps it"
    );
    assert!(
        store
            .contact_by_jid(u, &jid("999@lid"))
            .await
            .expect("read")
            .is_none()
    );
}

pub async fn concurrent_upserts_of_one_jid_make_one_contact(store: Arc<dyn Store>) {
    let u = user(&store, "c4").await;
    let tasks = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .upsert_contact(u, &upsert("5511955556666@s.whatsapp.net"))
                .await
        })
    });
    let ids: HashSet<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("upsert").id)
        .collect();
    assert_eq!(ids.len(), 1, "one contact");
    assert_eq!(store.count_contacts(u).await.expect("count"), 1);
}

pub async fn contacts_page_in_creation_order_and_count_them_all(store: Arc<dyn Store>) {
    let u = user(&store, "c5").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .upsert_contact(u, &upsert(&format!("551190000000{i}@s.whatsapp.net")))
                .await
                .expect("create")
                .id,
        );
    }
    let page = store
        .contacts_page(u, Page { skip: 1, limit: 2 })
        .await
        .expect("page");
    assert_eq!(
        page.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[1..3].to_vec(),
        "oldest first, skip then limit"
    );
    assert_eq!(
        store.count_contacts(u).await.expect("count"),
        5,
        "the total, not the page size"
    );
    let past = store
        .contacts_page(u, Page { skip: 10, limit: 5 })
        .await
        .expect("page");
    assert!(past.is_empty());
}

pub async fn one_conversation_per_contact_whose_last_message_only_moves_forward(
    store: Arc<dyn Store>,
) {
    let u = user(&store, "c6").await;
    let c = store
        .upsert_contact(u, &upsert("5511977778888@s.whatsapp.net"))
        .await
        .expect("contact");
    let later = t0() + chrono::Duration::hours(1);
    let first = store
        .upsert_conversation(u, c.id, Some(later), t0())
        .await
        .expect("create");
    assert_eq!(
        (first.contact_id, first.last_message_at, first.is_active),
        (c.id, Some(later), true)
    );
    let older = store
        .upsert_conversation(u, c.id, Some(t0()), t0())
        .await
        .expect("older");
    assert_eq!(
        (older.id, older.last_message_at),
        (first.id, Some(later)),
        "an older message does not move it back"
    );
    let none = store
        .upsert_conversation(u, c.id, None, t0())
        .await
        .expect("none");
    assert_eq!(none.last_message_at, Some(later));
    let newest = later + chrono::Duration::minutes(5);
    let moved = store
        .upsert_conversation(u, c.id, Some(newest), t0())
        .await
        .expect("newer");
    assert_eq!(moved.last_message_at, Some(newest));
    assert_eq!(store.stats(u).await.expect("stats").total_conversations, 1);
}

pub async fn conversations_page_most_recent_first(store: Arc<dyn Store>) {
    let u = user(&store, "c7").await;
    let mut expected = Vec::new();
    for (i, hours) in [(1, Some(1)), (2, Some(3)), (3, None), (4, Some(2))] {
        let c = store
            .upsert_contact(u, &upsert(&format!("551180000000{i}@s.whatsapp.net")))
            .await
            .expect("contact");
        let at = hours.map(|h| t0() + chrono::Duration::hours(h));
        expected.push((
            store
                .upsert_conversation(u, c.id, at, t0())
                .await
                .expect("conv")
                .id,
            at,
        ));
    }
    let page = store
        .conversations_page(u, Page { skip: 0, limit: 10 })
        .await
        .expect("page");
    let order: Vec<_> = page.iter().map(|c| c.id).collect();
    assert_eq!(
        order,
        vec![expected[1].0, expected[3].0, expected[0].0, expected[2].0],
        "newest first, never active last"
    );
    let other = user(&store, "c7b").await;
    assert!(
        store
            .conversations_page(other, Page { skip: 0, limit: 10 })
            .await
            .expect("page")
            .is_empty()
    );
}
