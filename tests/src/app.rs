//! The real `nolose` app on a free port against a fresh database, and a
//! small client for it. Tests talk to it over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use nolose_jobs::local::WorkerConfig;
use nolose_local::worker::WorkerHandle;
use nolose_shared::AppState;
use nolose_shared::config::{Config, LocalConfig};
use nolose_shared::store::postgres::PgStore;
use nolose_shared::time::{Clock, ManualClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::pg::TestDb;

pub const SECRET_KEY: &str = "test-secret-key-of-at-least-32-bytes!!";

pub fn test_config() -> Config {
    config_with(&Setup::default(), "http://127.0.0.1:8000")
}

/// What a test app talks to besides its database.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Evolution's base URL and global key (an `evosim`); none: nothing listens.
    pub evolution: Option<(String, String)>,
    /// The global `WEBHOOK_SECRET` (`?token=`).
    pub webhook_secret: Option<String>,
}

/// The configuration of a test app serving at `public_url`.
pub fn config_with(setup: &Setup, public_url: &str) -> Config {
    let (evolution_url, evolution_key) = setup
        .evolution
        .clone()
        .unwrap_or_else(|| ("http://127.0.0.1:9".into(), "none".into()));
    Config::from_lookup(|name| match name {
        "SECRET_KEY" => Some(SECRET_KEY.into()),
        "EVOLUTION_API_URL" => Some(evolution_url.clone()),
        "EVOLUTION_API_KEY" => Some(evolution_key.clone()),
        "PUBLIC_URL" => Some(public_url.to_owned()),
        "WEBHOOK_SECRET" => setup.webhook_secret.clone(),
        _ => None,
    })
    .expect("test config")
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub store: PgStore,
    pub clock: Arc<ManualClock>,
    stop: Option<oneshot::Sender<()>>,
    /// The in-process sync worker (take it to stop or crash it).
    pub worker: Option<WorkerHandle>,
    pub db: TestDb,
}

/// The sync worker with test timings: retries milliseconds apart, a dead
/// worker's jobs handed on after about two seconds, and a worker that ended
/// replaced within half a second.
pub fn test_worker_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 8,
        attempts: 4,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        heartbeat: Duration::from_secs(1),
        missed_heartbeats: 2,
        stall_after: Duration::from_secs(10),
        restart_backoff: Duration::from_millis(50),
        max_restart_backoff: Duration::from_millis(500),
    }
}

impl TestApp {
    /// Spawns the app with a manual clock starting now.
    pub async fn spawn() -> Self {
        Self::spawn_with(Setup::default()).await
    }

    /// Spawns the app on a free port (its `PUBLIC_URL`, so Evolution's
    /// webhooks reach it) against a fresh database.
    pub async fn spawn_with(setup: Setup) -> Self {
        let db = TestDb::create().await;
        let local = LocalConfig::from_lookup(|n| (n == "DATABASE_URL").then(|| db.url.clone()))
            .expect("local config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = nolose_local::build_app(config_with(&setup, &base), &local)
            .await
            .expect("build app");
        let worker = app.start_worker(&app.state, test_worker_config());
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let state = app.state.with_clock(Arc::clone(&clock) as Arc<dyn Clock>);
        let router = nolose_local::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(nolose_local::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder().build().expect("client");
        let app = Self {
            base,
            http,
            state,
            store: app.store,
            clock,
            stop: Some(stop),
            worker: Some(worker),
            db,
        };
        app.wait_until_ready().await;
        app
    }

    /// Polls `/api/health/ready` until it answers 200 (the sync worker has
    /// registered); returns the last answer's checks.
    pub async fn wait_until_ready(&self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = call(self.request(Method::GET, "/api/health/ready")).await;
            if status == StatusCode::OK {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the app never became ready: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        call(self.request(Method::POST, path).json(body)).await
    }

    pub async fn register(&self, email: &str, password: &str, name: &str) -> (StatusCode, Value) {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "password": password, "name": name}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post_json(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers a user and returns a bearer token for it.
    pub async fn user_token(&self, email: &str) -> String {
        let (status, body) = self
            .register(email, "correct horse battery", "Test User")
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {email}: {body}");
        let (status, body) = self.login(email, "correct horse battery").await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body["access_token"].as_str().expect("token").to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends the request and reads a JSON body (`Value::Null` when empty).
pub async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request reached the app");
    let status = res.status();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, body)
}

/// Asserts the API.md error shape and returns the code.
pub fn error_code(body: &Value) -> &str {
    assert!(
        body["detail"].is_string(),
        "error body has a string detail: {body}"
    );
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error body has a code: {body}"))
}
