//! The store conformance suite against PostgreSQL, a fresh database per case,
//! and what an outage looks like to the callers of the adapter.

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
