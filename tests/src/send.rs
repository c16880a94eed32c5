//! Sending for black-box tests: the send request as a client makes it, the
//! stored thread of a contact with its statuses, the send router on a state
//! of the test's choosing (called with `oneshot`), and an Evolution that
//! delivers the `send.message` echo to the app before it answers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use nolose_evosim::Outcome;
use nolose_shared::AppState;
use nolose_shared::domain::InstanceName;
use nolose_shared::evolution::gateway::{
    Connect, Created, MessagesPage, RemoteState, WebhookTarget,
};
use nolose_shared::evolution::{Evolution, EvolutionResult};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::call;
use crate::wa::{PATIENCE, Tenant, WaApp};

pub const SEND: &str = "/api/evolution/send/text";

/// A connected tenant whose webhooks have all landed: evosim delivers them
/// unordered, so a `qrcode.updated` from the create may otherwise land after
/// the scan and turn the stored status back to `qr` mid-test.
pub async fn settled_tenant(wa: &WaApp, email: &str) -> Tenant {
    let tenant = wa.connected_tenant(email).await;
    wa.sim
        .wait_for(PATIENCE, |sim| {
            let deliveries = sim.deliveries();
            deliveries
                .iter()
                .all(|d| d.outcome != Outcome::Pending)
                .then_some(())
        })
        .await
        .expect("the webhooks settle");
    wa.wait_for_status(&tenant, "connected").await;
    tenant
}

/// A send through the app's HTTP server, with an `Idempotency-Key` if given.
pub async fn send(
    wa: &WaApp,
    tenant: &Tenant,
    body: &Value,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = wa
        .app
        .request(Method::POST, SEND)
        .bearer_auth(&tenant.token)
        .json(body);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    call(req).await
}

/// The same request through `router` in-process.
pub async fn send_oneshot(
    router: Router,
    tenant: &Tenant,
    body: &Value,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = http::Request::post(SEND)
        .header("authorization", format!("Bearer {}", tenant.token))
        .header("content-type", "application/json");
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let req = req.body(Body::from(body.to_string())).expect("request");
    let res = router.oneshot(req).await.expect("infallible");
    let status = StatusCode::from_u16(res.status().as_u16()).expect("status");
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// The send function's routes, behind the common layers, on `state`.
pub fn send_router(state: AppState, patience: nolose_send::Patience) -> Router {
    nolose_shared::http::app(nolose_send::routes_with(patience), state)
}

/// Every stored message of the tenant with its status, and its contact.
pub async fn thread(wa: &WaApp, tenant: &Tenant) -> Vec<(Value, Value)> {
    let (status, contacts) = wa.get(&tenant.token, "/api/evolution/contacts").await;
    assert_eq!(status, StatusCode::OK, "contacts: {contacts}");
    let mut out = Vec::new();
    for contact in contacts["contacts"].as_array().cloned().unwrap_or_default() {
        let path = format!("/api/evolution/messages/{}", contact["id"]);
        let (status, page) = wa.get(&tenant.token, &path).await;
        assert_eq!(status, StatusCode::OK, "messages: {page}");
        for message in page["messages"].as_array().cloned().unwrap_or_default() {
            out.push((message, page["contact"].clone()));
        }
    }
    out
}

/// The stored message whose WhatsApp id is `message_id`, once its status is
/// `want` (panics at the deadline with what was there).
pub async fn wait_for_message(wa: &WaApp, tenant: &Tenant, message_id: &str, want: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let ids = wa.messages(tenant).await;
        let row = ids.iter().find(|m| m["wa_message_id"] == message_id);
        let thread = thread(wa, tenant).await;
        let found = row.and_then(|r| thread.iter().find(|(m, _)| m["id"] == r["id"]));
        if let Some((message, _)) = found.filter(|(m, _)| m["status"] == want) {
            return message.clone();
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("message {message_id} never became {want}: {found:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Evolution as `inner`, except that `sendText` first delivers its
/// `send.message` echo to the app (and waits for the app to store it), so
/// the echo is sure to come before the answer.
pub struct EchoFirst {
    pub inner: Arc<dyn Evolution>,
    pub webhook_url: String,
    pub secret: String,
}

#[async_trait]
impl Evolution for EchoFirst {
    async fn create_instance(
        &self,
        n: &InstanceName,
        w: &WebhookTarget,
    ) -> EvolutionResult<Created> {
        self.inner.create_instance(n, w).await
    }
    async fn set_webhook(&self, n: &InstanceName, w: &WebhookTarget) -> EvolutionResult<()> {
        self.inner.set_webhook(n, w).await
    }
    async fn connect(&self, n: &InstanceName) -> EvolutionResult<Connect> {
        self.inner.connect(n).await
    }
    async fn connection_state(&self, n: &InstanceName) -> EvolutionResult<RemoteState> {
        self.inner.connection_state(n).await
    }
    async fn logout(&self, n: &InstanceName) -> EvolutionResult<()> {
        self.inner.logout(n).await
    }
    async fn delete_instance(&self, n: &InstanceName) -> EvolutionResult<()> {
        self.inner.delete_instance(n).await
    }
    async fn find_contacts(&self, n: &InstanceName, p: u32, s: u32) -> EvolutionResult<Vec<Value>> {
        self.inner.find_contacts(n, p, s).await
    }
    async fn find_chats(&self, n: &InstanceName) -> EvolutionResult<Vec<Value>> {
        self.inner.find_chats(n).await
    }
    async fn find_messages(
        &self,
        n: &InstanceName,
        jid: &str,
        p: u32,
        s: u32,
    ) -> EvolutionResult<MessagesPage> {
        self.inner.find_messages(n, jid, p, s).await
    }
    async fn send_text(
        &self,
        n: &InstanceName,
        number: &str,
        text: &str,
    ) -> EvolutionResult<Value> {
        let record = self.inner.send_text(n, number, text).await?;
        let echo = json!({
            "event": "send.message", "instance": n.as_str(), "data": record,
            "date_time": "2026-11-29T10:00:00.000Z", "server_url": "http://127.0.0.1", "apikey": null
        });
        let res = reqwest::Client::new()
            .post(&self.webhook_url)
            .header("x-webhook-secret", &self.secret)
            .json(&echo)
            .send()
            .await
            .expect("the echo reaches the app");
        assert_eq!(res.status(), StatusCode::OK, "the echo is stored");
        Ok(record)
    }
}
