//! Conformance cases for [`MessageStore`](crate::store::MessageStore): dedup
//! per user, the status ladder with its stash, pages and stats.

use std::sync::Arc;

use crate::domain::MessageStatus::{self, *};
use crate::store::{ContactId, Page, StatusOutcome, Store};

use super::{message, t0, upsert, user};

const ALL: Page = Page {
    skip: 0,
    limit: 500,
};

async fn contact(store: &Arc<dyn Store>, u: crate::domain::UserId, n: u32) -> ContactId {
    store
        .upsert_contact(u, &upsert(&format!("55119{n:08}@s.whatsapp.net")))
        .await
        .expect("contact")
        .id
}

pub async fn a_message_is_stored_once(store: Arc<dyn Store>) {
    let u = user(&store, "m1").await;
    let c = contact(&store, u, 1).await;
    let m = message(c, "KEY1", false, 0);
    let first = store
        .insert_messages(u, std::slice::from_ref(&m))
        .await
        .expect("insert");
    assert!(first[0].new, "first insert stores it");
    assert_eq!(
        (first[0].message.key_id.as_str(), first[0].message.status),
        ("KEY1", Received)
    );
    assert_eq!(first[0].message.content.as_deref(), Some("text KEY1"));
    let again = store.insert_messages(u, &[m]).await.expect("insert again");
    assert!(!again[0].new, "a duplicate is recognised");
    assert_eq!(
        again[0].message.id, first[0].message.id,
        "and answered with the stored row"
    );
    assert_eq!(store.stats(u).await.expect("stats").total_messages, 1);
}

pub async fn concurrent_duplicates_store_one_row(store: Arc<dyn Store>) {
    let u = user(&store, "m2").await;
    let c = contact(&store, u, 2).await;
    let tasks = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .insert_messages(u, &[message(c, "RACE", false, 0)])
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("insert"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| r[0].new).count(),
        1,
        "exactly one caller stored it"
    );
    let ids: std::collections::HashSet<_> = results.iter().map(|r| r[0].message.id).collect();
    assert_eq!(ids.len(), 1, "everyone sees the same row");
    assert_eq!(
        store
            .messages_by_user(u, ALL, None)
            .await
            .expect("list")
            .len(),
        1
    );
}

pub async fn a_batch_skips_stored_and_repeated_keys(store: Arc<dyn Store>) {
    let u = user(&store, "m3").await;
    let c = contact(&store, u, 3).await;
    store
        .insert_messages(u, &[message(c, "OLD", false, 0)])
        .await
        .expect("seed");
    let batch = [
        message(c, "A", false, 1),
        message(c, "OLD", false, 0),
        message(c, "B", true, 2),
        message(c, "A", false, 1),
    ];
    let out = store.insert_messages(u, &batch).await.expect("batch");
    let flags: Vec<_> = out
        .iter()
        .map(|i| (i.message.key_id.as_str(), i.new))
        .collect();
    assert_eq!(
        flags,
        vec![("A", true), ("OLD", false), ("B", true), ("A", false)],
        "one result per input, in order"
    );
    assert_eq!(
        out[0].message.id, out[3].message.id,
        "a key repeated in the batch is one row"
    );
    assert_eq!(store.stats(u).await.expect("stats").total_messages, 3);
    assert!(
        store
            .insert_messages(u, &[])
            .await
            .expect("empty")
            .is_empty(),
        "an empty batch is fine"
    );
}

pub async fn dedup_is_per_user(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, "m4a").await, user(&store, "m4b").await);
    let (ca, cb) = (contact(&store, a, 4).await, contact(&store, b, 4).await);
    assert!(
        store
            .insert_messages(a, &[message(ca, "SAME", false, 0)])
            .await
            .expect("a")[0]
            .new
    );
    assert!(
        store
            .insert_messages(b, &[message(cb, "SAME", false, 0)])
            .await
            .expect("b")[0]
            .new,
        "another tenant's key is not a duplicate"
    );
    assert_eq!(
        store
            .messages_by_user(b, ALL, None)
            .await
            .expect("list")
            .len(),
        1
    );
}

pub async fn outbound_status_only_moves_forward(store: Arc<dyn Store>) {
    let u = user(&store, "m5").await;
    let c = contact(&store, u, 5).await;
    let mut m = message(c, "OUT", true, 0);
    m.status = Sent;
    store.insert_messages(u, &[m]).await.expect("insert");
    let steps = [
        (Delivered, StatusOutcome::Advanced(Delivered)),
        (Read, StatusOutcome::Advanced(Read)),
        (Delivered, StatusOutcome::Unchanged),
        (Read, StatusOutcome::Unchanged),
        (Played, StatusOutcome::Advanced(Played)),
    ];
    for (update, want) in steps {
        assert_eq!(
            store
                .advance_status(u, "OUT", update, t0())
                .await
                .expect("advance"),
            want,
            "update {update:?}"
        );
    }
    assert_eq!(stored_status(&store, u, "OUT").await, Played);
}

