//! History sync through the local server and its in-process worker, against
//! evosim over real HTTP: the chat fan-out, faults, repeated syncs, and the
//! synchronous one-chat route.

use std::time::Duration;

use nolose_evosim::{Seed, seeded_jid, seeded_key_id};
use nolose_shared::config::LocalConfig;
use nolose_shared::time::Clock;
use nolose_tests::app::{Setup, config_with, error_code, test_worker_config};
use nolose_tests::wa::{Tenant, WaApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Long enough for a few hundred jobs with retries on a loaded machine.
const SYNC_PATIENCE: Duration = Duration::from_secs(60);

fn seed(chats: u32, messages_per_chat: u32) -> Seed {
    Seed {
        contacts: 0,
        chats,
        messages_per_chat,
        base_timestamp: None,
    }
}

/// Starts a chat sync; returns the 202 body.
async fn sync_chats(wa: &WaApp, t: &Tenant) -> Value {
    let (status, body) = wa.send(t, Method::POST, "/api/evolution/sync/chats").await;
    assert_eq!(status, StatusCode::ACCEPTED, "sync/chats: {body}");
    body
}

/// Polls the sync status until the run is `done`.
async fn wait_until_done(wa: &WaApp, t: &Tenant) -> Value {
    let deadline = tokio::time::Instant::now() + SYNC_PATIENCE;
    loop {
        let (status, body) = wa.get(&t.token, "/api/evolution/sync/status").await;
        assert_eq!(status, StatusCode::OK, "status: {body}");
        if body["state"] == "done" {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sync never finished: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker of a second `nolose` on the same database (the first one's
/// worker having died).
async fn second_worker(wa: &WaApp) -> nolose_local::worker::WorkerHandle {
    let setup = Setup {
        evolution: Some((wa.sim.base_url().to_owned(), wa.sim.api_key().to_owned())),
        webhook_secret: None,
    };
    let local = LocalConfig::from_lookup(|n| (n == "DATABASE_URL").then(|| wa.app.db.url.clone()))
        .expect("local config");
    let second = nolose_local::build_app(config_with(&setup, "http://127.0.0.1:9"), &local)
        .await
        .expect("second nolose");
    second.start_worker(&second.state, test_worker_config())
}

/// The tenant's contact id of a seeded chat.
async fn contact_id(wa: &WaApp, t: &Tenant, jid: &str) -> i64 {
    let (_, body) = wa.get(&t.token, "/api/evolution/contacts?limit=500").await;
    body["contacts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["evolution_remote_jid"] == jid))
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("no contact {jid}: {body}"))
}

async fn key_ids_of(wa: &WaApp, t: &Tenant, contact: i64) -> Vec<String> {
    let path = format!("/api/messages?limit=500&contact_id={contact}");
    let (_, body) = wa.get(&t.token, &path).await;
    let mut keys: Vec<String> = body["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["wa_message_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_chat_of_100_messages_ends_with_exactly_its_30_newest() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("hundred@example.com").await;
    wa.sim.seed(&t.instance, seed(1, 100)).expect("seed");

    let started = sync_chats(&wa, &t).await;
    assert_eq!(
        (started["total"].as_u64(), started["queued"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(started["chats"][0]["id"], seeded_jid(1));
    let done = wait_until_done(&wa, &t).await;

    assert_eq!(
        (
            &done["chats_done"],
            &done["chats_failed"],
            &done["messages_synced"]
        ),
        (&Value::from(1), &Value::from(0), &Value::from(30))
    );
    let contact = contact_id(&wa, &t, &seeded_jid(1)).await;
    let want: Vec<String> = (71..=100).map(|m| seeded_key_id(1, m)).collect();
    assert_eq!(
        key_ids_of(&wa, &t, contact).await,
        want,
        "the 30 newest, nothing else"
    );
    let (_, instance) = wa.get(&t.token, "/api/evolution/instance/status").await;
    assert_eq!(
        instance["chats_count"], 1,
        "chats_count recorded: {instance}"
    );
}

#[tokio::test]
async fn fifty_chats_with_transient_faults_all_finish() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("fifty@example.com").await;
    wa.sim.seed(&t.instance, seed(50, 3)).expect("seed");
    wa.sim.fail_next(Some("chat/findMessages"), 12, 500);

    assert_eq!(sync_chats(&wa, &t).await["queued"], 50);
    let done = wait_until_done(&wa, &t).await;

    assert_eq!(
        (
            &done["chats_total"],
            &done["chats_done"],
            &done["chats_failed"]
        ),
        (&Value::from(50), &Value::from(50), &Value::from(0)),
        "{done}"
    );
    assert_eq!(done["messages_synced"], 150);
    assert_eq!(wa.messages(&t).await.len(), 150);
}

#[tokio::test]
async fn a_chat_that_always_fails_is_counted_failed_and_the_run_still_finishes() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("failing@example.com").await;
    wa.sim.seed(&t.instance, seed(1, 5)).expect("seed");
    wa.sim.fail_next(Some("chat/findMessages"), 1000, 500);

    sync_chats(&wa, &t).await;
    let done = wait_until_done(&wa, &t).await;

    assert_eq!(
        (&done["chats_done"], &done["chats_failed"]),
        (&Value::from(0), &Value::from(1)),
        "{done}"
    );
    assert!(done["finished_at"].is_string(), "{done}");
    let tries = wa.sim.calls_to("chat/findMessages").len();
    assert_eq!(tries, 4, "retried up to the attempt limit, then given up");
}

#[tokio::test]
async fn a_permanent_failure_fails_its_chat_at_once_and_spares_the_others() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("permanent@example.com").await;
    wa.sim.seed(&t.instance, seed(3, 2)).expect("seed");
    wa.sim.fail_next(Some("chat/findMessages"), 1, 400);

    sync_chats(&wa, &t).await;
    let done = wait_until_done(&wa, &t).await;

    assert_eq!(
        (&done["chats_done"], &done["chats_failed"]),
        (&Value::from(2), &Value::from(1)),
        "{done}"
    );
    assert_eq!(
        wa.sim.calls_to("chat/findMessages").len(),
        3,
        "no retry of a 4xx"
    );
}

#[tokio::test]
async fn syncing_twice_doubles_nothing_and_a_sync_in_progress_is_returned() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("twice@example.com").await;
    wa.sim.seed(&t.instance, seed(2, 5)).expect("seed");
    wa.sim
        .add_latency(Some("chat/findMessages"), Duration::from_millis(300));

    let first = sync_chats(&wa, &t).await;
    let again = sync_chats(&wa, &t).await;
    assert_eq!(
        again["sync_id"], first["sync_id"],
        "the running run answers"
    );
    assert_eq!(
        (again["queued"].as_u64(), again["total"].as_u64()),
        (Some(0), Some(2))
    );
    wait_until_done(&wa, &t).await;
    wa.sim.clear_faults();

    let second = sync_chats(&wa, &t).await;
    assert_ne!(
        second["sync_id"], first["sync_id"],
        "a new run after the first finished"
    );
    let done = wait_until_done(&wa, &t).await;
    assert_eq!(
        (&done["chats_done"], &done["messages_synced"]),
        (&Value::from(2), &Value::from(0))
    );
    assert_eq!(wa.messages(&t).await.len(), 10, "every message stored once");
}

#[tokio::test]
async fn one_chat_syncs_synchronously_and_its_limit_and_owner_are_checked() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("one@example.com").await;
    let other = wa.connected_tenant("other@example.com").await;
    wa.sim
        .seed(
            &t.instance,
            Seed {
                contacts: 3,
                ..seed(1, 40)
            },
        )
        .expect("seed");

    let (status, body) = wa
        .send(&t, Method::POST, "/api/evolution/sync/contacts")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["synced_count"].as_u64().is_some_and(|n| n >= 1),
        "{body}"
    );
    let contact = contact_id(&wa, &t, &seeded_jid(1)).await;

    let path = format!("/api/evolution/sync/messages/{contact}?limit=10");
    let (status, body) = wa.send(&t, Method::POST, &path).await;
    assert_eq!(
        (status, &body["synced_count"]),
        (StatusCode::OK, &Value::from(10)),
        "{body}"
    );
    let (_, again) = wa.send(&t, Method::POST, &path).await;
    assert_eq!(again["synced_count"], 0, "nothing new the second time");

    for limit in ["0", "101", "x"] {
        let path = format!("/api/evolution/sync/messages/{contact}?limit={limit}");
        let (status, _) = wa.send(&t, Method::POST, &path).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "limit {limit}: {status}"
        );
    }
    let (status, _) = wa
        .send(
            &t,
            Method::POST,
            &format!("/api/evolution/sync/messages/{contact}?limit=101"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = wa
        .send(
            &other,
            Method::POST,
            &format!("/api/evolution/sync/messages/{contact}"),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "contact_not_found")
    );
}

#[tokio::test]
async fn sync_needs_a_connected_instance_but_status_always_answers() {
    let wa = WaApp::spawn().await;
    let t = wa.created_tenant("unconnected@example.com").await;
    for (method, path) in [
        (Method::POST, "/api/evolution/sync/contacts"),
        (Method::POST, "/api/evolution/sync/chats"),
        (Method::GET, "/api/evolution/chats/raw"),
        (Method::POST, "/api/evolution/chats/messages/raw"),
    ] {
        let (status, body) = wa.send(&t, method, path).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::CONFLICT, "not_connected"),
            "{path}"
        );
    }
    let (status, body) = wa.get(&t.token, "/api/evolution/sync/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["state"], &body["sync_id"]),
        (&Value::from("none"), &Value::Null)
    );
}

#[tokio::test]
async fn the_raw_views_pass_evolutions_answers_through() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("raw@example.com").await;
    wa.sim.seed(&t.instance, seed(2, 3)).expect("seed");

    let (status, body) = wa.get(&t.token, "/api/evolution/chats/raw").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["raw"].as_array().map(Vec::len), Some(2));
    assert!(body["raw"][0]["remoteJid"].is_string(), "{body}");

    let req = wa
        .app
        .request(Method::POST, "/api/evolution/chats/messages/raw")
        .bearer_auth(&t.token)
        .json(&serde_json::json!({"remote_jid": seeded_jid(1), "limit": 2}));
    let (status, body) = nolose_tests::app::call(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["raw"].is_object(),
        "Evolution's findMessages answer: {body}"
    );
}

