//! Shared test helpers: an Evolution client that speaks like the backend, and
//! a tiny axum webhook receiver whose answers (and holds) a test scripts.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use nolose_evosim::{EvoSim, Incoming, SimConfig};
use serde_json::{Value, json};
use tokio::sync::watch;

pub const WAIT: Duration = Duration::from_secs(10);

/// A request the receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Hit {
    pub fn event(&self) -> &str {
        self.body["event"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct Script {
    hits: Vec<Hit>,
    statuses: VecDeque<u16>,
    /// Event name whose requests wait until released.
    hold: Option<String>,
}

/// Webhook receiver on 127.0.0.1:0.
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
    release: watch::Sender<bool>,
}

async fn receive(
    State((script, release)): State<(Arc<Mutex<Script>>, watch::Receiver<bool>)>,
    req: Request,
) -> impl IntoResponse {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .expect("receiver reads the body");
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let hit = Hit {
        path,
        headers,
        body,
    };
    let (status, hold) = {
        let mut s = script.lock().expect("receiver lock");
        let hold = s.hold.as_deref() == Some(hit.event());
        s.hits.push(hit);
        (s.statuses.pop_front().unwrap_or(200), hold)
    };
    if hold {
        let mut release = release;
        let _ = release.wait_for(|r| *r).await;
    }
    (StatusCode::from_u16(status).expect("valid status"), "ok")
}

impl Receiver {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let (release, release_rx) = watch::channel(false);
        let app = Router::new()
            .fallback(receive)
            .with_state((Arc::clone(&script), release_rx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hooks/evolution"),
            script,
            release,
        }
    }

    /// Answer the next requests with these statuses (then 200).
    pub fn respond_with(&self, statuses: &[u16]) {
        self.script.lock().expect("lock").statuses.extend(statuses);
    }

    /// Requests for `event` block until [`Receiver::release`].
    pub fn hold(&self, event: &str) {
        self.script.lock().expect("lock").hold = Some(event.to_owned());
    }

    pub fn release(&self) {
        self.release.send_replace(true);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.script.lock().expect("lock").hits.clone()
    }

    pub fn hits_of(&self, event: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.event() == event)
            .collect()
    }
}

/// Talks to the simulator like the backend does.
pub struct Evo {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Evo {
    pub fn new(sim: &EvoSim) -> Self {
        Self {
            base: sim.base_url().to_owned(),
            key: sim.api_key().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends with the global key (or `key` when given); returns (status, JSON body).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key.or(Some(self.key.as_str())).filter(|k| !k.is_empty()) {
            req = req.header("apikey", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("simulator answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body), None).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, None).await
    }

    /// Creates `name` the way the backend does (QR on, nested webhook block).
    pub async fn create(&self, name: &str, webhook_url: &str) -> Value {
        let body = json!({
            "instanceName": name,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": true,
            "webhook": {
                "url": webhook_url, "byEvents": false, "base64": false,
                "headers": { "x-webhook-secret": "s3cr3t" },
                "events": ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT",
                           "MESSAGES_UPDATE", "MESSAGES_DELETE", "SEND_MESSAGE",
                           "CONTACTS_UPSERT", "CONTACTS_UPDATE", "CHATS_UPSERT",
                           "LOGOUT_INSTANCE", "REMOVE_INSTANCE"],
            }
        });
        let (status, out) = self.post("/instance/create", body).await;
        assert_eq!(status, 201, "create {name}: {out}");
        out
    }
}

/// A text from `from`, sent by "Maria".
pub fn text(from: &str, body: &str) -> Incoming {
    Incoming {
        from: from.into(),
        text: Some(body.into()),
        push_name: Some("Maria".into()),
        ..Default::default()
    }
}

/// A fast simulator, a receiver, and a client.
pub async fn setup() -> (EvoSim, Receiver, Evo) {
    setup_with(SimConfig::fast()).await
}

pub async fn setup_with(config: SimConfig) -> (EvoSim, Receiver, Evo) {
    let sim = EvoSim::spawn(config).await.expect("simulator starts");
    let receiver = Receiver::start().await;
    let evo = Evo::new(&sim);
    (sim, receiver, evo)
}

/// Waits until no webhook delivery is pending, so scripted answers only meet
/// what the test emits next.
pub async fn settle(sim: &EvoSim) {
    sim.wait_for(WAIT, |s| {
        s.deliveries()
            .iter()
            .all(|d| d.outcome != nolose_evosim::Outcome::Pending)
            .then_some(())
    })
    .await
    .expect("deliveries settle");
}

/// Creates `name` and scans its QR: an `open` instance.
pub async fn open_instance(sim: &EvoSim, evo: &Evo, receiver: &Receiver, name: &str) {
    evo.create(name, &receiver.url).await;
    sim.scan_qr(name, Default::default()).expect("scan");
}
