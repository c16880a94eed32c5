//! The WhatsApp side for black-box tests: the real app on PostgreSQL, wired
//! to an `evosim` over real HTTP in both directions (our calls to Evolution,
//! Evolution's webhooks to us), and tenants that are registered, created
//! and — when asked — connected by a simulated QR scan.

use std::time::Duration;

use nolose_evosim::{EvoSim, RetryPolicy, Scan, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::app::{Setup, TestApp, call};

/// How long a test waits for something asynchronous (a webhook) to land.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct WaApp {
    pub app: TestApp,
    pub sim: EvoSim,
}

/// A registered user with a bearer token.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub token: String,
    pub user_id: i64,
    /// `user_<id>`: the Evolution instance name.
    pub instance: String,
}

impl WaApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(SimConfig::fast(), None).await
    }

    /// With Evolution's retries spread over a few seconds instead of
    /// milliseconds, so that they outlast a short store outage.
    pub fn patient_retries() -> SimConfig {
        let mut config = SimConfig::fast();
        config.retry = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..config.retry
        };
        config
    }

    pub async fn spawn_with(sim: SimConfig, webhook_secret: Option<&str>) -> Self {
        let sim = EvoSim::spawn(sim).await.expect("evosim starts");
        let app = TestApp::spawn_with(Setup {
            evolution: Some((sim.base_url().to_owned(), sim.api_key().to_owned())),
            webhook_secret: webhook_secret.map(str::to_owned),
        })
        .await;
        Self { app, sim }
    }

    /// A new user (not yet connected to WhatsApp).
    pub async fn tenant(&self, email: &str) -> Tenant {
        let token = self.app.user_token(email).await;
        let (status, me) = self.get(&token, "/api/auth/me").await;
        assert_eq!(status, StatusCode::OK, "me: {me}");
        let user_id = me["id"].as_i64().expect("user id");
        Tenant {
            token,
            user_id,
            instance: format!("user_{user_id}"),
        }
    }

    /// A user whose instance exists (QR shown), not yet scanned.
    pub async fn created_tenant(&self, email: &str) -> Tenant {
        let tenant = self.tenant(email).await;
        let (status, body) = self
            .send(&tenant, Method::POST, "/api/evolution/instance/create")
            .await;
        assert_eq!(status, StatusCode::OK, "create: {body}");
        tenant
    }

    /// A user whose phone scanned the QR: `connected` as the app sees it.
    pub async fn connected_tenant(&self, email: &str) -> Tenant {
        let tenant = self.created_tenant(email).await;
        let scan = Scan {
            wuid: Some("5511999990000".into()),
            profile_name: Some("Ana".into()),
            ..Default::default()
        };
        self.sim.scan_qr(&tenant.instance, scan).expect("scan");
        // `connected` can come from reconciliation first; the phone number
        // only from the `open` webhook, which is what a test must not race.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.wait_for_status(&tenant, "connected").await["phone_number"].is_null() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the open webhook never arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tenant
    }

    /// Polls the instance status until it is `want` (or panics at the deadline).
    pub async fn wait_for_status(&self, tenant: &Tenant, want: &str) -> Value {
        let mut last = Value::Null;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            let (_, body) = self
                .get(&tenant.token, "/api/evolution/instance/status")
                .await;
            if body["status"] == want {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("instance never became {want}; last status: {last}")
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        call(self.app.request(Method::GET, path).bearer_auth(token)).await
    }

    /// A body-less request, as the frontend sends it (JSON content type, empty body).
    pub async fn send(&self, tenant: &Tenant, method: Method, path: &str) -> (StatusCode, Value) {
        call(
            self.app
                .request(method, path)
                .bearer_auth(&tenant.token)
                .header("content-type", "application/json"),
        )
        .await
    }

    /// The tenant's messages as `GET /api/messages` lists them (newest first).
    pub async fn messages(&self, tenant: &Tenant) -> Vec<Value> {
        let (status, body) = self.get(&tenant.token, "/api/messages?limit=500").await;
        assert_eq!(status, StatusCode::OK, "messages: {body}");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Polls until the tenant has `n` messages; returns them.
    pub async fn wait_for_messages(&self, tenant: &Tenant, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let messages = self.messages(tenant).await;
            if messages.len() >= n || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts a webhook body as Evolution would, with the given secret header.
    pub async fn post_webhook(
        &self,
        body: &Value,
        secret: Option<&str>,
        query: &str,
    ) -> (StatusCode, Value) {
        let mut req = self
            .app
            .request(Method::POST, &format!("/api/webhook/evolution{query}"))
            .json(body);
        if let Some(secret) = secret {
            req = req.header("x-webhook-secret", secret);
        }
        call(req).await
    }

    /// The secret Evolution was configured to send for this tenant.
    pub fn webhook_secret(&self, tenant: &Tenant) -> String {
        let info = self
            .sim
            .instance(&tenant.instance)
            .expect("instance exists at evosim");
        let webhook = info.webhook.expect("webhook configured");
        webhook["headers"]["x-webhook-secret"]
            .as_str()
            .expect("x-webhook-secret header")
            .to_owned()
    }
}
