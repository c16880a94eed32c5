//! `HttpEvolution` against `evosim` over real HTTP: every gateway method,
//! the shapes Evolution answers (quirks included) and the error mapping
//! `gateway.rs` documents. No sleeps: waits poll with a deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nolose_evosim::jid::create_jid;
use nolose_evosim::{DownMode, EvoSim, Outcome, Scan, Seed, SimConfig, seeded_jid, seeded_key_id};
use nolose_shared::domain::{InstanceName, UserId};
use nolose_shared::evolution::client::Timeouts;
use nolose_shared::evolution::gateway::{
    Connect, Created, RemoteState, WEBHOOK_EVENTS, WebhookTarget,
};
use nolose_shared::evolution::{Evolution, EvolutionError, HttpEvolution};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const SECRET: &str = "whsec-test-0123456789";
const HOOK_URL: &str = "http://127.0.0.1:9/api/webhook/evolution";

fn user(id: i64) -> InstanceName {
    InstanceName::for_user(UserId::new(id))
}

fn target(url: &str) -> WebhookTarget {
    WebhookTarget {
        url: url.to_owned(),
        secret: SECRET.to_owned(),
        events: WEBHOOK_EVENTS.to_vec(),
    }
}

fn client_with(sim: &EvoSim, key: &str, timeouts: Timeouts) -> HttpEvolution {
    HttpEvolution::new(sim.base_url(), key, timeouts).expect("the client builds")
}

fn client(sim: &EvoSim) -> HttpEvolution {
    client_with(sim, sim.api_key(), Timeouts::default())
}

async fn sim() -> EvoSim {
    EvoSim::spawn(SimConfig::fast())
        .await
        .expect("evosim starts")
}

/// A simulator with `user_1` created through the client (state `connecting`).
async fn with_instance() -> (EvoSim, HttpEvolution, InstanceName) {
    let sim = sim().await;
    let evo = client(&sim);
    let name = user(1);
    evo.create_instance(&name, &target(HOOK_URL))
        .await
        .expect("create succeeds");
    (sim, evo, name)
}

/// As [`with_instance`], with the QR scanned: `open`.
async fn with_open_instance() -> (EvoSim, HttpEvolution, InstanceName) {
    let (sim, evo, name) = with_instance().await;
    sim.scan_qr(name.as_str(), Scan::default())
        .expect("the phone scans the QR");
    (sim, evo, name)
}

fn seed(sim: &EvoSim, name: &InstanceName, contacts: u32, chats: u32, per_chat: u32) {
    let req = Seed {
        contacts,
        chats,
        messages_per_chat: per_chat,
        base_timestamp: None,
    };
    sim.seed(name.as_str(), req).expect("seeding succeeds");
}

fn key_id(record: &Value) -> &str {
    record["key"]["id"].as_str().unwrap_or_default()
}

/// A webhook receiver on a free port that remembers each `x-webhook-secret` it saw.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |headers: http::HeaderMap| {
        let record = Arc::clone(&record);
        async move {
            let secret = headers
                .get("x-webhook-secret")
                .and_then(|v| v.to_str().ok());
            record
                .lock()
                .expect("lock")
                .push(secret.unwrap_or_default().to_owned());
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api/webhook/evolution"), seen)
}

// ---- create and webhook configuration ----

#[tokio::test]
async fn creating_a_new_instance_answers_its_first_qr() {
    let sim = sim().await;
    let created = client(&sim)
        .create_instance(&user(1), &target(HOOK_URL))
        .await;
    let Ok(Created::New { qr: Some(qr) }) = created else {
        panic!("expected a new instance with its QR, got {created:?}");
    };
    assert!(
        qr.base64.starts_with("data:image/png;base64,"),
        "got {}",
        qr.base64
    );
    assert_eq!(qr.pairing_code, None);
}

