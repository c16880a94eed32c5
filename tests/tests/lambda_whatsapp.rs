//! Connecting WhatsApp and receiving messages in Lambda mode: function-URL
//! events (fixtures in `tests/fixtures/lambda`) through the real `instance`,
//! `webhook` and `sync` handlers, against DynamoDB on moto and evosim over
//! HTTP.

use std::sync::Arc;

use nolose_evosim::{EvoSim, SimConfig};
use nolose_shared::AppState;
use nolose_tests::app::{Setup, config_with};
use nolose_tests::lambda::{fixture, invoke};

struct Lambdas {
    auth: axum::Router,
    instance: axum::Router,
    webhook: axum::Router,
    sync: axum::Router,
    sim: EvoSim,
}

/// Each function's router on one fresh table, as each Lambda would build it.
async fn lambdas() -> Lambdas {
    let sim = EvoSim::spawn(SimConfig::fast()).await.expect("evosim");
    let store = nolose_tests::dynamo::fresh_store().await;
    let setup = Setup {
        evolution: Some((sim.base_url().to_owned(), sim.api_key().to_owned())),
        webhook_secret: None,
    };
    // Nothing listens at PUBLIC_URL: the test plays Evolution's webhooks itself.
    let state = || {
        AppState::new(
            config_with(&setup, "http://127.0.0.1:9"),
            Arc::clone(&store),
        )
        .expect("state")
    };
    Lambdas {
        auth: nolose_auth::router(state()),
        instance: nolose_instance::router(state()),
        webhook: nolose_webhook::router(state()),
        sync: nolose_sync::router(state()),
        sim,
    }
}