/// Jobs live in PostgreSQL: a second `nolose` on the same database finishes
/// the sync the first one was running when it died.
#[tokio::test]
async fn a_sync_survives_the_death_of_its_worker() {
    let mut wa = WaApp::spawn().await;
    let t = wa.connected_tenant("restart@example.com").await;
    wa.sim.seed(&t.instance, seed(40, 5)).expect("seed");
    wa.sim
        .add_latency(Some("chat/findMessages"), Duration::from_millis(150));
    sync_chats(&wa, &t).await;
    let deadline = tokio::time::Instant::now() + SYNC_PATIENCE;
    loop {
        let (_, body) = wa.get(&t.token, "/api/evolution/sync/status").await;
        if body["chats_done"].as_u64().is_some_and(|n| n >= 1) {
            assert_eq!(body["state"], "running", "stopped mid-sync: {body}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no chat ever finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    wa.app.worker.take().expect("worker").abort();
    let _worker = second_worker(&wa).await;

    let done = wait_until_done(&wa, &t).await;
    assert_eq!(
        (&done["chats_done"], &done["chats_failed"]),
        (&Value::from(40), &Value::from(0)),
        "{done}"
    );
    assert_eq!(
        wa.messages(&t).await.len(),
        200,
        "every message stored, once"
    );
    // A job killed between storing its page and counting its chat is run
    // again and finds its messages stored: they were tallied to the chat as
    // they were stored, so the rerun counts them, once.
    assert_eq!(done["messages_synced"], 200, "{done}");
}

/// Polls `/api/health/ready` until its `sync_worker` check reads `want`;
/// returns the status and body of that answer.
async fn readiness_when_sync_worker_is(wa: &WaApp, want: &str) -> (StatusCode, Value) {
    let deadline = tokio::time::Instant::now() + SYNC_PATIENCE;
    loop {
        let (status, body) =
            nolose_tests::app::call(wa.app.request(Method::GET, "/api/health/ready")).await;
        if body["checks"]["sync_worker"] == want {
            return (status, body);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sync_worker never {want}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An outage kills apalis' worker (its heartbeat fails); the supervisor
/// starts another once PostgreSQL answers again, without a restart of
/// `nolose`, and readiness says 503 while no worker runs.
#[tokio::test]
async fn the_sync_worker_outlives_a_store_outage() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("outage@example.com").await;
    wa.sim.seed(&t.instance, seed(5, 4)).expect("seed");

    wa.app.db.go_down().await;
    let (status, down) = readiness_when_sync_worker_is(&wa, "unavailable").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{down}");
    wa.app.db.come_back().await;
    let (status, up) = readiness_when_sync_worker_is(&wa, "ok").await;
    assert_eq!(status, StatusCode::OK, "ready again: {up}");

    assert_eq!(sync_chats(&wa, &t).await["queued"], 5);
    let done = wait_until_done(&wa, &t).await;
    assert_eq!(
        (
            &done["chats_done"],
            &done["chats_failed"],
            &done["messages_synced"]
        ),
        (&Value::from(5), &Value::from(0), &Value::from(20)),
        "{done}"
    );
}

#[tokio::test]
async fn a_message_delivered_by_webhook_is_not_stored_again_by_the_sync() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("webhook-then-sync@example.com").await;
    wa.sim.seed(&t.instance, seed(1, 5)).expect("seed");
    let live = nolose_evosim::Incoming {
        from: seeded_jid(1).trim_end_matches("@s.whatsapp.net").to_owned(),
        text: Some("arrived live".into()),
        ..Default::default()
    };
    wa.sim.inject(&t.instance, live).expect("inject");
    assert_eq!(
        wa.wait_for_messages(&t, 1).await.len(),
        1,
        "the webhook stored it"
    );

    sync_chats(&wa, &t).await;
    let done = wait_until_done(&wa, &t).await;

    assert_eq!(
        done["messages_synced"], 5,
        "only the history was new: {done}"
    );
    assert_eq!(
        wa.messages(&t).await.len(),
        6,
        "the live message once, plus the history"
    );
}

/// Seeded chats 1, 2 and 3 holding 5, 10 and 40 messages.
fn seed_5_10_40(wa: &WaApp, t: &Tenant) {
    wa.sim.seed(&t.instance, seed(3, 5)).expect("seed");
    for (chat, more) in [(2u32, 5u32), (3, 35)] {
        for m in 1..=more {
            let incoming = nolose_evosim::Incoming {
                from: seeded_jid(chat),
                text: Some(format!("later {m}")),
                id: Some(format!("3B{chat:06}{m:012}")),
                timestamp: Some(1_790_000_000 + i64::from(m)),
                silent: true,
                ..Default::default()
            };
            wa.sim.inject(&t.instance, incoming).expect("inject");
        }
    }
}

/// Issue 9: chats of 5, 10 and 40 messages once ended `done` with
/// `messages_synced: 15`: the job of the 40-message chat ran again after
/// its page was stored (a worker killed before reporting) and counted
/// nothing new.
#[tokio::test]
async fn chats_of_5_10_and_40_sync_45_messages_though_a_worker_dies_after_storing() {
    let mut wa = WaApp::spawn().await;
    let t = wa.connected_tenant("five-ten-forty@example.com").await;
    seed_5_10_40(&wa, &t);
    wa.app.worker.take().expect("worker").abort();

    let started = sync_chats(&wa, &t).await;
    assert_eq!(started["queued"], 3, "{started}");
    // The worker that took chat 3's job stored its page, then died.
    let contact = contact_id(&wa, &t, &seeded_jid(3)).await;
    let instance = nolose_shared::domain::InstanceName::for_user(
        nolose_shared::domain::UserId::new(t.user_id),
    );
    let page = nolose_shared::history::ChatPage {
        user: nolose_shared::domain::UserId::new(t.user_id),
        instance: &instance,
        remote_jid: &seeded_jid(3),
        limit: 30,
        tally: Some(nolose_shared::store::SyncTally {
            run: nolose_shared::store::SyncId::new(started["sync_id"].as_i64().expect("id")),
            chat: nolose_shared::store::ContactId::new(contact),
        }),
    };
    let stored = nolose_shared::history::sync_chat(
        wa.app.state.evolution.as_ref(),
        wa.app.state.store.as_ref(),
        page,
        wa.app.clock.now(),
    )
    .await
    .expect("the dead worker's page");
    assert_eq!(stored.new_count(), 30);
    let _worker = second_worker(&wa).await;

    let done = wait_until_done(&wa, &t).await;
    assert_eq!(
        (
            &done["chats_done"],
            &done["chats_failed"],
            &done["messages_synced"]
        ),
        (&Value::from(3), &Value::from(0), &Value::from(45)),
        "{done}"
    );
}

/// Issue 9: a run whose jobs never report (lost, or their last attempt
/// erred) blocked every later sync of the user for good.
#[tokio::test]
async fn a_run_no_job_reports_to_is_finished_once_stale_and_a_new_sync_starts() {
    let mut wa = WaApp::spawn().await;
    let t = wa.connected_tenant("stale@example.com").await;
    wa.sim.seed(&t.instance, seed(2, 3)).expect("seed");
    wa.app.worker.take().expect("worker").abort();
    let first = sync_chats(&wa, &t).await;
    assert_eq!(first["queued"], 2);

    wa.app.clock.advance(chrono::Duration::seconds(599));
    let again = sync_chats(&wa, &t).await;
    assert_eq!(
        (&again["sync_id"], &again["queued"]),
        (&first["sync_id"], &Value::from(0))
    );
    wa.app.clock.advance(chrono::Duration::seconds(2));
    let (_, status) = wa.get(&t.token, "/api/evolution/sync/status").await;
    assert_eq!(
        (
            &status["state"],
            &status["chats_done"],
            &status["chats_failed"]
        ),
        (&Value::from("done"), &Value::from(0), &Value::from(2)),
        "{status}"
    );

    let next = sync_chats(&wa, &t).await;
    assert_ne!(next["sync_id"], first["sync_id"], "{next}");
    assert_eq!(next["queued"], 2);
    // The lost jobs turn up after all: their late reports change nothing.
    let _worker = second_worker(&wa).await;
    let done = wait_until_done(&wa, &t).await;
    assert_eq!(
        (&done["sync_id"], &done["chats_done"], &done["chats_failed"]),
        (&next["sync_id"], &Value::from(2), &Value::from(0)),
        "{done}"
    );
}