#[tokio::test]
async fn creating_an_existing_instance_answers_already_exists() {
    let (sim, evo, name) = with_instance().await;
    let again = evo.create_instance(&name, &target(HOOK_URL)).await;
    assert!(matches!(again, Ok(Created::AlreadyExists)), "got {again:?}");
    let statuses: Vec<_> = sim
        .calls_to("instance/create")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [Some(201), Some(403)]);
}

#[tokio::test]
async fn create_sends_the_v2_body_with_the_global_key() {
    let (sim, _, _) = with_instance().await;
    let call = sim.calls_to("instance/create").remove(0);
    assert_eq!(call.apikey.as_deref(), Some(sim.api_key()));
    assert_eq!(call.body["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(call.body["qrcode"], true);
    assert_eq!(call.body["webhook"]["byEvents"], false);
    assert_eq!(call.body["webhook"]["base64"], false);
}

#[tokio::test]
async fn create_stores_the_webhook_with_its_secret_header_and_the_eleven_events() {
    let (sim, _, name) = with_instance().await;
    let row = sim
        .instance(name.as_str())
        .and_then(|i| i.webhook)
        .expect("a webhook row");
    assert_eq!(row["url"], HOOK_URL);
    assert_eq!(row["enabled"], true);
    assert_eq!(row["headers"], json!({ "x-webhook-secret": SECRET }));
    assert_eq!(row["events"], json!(WEBHOOK_EVENTS));
    assert_eq!(row["webhookByEvents"], false);
}

#[tokio::test]
async fn evosim_delivers_webhooks_carrying_the_secret_header() {
    let sim = sim().await;
    let (url, seen) = receiver().await;
    client(&sim)
        .create_instance(&user(1), &target(&url))
        .await
        .expect("create succeeds");
    let done = sim
        .wait_for_deliveries("qrcode.updated", 1, WAIT)
        .await
        .expect("delivered in time");
    assert_eq!(done[0].outcome, Outcome::Delivered);
    assert_eq!(
        done[0].headers.get("x-webhook-secret").map(String::as_str),
        Some(SECRET)
    );
    let seen = seen.lock().expect("lock").clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s == SECRET),
        "receiver saw {seen:?}"
    );
}

#[tokio::test]
async fn set_webhook_replaces_the_url_and_secret() {
    let (sim, evo, name) = with_instance().await;
    let moved = WebhookTarget {
        url: "https://moved.example/api/webhook/evolution".into(),
        secret: "rotated-secret".into(),
        events: WEBHOOK_EVENTS.to_vec(),
    };
    evo.set_webhook(&name, &moved).await.expect("set succeeds");
    let row = sim
        .instance(name.as_str())
        .and_then(|i| i.webhook)
        .expect("a webhook row");
    assert_eq!(row["url"], moved.url);
    assert_eq!(row["headers"]["x-webhook-secret"], "rotated-secret");
    assert_eq!(row["events"], json!(WEBHOOK_EVENTS));
    assert_eq!(
        sim.calls_to("webhook/set")[0].body["webhook"]["enabled"],
        true
    );
}

// ---- connection ----

#[tokio::test]
async fn connect_while_connecting_answers_the_current_qr() {
    let (_sim, evo, name) = with_instance().await;
    let got = evo.connect(&name).await;
    assert!(
        matches!(&got, Ok(Connect::Qr(qr)) if qr.base64.starts_with("data:image/png")),
        "got {got:?}"
    );
}

#[tokio::test]
async fn connect_after_the_qr_is_scanned_answers_open() {
    let (_sim, evo, name) = with_open_instance().await;
    let got = evo.connect(&name).await;
    assert!(matches!(got, Ok(Connect::Open)), "got {got:?}");
}

#[tokio::test]
async fn connect_before_any_qr_exists_answers_not_ready() {
    let config = SimConfig {
        qr_delay: None,
        ..SimConfig::fast()
    };
    let sim = EvoSim::spawn(config).await.expect("evosim starts");
    let evo = client(&sim);
    let created = evo.create_instance(&user(1), &target(HOOK_URL)).await;
    assert!(
        matches!(created, Ok(Created::New { qr: None })),
        "got {created:?}"
    );
    let got = evo.connect(&user(1)).await;
    assert!(matches!(got, Ok(Connect::NotReady)), "got {got:?}");
}