async fn token(l: &Lambdas) -> String {
    let reg = invoke(l.auth.clone(), &fixture("auth_register.json", &[])).await;
    assert_eq!(reg.status, 201, "register: {:?}", reg.body);
    let login = invoke(l.auth.clone(), &fixture("auth_login.json", &[])).await;
    login.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

#[tokio::test]
async fn create_then_webhooks_then_reads_work_through_function_url_events() {
    let l = lambdas().await;
    let token = token(&l).await;

    let created = invoke(
        l.instance.clone(),
        &fixture("instance_create.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(created.status, 200, "create: {:?}", created.body);
    assert_eq!(created.body["status"], "qr");
    let instance = created.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    let secret = l
        .sim
        .instance(&instance)
        .expect("at evosim")
        .webhook
        .expect("webhook")["headers"]["x-webhook-secret"]
        .as_str()
        .expect("secret")
        .to_owned();

    let vars = [
        ("instance", instance.as_str()),
        ("secret", secret.as_str()),
        ("key_id", "3A0000LAMBDA01"),
    ];
    let first = invoke(
        l.webhook.clone(),
        &fixture("webhook_messages_upsert.json", &vars),
    )
    .await;
    assert_eq!(
        (first.status, &first.body["status"]),
        (200, &"ok".into()),
        "upsert: {:?}",
        first.body
    );
    let again = invoke(
        l.webhook.clone(),
        &fixture("webhook_messages_upsert.json", &vars),
    )
    .await;
    assert_eq!(
        again.status, 200,
        "a duplicate is acknowledged: {:?}",
        again.body
    );
    let wrong = [
        ("instance", instance.as_str()),
        ("secret", "wrong"),
        ("key_id", "3A0000LAMBDA02"),
    ];
    let rejected = invoke(
        l.webhook.clone(),
        &fixture("webhook_messages_upsert.json", &wrong),
    )
    .await;
    assert_eq!(rejected.status, 401, "a wrong secret: {:?}", rejected.body);

    let read = [
        ("instance", instance.as_str()),
        ("secret", secret.as_str()),
        ("key_id", "3A0000LAMBDA01"),
        ("status", "READ"),
    ];
    let update = invoke(
        l.webhook.clone(),
        &fixture("webhook_messages_update.json", &read),
    )
    .await;
    assert_eq!(update.status, 200, "status update: {:?}", update.body);

    let contacts = invoke(
        l.sync.clone(),
        &fixture("sync_contacts.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(
        (contacts.status, &contacts.body["total"]),
        (200, &1.into()),
        "contacts: {:?}",
        contacts.body
    );
    let contact_id = contacts.body["contacts"][0]["id"].to_string();
    let thread = invoke(
        l.sync.clone(),
        &fixture(
            "sync_contact_messages.json",
            &[("token", &token), ("contact_id", &contact_id)],
        ),
    )
    .await;
    assert_eq!(thread.status, 200, "messages: {:?}", thread.body);
    let messages = thread.body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "stored once: {messages:?}");
    assert_eq!(
        (&messages[0]["content"], &messages[0]["status"]),
        (&"Olá from Lambda".into(), &"read".into())
    );
    assert_eq!(thread.body["contact"]["profile_name"], "Maria");
}

#[tokio::test]
async fn status_reconciles_with_evolution_in_lambda_mode_too() {
    let l = lambdas().await;
    let token = token(&l).await;
    let before = invoke(
        l.instance.clone(),
        &fixture("instance_status.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(
        (before.status, &before.body["status"]),
        (200, &"disconnected".into()),
        "{:?}",
        before.body
    );
    invoke(
        l.instance.clone(),
        &fixture("instance_create.json", &[("token", &token)]),
    )
    .await;
    let instance = before.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    l.sim.scan_qr(&instance, Default::default()).expect("scan");
    let after = invoke(
        l.instance.clone(),
        &fixture("instance_status.json", &[("token", &token)]),
    )
    .await;
    assert_eq!(
        after.body["status"], "connected",
        "connectionState says open: {:?}",
        after.body
    );
}

/// Creates the instance and returns its name and webhook secret.
async fn created_instance(l: &Lambdas, token: &str) -> (String, String) {
    let created = invoke(
        l.instance.clone(),
        &fixture("instance_create.json", &[("token", token)]),
    )
    .await;
    assert_eq!(created.status, 200, "create: {:?}", created.body);
    let instance = created.body["instance_name"]
        .as_str()
        .expect("name")
        .to_owned();
    let info = l.sim.instance(&instance).expect("at evosim");
    let secret = info.webhook.expect("webhook")["headers"]["x-webhook-secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    (instance, secret)
}

/// The upsert fixture with its text replaced by `text`.
fn upsert_with_text(vars: &[(&str, &str)], text: &str) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("webhook_messages_upsert.json", vars)).expect("event");
    let mut body: serde_json::Value =
        serde_json::from_str(event["body"].as_str().expect("body")).expect("body json");
    body["data"]["message"]["conversation"] = text.into();
    event["body"] = body.to_string().into();
    event.to_string()
}

#[tokio::test]
async fn input_beyond_dynamodb_limits_is_skipped_or_cut_never_a_5xx() {
    let l = lambdas().await;
    let token = token(&l).await;
    let (instance, secret) = created_instance(&l, &token).await;
    let long_id = "K".repeat(2_000);
    let vars = [("instance", instance.as_str()), ("secret", secret.as_str())];
    let mut with_long_id = vars.to_vec();
    with_long_id.push(("key_id", &long_id));
    let event = fixture("webhook_messages_upsert.json", &with_long_id);
    let skipped = invoke(l.webhook.clone(), &event).await;
    assert_eq!(
        (skipped.status, &skipped.body["status"]),
        (200, &"ignored".into()),
        "a 2,000-character key id: {:?}",
        skipped.body
    );
    let mut v = vars.to_vec();
    v.push(("key_id", "3A0000LAMBDALONG"));
    let long = invoke(
        l.webhook.clone(),
        &upsert_with_text(&v, &"a".repeat(200_000)),
    )
    .await;
    assert_eq!(
        long.status, 200,
        "a 200,000-character text: {:?}",
        long.body
    );

    let contacts = invoke(
        l.sync.clone(),
        &fixture("sync_contacts.json", &[("token", &token)]),
    )
    .await;
    let contact_id = contacts.body["contacts"][0]["id"].to_string();
    let thread = invoke(
        l.sync.clone(),
        &fixture(
            "sync_contact_messages.json",
            &[("token", &token), ("contact_id", &contact_id)],
        ),
    )
    .await;
    let messages = thread.body["messages"].as_array().expect("messages");
    assert_eq!(
        messages.len(),
        1,
        "only the long text is stored: {:?}",
        thread.body["total"]
    );
    let content = messages[0]["content"].as_str().expect("content");
    assert_eq!(content.chars().count(), 65_536, "stored cut at 65,536");
}
