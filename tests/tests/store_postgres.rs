//! The store conformance suite against PostgreSQL, a fresh database per case,
//! then what is particular to this adapter: what an outage looks like to its
//! callers, and how long a stashed status update waits.

nolose_shared::store_conformance!(nolose_tests::pg::fresh_store());

mod outage {
    use std::time::{Duration, Instant};

    use nolose_shared::store::StoreError;
    use nolose_shared::testing::{message, upsert, user};

    /// The webhook answers 503 on `Unavailable` so that Evolution retries
    /// later; an outage answered as a 500 would lose the message.
    #[tokio::test]
    async fn a_database_that_goes_down_is_unavailable_until_it_comes_back() {
        let (store, db) = nolose_tests::pg::fresh_store().await;
        let u = user(&store, "outage").await;
        let c = store
            .upsert_contact(u, &upsert("5511900000001@s.whatsapp.net"))
            .await
            .expect("contact")
            .id;
        db.go_down().await;
        let down = store
            .insert_messages(u, &[message(c, "DOWN", false, 0)])
            .await;
        assert!(
            matches!(down, Err(StoreError::Unavailable(_))),
            "while down: {down:?}"
        );
        db.come_back().await;
        let deadline = Instant::now() + Duration::from_secs(15);
        let stored = loop {
            match store
                .insert_messages(u, &[message(c, "DOWN", false, 0)])
                .await
            {
                Ok(rows) => break rows,
                Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("after the database came back: {e:?}"),
            }
        };
        assert!(stored[0].new, "the retry stores the message once");
    }
}

mod stash {
    use nolose_shared::domain::MessageStatus::{Delivered, Read, Sent};
    use nolose_shared::store::StatusOutcome;
    use nolose_shared::testing::{message, t0, upsert, user};

    /// Updates also come for messages that are never stored (groups), so the
    /// stash forgets what waited a week; what keeps coming stays.
    #[tokio::test]
    async fn a_stashed_update_waits_a_week_then_is_forgotten() {
        let (store, _db) = nolose_tests::pg::fresh_store().await;
        let u = user(&store, "stash").await;
        let c = store
            .upsert_contact(u, &upsert("5511900000002@s.whatsapp.net"))
            .await
            .expect("contact")
            .id;
        let week_later = t0() + chrono::Duration::days(8);
        for (key, status, at) in [
            ("STALE", Read, t0()),
            ("RENEWED", Delivered, t0()),
            ("RENEWED", Read, week_later),
            ("FRESH", Read, week_later),
        ] {
            let outcome = store.advance_status(u, key, status, at).await;
            assert_eq!(outcome.expect("stash"), StatusOutcome::Stashed, "{key}");
        }
        for (key, want) in [("STALE", Sent), ("RENEWED", Read), ("FRESH", Read)] {
            let mut m = message(c, key, true, 0);
            m.status = Sent;
            let stored = store.insert_messages(u, &[m]).await.expect("insert");
            assert_eq!(stored[0].message.status, want, "{key}");
        }
    }
}

mod idempotency_sweep {
    use nolose_shared::store::{Fingerprint, IdempotencyKey, Reservation};
    use nolose_shared::testing::{t0, user};
    use sqlx::Connection;

    /// Expired keys already count as absent (the conformance suite); here,
    /// they are also deleted as later reservations come by, so the table
    /// holds about a day of keys, not every key ever used.
    #[tokio::test]
    async fn reservations_sweep_expired_keys_of_every_user() {
        let (store, db) = nolose_tests::pg::fresh_store().await;
        let (a, b) = (user(&store, "sweep-a").await, user(&store, "sweep-b").await);
        let fp = Fingerprint::of(&["5511988887777", "Hi"]);
        for (u, raw) in [(a, "done"), (a, "abandoned"), (b, "other-user")] {
            let found = store
                .reserve_idempotency_key(u, &IdempotencyKey::parse(raw).expect("key"), &fp, t0())
                .await
                .expect("reserve");
            if let (Reservation::Reserved(lease), "done") = (found, raw) {
                let body = serde_json::json!({"success": true, "message_id": "X"});
                store
                    .complete_idempotency_key(
                        u,
                        &IdempotencyKey::parse(raw).expect("key"),
                        &lease,
                        &body,
                        t0(),
                    )
                    .await
                    .expect("complete");
            }
        }
        let count = || async {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM idempotency_keys")
                .fetch_one(&mut conn)
                .await
                .expect("count");
            n
        };
        assert_eq!(count().await, 3);

        let next_day = t0() + chrono::Duration::hours(25);
        store
            .reserve_idempotency_key(
                a,
                &IdempotencyKey::parse("new").expect("key"),
                &fp,
                next_day,
            )
            .await
            .expect("reserve");

        assert_eq!(count().await, 1, "only the new reservation is left");
    }
}