#[tokio::test]
async fn connection_state_follows_the_phone() {
    let (sim, evo, name) = with_instance().await;
    let state = evo.connection_state(&name).await.expect("state");
    assert_eq!(state, RemoteState::Connecting, "after create");
    sim.scan_qr(name.as_str(), Scan::default()).expect("scan");
    let state = evo.connection_state(&name).await.expect("state");
    assert_eq!(state, RemoteState::Open, "after the scan");
    evo.logout(&name).await.expect("logout");
    let state = evo.connection_state(&name).await.expect("state");
    assert_eq!(state, RemoteState::Close, "after logout");
}

#[tokio::test]
async fn logging_out_a_closed_instance_is_not_an_error() {
    let (sim, evo, name) = with_open_instance().await;
    evo.logout(&name).await.expect("the first logout");
    evo.logout(&name).await.expect("the second logout");
    let statuses: Vec<_> = sim
        .calls_to("instance/logout")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        [Some(200), Some(400)],
        "Evolution said 'not connected'"
    );
}

#[tokio::test]
async fn a_deleted_instance_is_unknown_afterwards() {
    let (sim, evo, name) = with_open_instance().await;
    evo.delete_instance(&name).await.expect("delete succeeds");
    assert!(sim.instance(name.as_str()).is_none());
    let got = evo.connection_state(&name).await;
    assert!(
        matches!(got, Err(EvolutionError::InstanceNotFound)),
        "got {got:?}"
    );
}

// ---- reads ----

#[tokio::test]
async fn find_messages_pages_one_chat_newest_first() {
    let (sim, evo, name) = with_open_instance().await;
    seed(&sim, &name, 0, 2, 100);
    let jid = seeded_jid(1);
    let first = evo.find_messages(&name, &jid, 1, 30).await.expect("page 1");
    assert_eq!(first.total, 100, "only chat 1 counts");
    let ids: Vec<_> = first.records.iter().map(key_id).collect();
    let newest: Vec<_> = (71..=100).rev().map(|m| seeded_key_id(1, m)).collect();
    assert_eq!(ids, newest, "the 30 newest, newest first");
    assert!(
        first.raw["messages"]["records"].is_array(),
        "the raw answer is kept"
    );
    let last = evo.find_messages(&name, &jid, 4, 30).await.expect("page 4");
    let ids: Vec<_> = last.records.iter().map(key_id).collect();
    let oldest: Vec<_> = (1..=10).rev().map(|m| seeded_key_id(1, m)).collect();
    assert_eq!(ids, oldest, "the last page holds the 10 oldest");
}