pub async fn inbound_messages_take_only_read_played_and_deleted(store: Arc<dyn Store>) {
    let u = user(&store, "m6").await;
    let c = contact(&store, u, 6).await;
    store
        .insert_messages(u, &[message(c, "IN", false, 0)])
        .await
        .expect("insert");
    assert_eq!(
        store
            .advance_status(u, "IN", Delivered, t0())
            .await
            .expect("adv"),
        StatusOutcome::Unchanged
    );
    assert_eq!(
        store
            .advance_status(u, "IN", Sent, t0())
            .await
            .expect("adv"),
        StatusOutcome::Unchanged
    );
    assert_eq!(
        store
            .advance_status(u, "IN", Read, t0())
            .await
            .expect("adv"),
        StatusOutcome::Advanced(Read)
    );
    assert_eq!(
        store
            .advance_status(u, "IN", Deleted, t0())
            .await
            .expect("adv"),
        StatusOutcome::Advanced(Deleted)
    );
    assert_eq!(
        store
            .advance_status(u, "IN", Played, t0())
            .await
            .expect("adv"),
        StatusOutcome::Unchanged,
        "deleted is terminal"
    );
    let list = store.messages_by_user(u, ALL, None).await.expect("list");
    assert_eq!(
        (list[0].status, list[0].content.as_deref()),
        (Deleted, Some("text IN")),
        "content is kept when deleted"
    );
}

pub async fn an_update_before_its_message_waits_for_it(store: Arc<dyn Store>) {
    let u = user(&store, "m7").await;
    let c = contact(&store, u, 7).await;
    assert_eq!(
        store
            .advance_status(u, "EARLY", Delivered, t0())
            .await
            .expect("stash"),
        StatusOutcome::Stashed
    );
    assert_eq!(
        store
            .advance_status(u, "EARLY", Read, t0())
            .await
            .expect("stash"),
        StatusOutcome::Stashed
    );
    assert_eq!(
        store
            .advance_status(u, "EARLY", Delivered, t0())
            .await
            .expect("stash"),
        StatusOutcome::Stashed,
        "a late lower update is kept out"
    );
    let mut m = message(c, "EARLY", true, 0);
    m.status = Sent;
    let out = store.insert_messages(u, &[m]).await.expect("insert");
    assert_eq!(
        out[0].message.status, Read,
        "the most advanced stashed update applies on arrival"
    );
    assert_eq!(stored_status(&store, u, "EARLY").await, Read);
    assert_eq!(
        store
            .advance_status(u, "EARLY", Delivered, t0())
            .await
            .expect("adv"),
        StatusOutcome::Unchanged,
        "the stash was used up"
    );
}

/// An update and the insert of its message race, for many keys at once:
/// whichever lands first, the update ends up on the message. (A store that
/// checks for the message and stashes while the insert checks for a stash
/// can have each miss the other, and the update is lost.)
pub async fn an_update_racing_the_insert_of_its_message_is_never_lost(store: Arc<dyn Store>) {
    let u = user(&store, "m12").await;
    let c = contact(&store, u, 16).await;
    let keys: Vec<String> = (0..24).map(|i| format!("RACE-{i}")).collect();
    let start = Arc::new(tokio::sync::Barrier::new(keys.len() * 2));
    let mut tasks = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let update = {
            let (store, start, key) = (Arc::clone(&store), Arc::clone(&start), key.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.advance_status(u, &key, Read, t0()).await.map(|_| ())
            })
        };
        let insert = {
            let (store, start, key) = (Arc::clone(&store), Arc::clone(&start), key.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut m = message(c, &key, true, 0);
                m.status = Sent;
                store.insert_messages(u, &[m]).await.map(|_| ())
            })
        };
        // Alternate which call is spawned first, so both orders are tried.
        if i % 2 == 0 {
            tasks.extend([update, insert]);
        } else {
            tasks.extend([insert, update]);
        }
    }
    for result in futures::future::join_all(tasks).await {
        result.expect("task").expect("store call");
    }
    let stored = store.messages_by_user(u, ALL, None).await.expect("list");
    for key in &keys {
        let status = stored.iter().find(|m| &m.key_id == key).map(|m| m.status);
        assert_eq!(
            status,
            Some(Read),
            "the update of {key} was lost in the race"
        );
    }
}

