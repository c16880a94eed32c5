//! The store conformance suite against PostgreSQL, a fresh database per case,
//! then what is particular to this adapter: what an outage looks like to its
//! callers (and the dead connections it leaves in the pool), that no
//! operation waits longer than its timeout, and how long a stashed status
//! update waits.

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

mod restart {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use nolose_shared::store::Store;
    use nolose_shared::store::postgres::PgStore;
    use nolose_shared::testing::{email, message, upsert, user};

    /// Opens `n` connections at once and puts them back idle in the pool.
    async fn warm(store: &PgStore, n: usize) {
        let held = futures::future::try_join_all((0..n).map(|_| store.pool().acquire()))
            .await
            .expect("open connections");
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.pool().num_idle() < n {
            assert!(Instant::now() < deadline, "connections back in the pool");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A restart kills every pooled connection while it sits idle; the pool
    /// hands them out without a ping, so the first statement on each fails.
    /// It never ran: the store runs it again on a fresh connection, and the
    /// caller never sees the dead ones.
    #[tokio::test]
    async fn the_first_calls_after_a_restart_succeed_on_fresh_connections() {
        let (_, db) = nolose_tests::pg::fresh_store().await;
        let pg = PgStore::connect(&db.url, 8).await.expect("connect");
        let store: Arc<dyn Store> = Arc::new(pg.clone());
        let u = user(&store, "restart").await;
        let c = store
            .upsert_contact(u, &upsert("5511900000003@s.whatsapp.net"))
            .await
            .expect("contact")
            .id;
        warm(&pg, 6).await;

        db.go_down().await;
        db.come_back().await;

        let found = store.user_by_email(&email("restart@example.com")).await;
        assert!(
            found.as_ref().is_ok_and(Option::is_some),
            "first read: {found:?}"
        );
        let stored = store
            .insert_messages(u, &[message(c, "AFTER", false, 0)])
            .await
            .expect("first write");
        assert!(stored[0].new, "stored once");
        for n in 0..6 {
            let r = store.user_by_id(u).await;
            assert!(r.is_ok(), "call {n}: {r:?}");
        }
    }
}

mod bounded {
    use std::future::Future;
    use std::sync::Arc;
    use std::time::Duration;

    use nolose_shared::store::postgres::PgStore;
    use nolose_shared::store::{
        Fingerprint, IdempotencyKey, LeaseToken, Store, StoreError, StoreResult,
    };
    use nolose_shared::testing::{email, t0, user};
    use sqlx::postgres::PgPoolOptions;
    use sqlx::{Connection, PgConnection};

    /// Far beyond the operation timeout below: reaching it means the call
    /// was waiting for the lock, unbounded.
    const HUNG: Duration = Duration::from_secs(30);

    /// A store on connections without PostgreSQL's own `statement_timeout`
    /// and `lock_timeout`, so that only the store's bound can end a wait.
    async fn store_without_server_timeouts(url: &str) -> Arc<dyn Store> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .expect("pool");
        Arc::new(PgStore::from_pool(pool).with_operation_timeout(Duration::from_millis(200)))
    }

    async fn gives_up<T: std::fmt::Debug>(call: &str, op: impl Future<Output = StoreResult<T>>) {
        let r = tokio::time::timeout(HUNG, op)
            .await
            .unwrap_or_else(|_| panic!("{call} waited without bound"));
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{call}: {r:?}"
        );
    }

    /// `user_by_id` runs on every authenticated request: behind a lock it
    /// must answer 503 within the operation timeout, like every other call.
    #[tokio::test]
    async fn calls_behind_a_table_lock_give_up_within_the_operation_timeout() {
        let (setup, db) = nolose_tests::pg::fresh_store().await;
        let u = user(&setup, "locked").await;
        let key = IdempotencyKey::parse("k").expect("key");
        let fp = Fingerprint::of(&["x"]);
        let store = store_without_server_timeouts(&db.url).await;
        let mut locker = PgConnection::connect(&db.url).await.expect("connect");
        let mut lock = locker.begin().await.expect("begin");
        sqlx::query("LOCK TABLE users, login_failures, idempotency_keys IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
            .expect("lock");

        gives_up("user_by_id", store.user_by_id(u)).await;
        gives_up(
            "user_by_email",
            store.user_by_email(&email("locked@example.com")),
        )
        .await;
        let window = Duration::from_secs(900);
        let mail = email("locked@example.com");
        gives_up(
            "register_login_attempt",
            store.register_login_attempt(&mail, t0(), window, 10),
        )
        .await;
        gives_up("clear_login_failures", store.clear_login_failures(&mail)).await;
        gives_up("reserve", store.reserve_idempotency_key(u, &key, &fp, t0())).await;
        let lease = LeaseToken::new();
        let body = serde_json::json!({});
        gives_up(
            "complete",
            store.complete_idempotency_key(u, &key, &lease, &body, t0()),
        )
        .await;
        gives_up("release", store.release_idempotency_key(u, &key, &lease)).await;

        lock.rollback().await.expect("unlock");
    }

    /// A ping touches no table; it waits for a connection when every one is
    /// taken, and gives up within the operation timeout too.
    #[tokio::test]
    async fn a_ping_gives_up_when_no_connection_comes_free() {
        let (_, db) = nolose_tests::pg::fresh_store().await;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(HUNG * 2)
            .connect(&db.url)
            .await
            .expect("pool");
        let store =
            PgStore::from_pool(pool.clone()).with_operation_timeout(Duration::from_millis(200));
        let held = pool.acquire().await.expect("the only connection");

        gives_up("ping", store.ping()).await;

        drop(held);
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