#[tokio::test]
async fn find_chats_lists_every_chat_newest_first() {
    let (sim, evo, name) = with_open_instance().await;
    seed(&sim, &name, 0, 3, 5);
    let chats = evo.find_chats(&name).await.expect("chats");
    let jids: Vec<_> = chats
        .iter()
        .map(|c| c["remoteJid"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(jids, [seeded_jid(3), seeded_jid(2), seeded_jid(1)]);
}

#[tokio::test]
async fn find_contacts_pages_by_page_and_offset() {
    let (sim, evo, name) = with_open_instance().await;
    seed(&sim, &name, 25, 0, 0);
    let mut seen = Vec::new();
    for (page, want) in [(1, 10), (2, 10), (3, 5), (4, 0)] {
        let contacts = evo.find_contacts(&name, page, 10).await.expect("contacts");
        assert_eq!(contacts.len(), want, "page {page}");
        seen.extend(
            contacts
                .iter()
                .map(|c| c["remoteJid"].as_str().unwrap_or_default().to_owned()),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "every contact exactly once");
}

// ---- sending ----

#[tokio::test]
async fn send_text_answers_the_record_with_the_jid_evolution_normalised_to() {
    let (sim, evo, name) = with_open_instance().await;
    let number = "5531988887777";
    let record = evo.send_text(&name, number, "Olá!").await.expect("sent");
    assert!(!key_id(&record).is_empty(), "a WhatsApp id");
    assert_eq!(record["key"]["remoteJid"], create_jid(number));
    assert_ne!(
        record["key"]["remoteJid"],
        format!("{number}@s.whatsapp.net"),
        "the 9th digit goes"
    );
    let call = sim.calls_to("message/sendText").remove(0);
    assert_eq!(
        call.body,
        json!({ "number": number, "text": "Olá!" }),
        "the flat v2 body"
    );
}

#[tokio::test]
async fn sending_to_a_number_not_on_whatsapp_is_not_on_whatsapp() {
    let (sim, evo, name) = with_open_instance().await;
    sim.set_on_whatsapp("5511977776666", false);
    let got = evo.send_text(&name, "5511977776666", "hi").await;
    assert!(
        matches!(got, Err(EvolutionError::NotOnWhatsApp)),
        "got {got:?}"
    );
}

#[tokio::test]
async fn sending_while_not_connected_is_a_transient_rejection() {
    let (_sim, evo, name) = with_instance().await;
    let got = evo.send_text(&name, "5511977776666", "hi").await;
    let Err(e @ EvolutionError::Rejected { status: 500, .. }) = got else {
        panic!("expected a 500 rejection, got {got:?}");
    };
    assert!(e.to_string().contains("Connection Closed"), "got {e}");
    assert!(e.is_transient());
}

// ---- error mapping ----

#[tokio::test]
async fn every_route_on_an_unknown_instance_is_instance_not_found() {
    let sim = sim().await;
    let (evo, name) = (client(&sim), user(404));
    let results = [
        (
            "set_webhook",
            evo.set_webhook(&name, &target(HOOK_URL)).await.err(),
        ),
        ("connect", evo.connect(&name).await.err()),
        ("connection_state", evo.connection_state(&name).await.err()),
        ("logout", evo.logout(&name).await.err()),
        ("delete", evo.delete_instance(&name).await.err()),
        ("find_contacts", evo.find_contacts(&name, 1, 10).await.err()),
        ("find_chats", evo.find_chats(&name).await.err()),
        (
            "find_messages",
            evo.find_messages(&name, "1@s.whatsapp.net", 1, 10)
                .await
                .err(),
        ),
        (
            "send_text",
            evo.send_text(&name, "5511977776666", "hi").await.err(),
        ),
    ];
    for (route, err) in results {
        assert!(
            matches!(err, Some(EvolutionError::InstanceNotFound)),
            "{route}: got {err:?}"
        );
    }
}

#[tokio::test]
async fn evolution_errors_are_rejected_and_only_5xx_and_429_are_transient() {
    let (sim, evo, name) = with_instance().await;
    for (status, transient) in [(500, true), (503, true), (429, true), (403, false)] {
        sim.fail_next(Some("instance/connectionState"), 1, status);
        let err = evo
            .connection_state(&name)
            .await
            .expect_err("the fault answers");
        assert!(
            matches!(err, EvolutionError::Rejected { status: s, .. } if s == status),
            "case {status}: got {err:?}"
        );
        assert_eq!(err.is_transient(), transient, "case {status}");
    }
    assert!(
        evo.connection_state(&name).await.is_ok(),
        "faults are used up"
    );
}

#[tokio::test]
async fn a_proxy_answering_for_a_dead_evolution_is_unavailable() {
    let (sim, evo, name) = with_instance().await;
    sim.set_down(DownMode::Unavailable);
    let err = evo.connection_state(&name).await.expect_err("down");
    assert!(matches!(err, EvolutionError::Unavailable(_)), "got {err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let sim = sim().await;
    sim.set_down(DownMode::Refuse);
    // The port closes asynchronously; a plain connect tells when it has.
    sim.wait_for(WAIT, |s| {
        std::net::TcpStream::connect(s.addr())
            .is_err()
            .then_some(())
    })
    .await
    .expect("the port closes");
    let err = client(&sim)
        .connection_state(&user(1))
        .await
        .expect_err("refused");
    assert!(matches!(err, EvolutionError::Unavailable(_)), "got {err:?}");
    assert!(err.is_transient());
    let chain = format!("{:#}", anyhow::Error::new(err));
    assert!(chain.contains("could not connect"), "got {chain}");
}

#[tokio::test]
async fn a_call_slower_than_the_client_timeout_is_unavailable() {
    let (sim, _, name) = with_instance().await;
    sim.add_latency(Some("instance/connectionState"), Duration::from_secs(5));
    let short = Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(200),
    };
    let err = client_with(&sim, sim.api_key(), short)
        .connection_state(&name)
        .await
        .expect_err("times out");
    assert!(matches!(err, EvolutionError::Unavailable(_)), "got {err:?}");
    assert!(format!("{:#}", anyhow::Error::new(err)).contains("timed out"));
}

#[tokio::test]
async fn a_wrong_api_key_is_a_permanent_401_rejection() {
    let (sim, _, name) = with_instance().await;
    let wrong = client_with(&sim, "not-the-key", Timeouts::default());
    let err = wrong
        .connection_state(&name)
        .await
        .expect_err("unauthorized");
    let EvolutionError::Rejected {
        status: 401,
        message,
    } = &err
    else {
        panic!("expected a 401 rejection, got {err:?}");
    };
    assert_eq!(message, "Unauthorized");
    assert!(!err.is_transient());
}

// ---- hostile answers (API.md "Outbound calls") ----

/// A listener elsewhere that records the `apikey` header of every call it gets.
async fn elsewhere() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |headers: http::HeaderMap| {
        let record = Arc::clone(&record);
        async move {
            let key = headers.get("apikey").and_then(|v| v.to_str().ok());
            record.lock().expect("lock").push(key.map(str::to_owned));
            axum::Json(json!({"state": "open"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/stolen"), seen)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_key_goes_nowhere_else() {
    let (sim, evo, name) = with_instance().await;
    let (location, seen) = elsewhere().await;
    sim.redirect_next(Some("instance/connectionState"), &location);
    let err = evo
        .connection_state(&name)
        .await
        .expect_err("a redirect is an error");
    assert!(
        matches!(err, EvolutionError::Rejected { status: 302, .. }),
        "got {err:?}"
    );
    let api: nolose_shared::ApiError = err.into();
    assert_eq!(api.status().as_u16(), 502, "an upstream error");
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the redirect target received nothing (no apikey either)"
    );
}

#[tokio::test]
async fn an_answer_over_sixteen_mib_is_refused_without_buffering_it() {
    use nolose_shared::evolution::client::MAX_ANSWER_BYTES;
    let (sim, evo, name) = with_instance().await;
    let over = u64::try_from(MAX_ANSWER_BYTES).expect("fits") + 1;
    sim.oversize_next(Some("chat/findChats"), over);
    let err = evo.find_chats(&name).await.expect_err("too big");
    assert!(
        matches!(&err, EvolutionError::Unexpected(m) if m.contains("larger than")),
        "got {err:?}"
    );
    assert!(!err.is_transient(), "a bigger answer will not shrink");
    let api: nolose_shared::ApiError = err.into();
    assert_eq!(api.status().as_u16(), 502, "an upstream error");
}

#[tokio::test]
async fn an_answer_of_exactly_sixteen_mib_is_read() {
    use nolose_shared::evolution::client::MAX_ANSWER_BYTES;
    let (sim, evo, name) = with_instance().await;
    let exact = u64::try_from(MAX_ANSWER_BYTES).expect("fits");
    sim.oversize_next(Some("chat/findChats"), exact);
    let err = evo
        .find_chats(&name)
        .await
        .expect_err("a JSON string is not the chat array");
    assert!(
        matches!(&err, EvolutionError::Unexpected(m) if !m.contains("larger than")),
        "read whole, then refused for its shape: {err:?}"
    );
}