pub async fn a_stashed_update_for_an_inbound_message_follows_inbound_rules(store: Arc<dyn Store>) {
    let u = user(&store, "m8").await;
    let c = contact(&store, u, 8).await;
    store
        .advance_status(u, "IN-EARLY", Delivered, t0())
        .await
        .expect("stash");
    let out = store
        .insert_messages(u, &[message(c, "IN-EARLY", false, 0)])
        .await
        .expect("insert");
    assert_eq!(
        out[0].message.status, Received,
        "delivered does not apply to inbound"
    );
    store
        .advance_status(u, "IN-DEL", Deleted, t0())
        .await
        .expect("stash");
    let out = store
        .insert_messages(u, &[message(c, "IN-DEL", false, 1)])
        .await
        .expect("insert");
    assert_eq!(
        out[0].message.status, Deleted,
        "a delete that came first applies"
    );
}

pub async fn messages_of_a_contact_page_newest_first(store: Arc<dyn Store>) {
    let u = user(&store, "m9").await;
    let (c, other) = (contact(&store, u, 9).await, contact(&store, u, 10).await);
    let batch: Vec<_> = (0..6)
        .map(|i| message(c, &format!("K{i}"), i % 2 == 0, i))
        .collect();
    store.insert_messages(u, &batch).await.expect("insert");
    store
        .insert_messages(u, &[message(other, "ELSE", false, 100)])
        .await
        .expect("insert other");
    let keys =
        |list: Vec<crate::store::Message>| list.into_iter().map(|m| m.key_id).collect::<Vec<_>>();
    let all = store
        .messages_by_contact(u, c, ALL, None)
        .await
        .expect("list");
    let k5 = all[0].id;
    assert_eq!(
        keys(all),
        ["K5", "K4", "K3", "K2", "K1", "K0"],
        "newest first, only this contact"
    );
    let page = store
        .messages_by_contact(u, c, Page { skip: 1, limit: 2 }, None)
        .await
        .expect("page");
    assert_eq!(keys(page), ["K4", "K3"]);
    let before = store
        .messages_by_contact(u, c, Page { skip: 0, limit: 2 }, Some(k5))
        .await
        .expect("before");
    assert_eq!(keys(before), ["K4", "K3"], "keyset: strictly older than K5");
    let stranger = user(&store, "m9b").await;
    assert!(
        store
            .messages_by_contact(stranger, c, ALL, None)
            .await
            .expect("list")
            .is_empty(),
        "scoped to the user"
    );
}

pub async fn messages_of_a_user_page_newest_first_and_filter_by_contact(store: Arc<dyn Store>) {
    let u = user(&store, "m10").await;
    let (a, b) = (contact(&store, u, 11).await, contact(&store, u, 12).await);
    store
        .insert_messages(
            u,
            &[
                message(a, "A0", false, 0),
                message(b, "B1", true, 1),
                message(a, "A2", false, 2),
            ],
        )
        .await
        .expect("insert");
    let all: Vec<_> = store
        .messages_by_user(u, ALL, None)
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key_id)
        .collect();
    assert_eq!(all, ["A2", "B1", "A0"]);
    let only_a: Vec<_> = store
        .messages_by_user(u, ALL, Some(a))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key_id)
        .collect();
    assert_eq!(only_a, ["A2", "A0"]);
    let second: Vec<_> = store
        .messages_by_user(u, Page { skip: 1, limit: 1 }, None)
        .await
        .expect("page")
        .into_iter()
        .map(|m| m.key_id)
        .collect();
    assert_eq!(second, ["B1"]);
}

pub async fn stats_count_what_the_user_has(store: Arc<dyn Store>) {
    let u = user(&store, "m11").await;
    let (a, b) = (contact(&store, u, 13).await, contact(&store, u, 14).await);
    store
        .upsert_conversation(u, a, None, t0())
        .await
        .expect("conv");
    store
        .insert_messages(
            u,
            &[
                message(a, "S1", false, 0),
                message(a, "S2", true, 1),
                message(b, "S3", false, 2),
            ],
        )
        .await
        .expect("insert");
    store
        .insert_messages(u, &[message(a, "S1", false, 0)])
        .await
        .expect("duplicate");
    let other = user(&store, "m11b").await;
    let oc = contact(&store, other, 15).await;
    store
        .insert_messages(other, &[message(oc, "X", false, 0)])
        .await
        .expect("other tenant");
    let s = store.stats(u).await.expect("stats");
    assert_eq!(
        (
            s.total_messages,
            s.inbound_messages,
            s.outbound_messages,
            s.total_contacts,
            s.total_conversations
        ),
        (3, 2, 1, 2, 1)
    );
}

async fn stored_status(
    store: &Arc<dyn Store>,
    u: crate::domain::UserId,
    key: &str,
) -> MessageStatus {
    let list = store.messages_by_user(u, ALL, None).await.expect("list");
    list.into_iter()
        .find(|m| m.key_id == key)
        .map(|m| m.status)
        .unwrap_or_else(|| panic!("{key} is stored"))
}
