//! Sending in Lambda mode: function-URL events (`send_text.json`) through
//! the real `send` handler, with idempotency keys on DynamoDB (moto) and
//! evosim over HTTP.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use nolose_evosim::{EvoSim, SimConfig};
use nolose_send::Patience;
use nolose_send::request::{SendText, SendTextBody};
use nolose_shared::AppState;
use nolose_shared::domain::UserId;
use nolose_shared::store::{Fingerprint, IdempotencyKey, Reservation, Store};
use nolose_tests::app::{Setup, config_with};
use nolose_tests::lambda::{Invocation, fixture, invoke};
use serde_json::json;

struct Lambdas {
    state: AppState,
    store: Arc<dyn Store>,
    sim: EvoSim,
}

/// One fresh table and an evosim; each function's router is built from the
/// state as its Lambda would build it.
async fn lambdas() -> Lambdas {
    let sim = EvoSim::spawn(SimConfig::fast()).await.expect("evosim");
    let store = nolose_tests::dynamo::fresh_store().await;
    let setup = Setup {
        evolution: Some((sim.base_url().to_owned(), sim.api_key().to_owned())),
        webhook_secret: None,
    };
    // Nothing listens at PUBLIC_URL: Evolution's echoes go nowhere.
    let state = AppState::new(
        config_with(&setup, "http://127.0.0.1:9"),
        Arc::clone(&store),
    )
    .expect("state");
    Lambdas { state, store, sim }
}

impl Lambdas {
    /// Registers and logs in the fixtures' user: its token and id.
    async fn user(&self) -> (String, UserId) {
        let auth = nolose_auth::router(self.state.clone());
        let reg = invoke(auth.clone(), &fixture("auth_register.json", &[])).await;
        assert_eq!(reg.status, 201, "register: {:?}", reg.body);
        let login = invoke(auth.clone(), &fixture("auth_login.json", &[])).await;
        let token = login.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let me = invoke(auth, &fixture("auth_me.json", &[("token", &token)])).await;
        (token, UserId::new(me.body["id"].as_i64().expect("id")))
    }

    async fn send(&self, patience: Patience, token: &str, key: &str, text: &str) -> Invocation {
        let router =
            nolose_shared::http::app(nolose_send::routes_with(patience), self.state.clone());
        let vars = [
            ("token", token),
            ("key", key),
            ("phone", "+55 11 98888-7777"),
            ("text", text),
        ];
        invoke(router, &fixture("send_text.json", &vars)).await
    }

    fn sends(&self) -> usize {
        self.sim.calls_to("message/sendText").len()
    }
}

/// The fingerprint the handler computes for the fixture's body.
fn fingerprint(text: &str) -> Fingerprint {
    let body = SendTextBody {
        phone_number: "+55 11 98888-7777".into(),
        text: text.into(),
        client_message_id: None,
    };
    SendText::parse(&HeaderMap::new(), body)
        .expect("valid")
        .fingerprint()
}

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).expect("key")
}

#[tokio::test]
async fn an_invalid_send_is_refused_at_the_edge() {
    let l = lambdas().await;
    let (token, _) = l.user().await;
    let out = l.send(Patience::default(), &token, "k", "   ").await;
    assert_eq!(
        (out.status, &out.body["code"]),
        (422, &json!("invalid_text")),
        "{:?}",
        out.body
    );
    assert_eq!(l.sends(), 0);
}

#[tokio::test]
async fn a_completed_key_replays_and_another_body_is_refused_on_dynamodb() {
    let l = lambdas().await;
    let (token, user) = l.user().await;
    let now = l.state.clock.now();
    let found = l
        .store
        .reserve_idempotency_key(user, &key("order-9"), &fingerprint("Hi"), now)
        .await
        .expect("reserve");
    let Reservation::Reserved(lease) = found else {
        panic!("{found:?}")
    };
    let first = json!({"success": true, "message_id": "3EB0FIRST"});
    l.store
        .complete_idempotency_key(user, &key("order-9"), &lease, &first, now)
        .await
        .expect("complete");

    let replay = l.send(Patience::default(), &token, "order-9", " Hi ").await;
    assert_eq!(
        (replay.status, &replay.body),
        (200, &first),
        "the first answer, as stored"
    );
    let reused = l.send(Patience::default(), &token, "order-9", "Bye").await;
    assert_eq!(
        (reused.status, &reused.body["code"]),
        (409, &json!("idempotency_key_reused")),
        "{:?}",
        reused.body
    );
    assert_eq!(l.sends(), 0, "nothing was sent");
}

#[tokio::test]
async fn a_key_held_by_a_running_request_is_409_request_in_progress() {
    let l = lambdas().await;
    let (token, user) = l.user().await;
    l.store
        .reserve_idempotency_key(user, &key("busy"), &fingerprint("Hi"), l.state.clock.now())
        .await
        .expect("reserve");

    let out = l
        .send(Patience(Duration::from_millis(150)), &token, "busy", "Hi")
        .await;

    assert_eq!(
        (out.status, &out.body["code"]),
        (409, &json!("request_in_progress")),
        "{:?}",
        out.body
    );
    assert_eq!(l.sends(), 0);
}

/// Needs the DynamoDB adapter of instances, contacts and messages.
#[tokio::test]
async fn a_text_is_sent_once_per_key_and_stored_as_sent() {
    let l = lambdas().await;
    let (token, _) = l.user().await;
    let instance = nolose_instance::router(l.state.clone());
    let refused = l.send(Patience::default(), &token, "k1", "Hi").await;
    assert_eq!(
        (refused.status, &refused.body["code"]),
        (409, &json!("not_connected")),
        "{:?}",
        refused.body
    );
    let created = invoke(
        instance.clone(),
        &fixture("instance_create.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(created.status, 200, "create: {:?}", created.body);
    let name = created.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    l.sim.scan_qr(&name, Default::default()).expect("scan");
    let status = invoke(
        instance,
        &fixture("instance_status.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(status.body["status"], "connected", "{:?}", status.body);

    let first = l.send(Patience::default(), &token, "k1", "Hi").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let again = l.send(Patience::default(), &token, "k1", "Hi").await;
    assert_eq!((again.status, &again.body), (200, &first.body), "replayed");
    assert_eq!(l.sends(), 1, "sent once");

    let sync = nolose_sync::router(l.state.clone());
    let contacts = invoke(
        sync.clone(),
        &fixture("sync_contacts.json", &[("token", &token)]),
    )
    .await;
    let contact_id = contacts.body["contacts"][0]["id"].to_string();
    let vars = [
        ("token", token.as_str()),
        ("contact_id", contact_id.as_str()),
    ];
    let thread = invoke(sync, &fixture("sync_contact_messages.json", &vars)).await;
    let messages = thread.body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 1, "{:?}", thread.body);
    assert_eq!(
        (&messages[0]["status"], &messages[0]["is_outbound"]),
        (&json!("sent"), &json!(true))
    );
}
