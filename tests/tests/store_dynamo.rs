//! The store conformance suite against the DynamoDB adapter, each case on a
//! fresh table of the template's definition (moto, via `scripts/test`),
//! plus the cases only this adapter's shape calls for: batches that span
//! several transactions, status updates racing their message on one key
//! item, and pages that reach past what one `Query` returns.

nolose_shared::store_conformance!(async { (nolose_tests::dynamo::fresh_store().await, ()) });

mod dynamo_only {
    use std::collections::HashSet;
    use std::sync::Arc;

    use nolose_shared::domain::MessageStatus;
    use nolose_shared::store::{ContactId, Page, Store};
    use nolose_shared::testing::{message, t0, upsert, user};
    use nolose_tests::dynamo::fresh_store;

    const ALL: Page = Page {
        skip: 0,
        limit: 500,
    };

    async fn contact(store: &Arc<dyn Store>, u: nolose_shared::domain::UserId) -> ContactId {
        store
            .upsert_contact(u, &upsert("5511900000001@s.whatsapp.net"))
            .await
            .expect("contact")
            .id
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_batch_larger_than_one_transaction_is_stored_once() {
        let store = fresh_store().await;
        let u = user(&store, "big").await;
        let c = contact(&store, u).await;
        let seed: Vec<_> = (0..10)
            .map(|i| message(c, &format!("K{i}"), false, i))
            .collect();
        store.insert_messages(u, &seed).await.expect("seed");
        store
            .advance_status(u, "K50", MessageStatus::Read, t0())
            .await
            .expect("stash");
        let mut batch: Vec<_> = (0..95)
            .map(|i| message(c, &format!("K{i}"), i % 3 == 0, i))
            .collect();
        batch.extend((0..5).map(|i| message(c, &format!("K{}", i * 20), false, 0)));
        let out = store
            .insert_messages(u, &batch)
            .await
            .expect("batch of 100");
        assert_eq!(out.len(), 100, "one answer per input");
        let new: Vec<_> = out
            .iter()
            .filter(|r| r.new)
            .map(|r| r.message.key_id.clone())
            .collect();
        assert_eq!(new.len(), 85, "K10..K94 are new, seeds and repeats are not");
        assert!(
            out[..10].iter().all(|r| !r.new),
            "seeded keys are duplicates"
        );
        assert_eq!(
            out[50].message.status,
            MessageStatus::Read,
            "the stash applied"
        );
        for (i, r) in out[95..].iter().enumerate() {
            assert_eq!(
                r.message.id,
                out[i * 20].message.id,
                "repeat {i} is its first row"
            );
        }
        let stored = store
            .messages_by_contact(u, c, ALL, None)
            .await
            .expect("list");
        let ids: HashSet<_> = stored.iter().map(|m| m.id).collect();
        assert_eq!((stored.len(), ids.len()), (95, 95), "95 rows, distinct ids");
        let stats = store.stats(u).await.expect("stats");
        assert_eq!(
            (stats.total_messages, stats.outbound_messages),
            (95, 28),
            "counted once each"
        );
    }

    /// Plain moto applies concurrent DynamoDB requests without isolation (a
    /// cancelled transaction restores a copy of the table taken when it
    /// began, wiping the stash written meanwhile), so this race loses
    /// updates there that DynamoDB keeps: `scripts/test` runs moto through
    /// `scripts/moto-serial`, which serialises DynamoDB requests as DynamoDB
    /// serialises writes to an item.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn status_updates_racing_their_message_are_never_lost() {
        let store = fresh_store().await;
        let u = user(&store, "race").await;
        let c = contact(&store, u).await;
        for round in 0..25 {
            let key = format!("R{round}");
            let m = message(c, &key, true, round);
            let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
            let k = key.clone();
            let insert = tokio::spawn(async move { s1.insert_messages(u, &[m]).await });
            let update =
                tokio::spawn(
                    async move { s2.advance_status(u, &k, MessageStatus::Read, t0()).await },
                );
            insert.await.expect("task").expect("insert");
            update.await.expect("task").expect("advance");
            let row = store
                .insert_messages(u, &[message(c, &key, true, round)])
                .await
                .expect("read back");
            assert_eq!(row[0].message.status, MessageStatus::Read, "round {round}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pages_skip_and_resume_past_many_rows() {
        let store = fresh_store().await;
        let u = user(&store, "pages").await;
        let c = contact(&store, u).await;
        let batch: Vec<_> = (0..60)
            .map(|i| message(c, &format!("P{i:02}"), false, i))
            .collect();
        store.insert_messages(u, &batch).await.expect("insert");
        let keys = |list: Vec<nolose_shared::store::Message>| {
            list.into_iter().map(|m| m.key_id).collect::<Vec<_>>()
        };
        let page = Page { skip: 40, limit: 5 };
        let by_contact = store
            .messages_by_contact(u, c, page, None)
            .await
            .expect("page");
        assert_eq!(keys(by_contact), ["P19", "P18", "P17", "P16", "P15"]);
        let by_user = store.messages_by_user(u, page, None).await.expect("page");
        assert_eq!(keys(by_user), ["P19", "P18", "P17", "P16", "P15"]);
        let all = store
            .messages_by_contact(u, c, ALL, None)
            .await
            .expect("all");
        let p30 = all[29].id;
        let resumed = store
            .messages_by_contact(u, c, Page { skip: 2, limit: 3 }, Some(p30))
            .await
            .expect("before");
        assert_eq!(
            keys(resumed),
            ["P27", "P26", "P25"],
            "skip applies after before"
        );
    }
}
