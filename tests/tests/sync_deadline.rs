//! `sync/contacts` pages through Evolution one call per page: for a big
//! account that chain outlasts any function timeout, so it stops at a
//! deadline and answers what it synced (`CONTACTS_DEADLINE`, counted by the
//! template's timeout of the sync function).

use std::time::Duration;

use nolose_evosim::Seed;
use nolose_shared::domain::UserId;
use nolose_sync::sync::contacts_within;
use nolose_tests::wa::WaApp;

#[tokio::test]
async fn contact_paging_stops_at_its_deadline_and_answers_what_it_synced() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("deadline@example.com").await;
    let seed = Seed {
        contacts: 250,
        chats: 0,
        messages_per_chat: 0,
        base_timestamp: None,
    };
    wa.sim.seed(&t.instance, seed).expect("seed");
    wa.sim
        .add_latency(Some("chat/findContacts"), Duration::from_millis(400));

    let synced = contacts_within(
        &wa.app.state,
        UserId::new(t.user_id),
        Duration::from_millis(200),
    )
    .await
    .expect("a partial sync is an answer, not an error");

    assert_eq!(
        wa.sim.calls_to("chat/findContacts").len(),
        1,
        "no page is asked for past the deadline"
    );
    assert!(synced.synced_count < 250, "{}", synced.message);
    assert!(synced.message.contains("call again"), "{}", synced.message);
}

#[tokio::test]
async fn contact_paging_within_its_deadline_syncs_every_page() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("in-time@example.com").await;
    let seed = Seed {
        contacts: 250,
        chats: 0,
        messages_per_chat: 0,
        base_timestamp: None,
    };
    wa.sim.seed(&t.instance, seed).expect("seed");

    let synced = contacts_within(
        &wa.app.state,
        UserId::new(t.user_id),
        Duration::from_secs(60),
    )
    .await
    .expect("sync");

    assert_eq!(wa.sim.calls_to("chat/findContacts").len(), 3);
    assert_eq!(synced.synced_count, 250, "{}", synced.message);
}
