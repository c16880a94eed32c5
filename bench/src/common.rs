//! What the load generators share: the release `nolose` on a free loopback
//! port against a fresh PostgreSQL database (dropped afterwards), a tenant
//! connected through the real API, latency percentiles and memory readings.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use nolose_evosim::{EvoSim, Outcome};
use serde_json::{Value, json};

pub fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub struct Server {
    pub child: Child,
    pub base: String,
    admin_url: String,
    database: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        let _ = Command::new("psql")
            .args([&self.admin_url, "-qc", &drop])
            .status();
    }
}

/// Starts `binary` against `sim` and waits until it is ready.
pub async fn start_server(binary: &str, sim: &EvoSim) -> anyhow::Result<Server> {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let database = format!("nolose_bench_{}", uuid::Uuid::new_v4().simple());
    let server_root = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(root, _)| root);
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(binary)
        .env("DATABASE_URL", format!("{server_root}/{database}"))
        .env("PORT", port.to_string())
        .env("SECRET_KEY", "bench-secret-key-bench-secret-key-0123")
        .env("EVOLUTION_API_URL", sim.base_url())
        .env("EVOLUTION_API_KEY", sim.api_key())
        .env("PUBLIC_URL", &base)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {binary}"))?;
    let server = Server {
        child,
        base,
        admin_url,
        database,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http
            .get(format!("{}/api/health/ready", server.base))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(server);
        }
        ensure!(Instant::now() < deadline, "nolose did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn json_call(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

/// Registers, logs in, creates the instance and scans its QR, then waits
/// until every webhook has landed and the app sees the instance connected
/// (evosim delivers unordered: a late `qrcode.updated` would otherwise turn
/// it back to `qr`); returns the token and instance name.
pub async fn connect_tenant(
    http: &reqwest::Client,
    base: &str,
    sim: &EvoSim,
) -> anyhow::Result<(String, String)> {
    let creds =
        json!({"email": "bench@example.com", "password": "correct horse battery", "name": "Bench"});
    json_call(http.post(format!("{base}/api/auth/register")).json(&creds)).await?;
    let login = json_call(http.post(format!("{base}/api/auth/login")).json(&creds)).await?;
    let token = login["access_token"].as_str().context("token")?.to_owned();
    let created = json_call(
        http.post(format!("{base}/api/evolution/instance/create"))
            .bearer_auth(&token),
    )
    .await?;
    let instance = created["instance_name"]
        .as_str()
        .context("instance name")?
        .to_owned();
    sim.scan_qr(&instance, Default::default())?;
    sim.wait_for(Duration::from_secs(10), |sim| {
        let deliveries = sim.deliveries();
        deliveries
            .iter()
            .all(|d| d.outcome != Outcome::Pending)
            .then_some(())
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = json_call(
            http.get(format!("{base}/api/evolution/instance/status"))
                .bearer_auth(&token),
        )
        .await?;
        if status["status"] == "connected" {
            return Ok((token, instance));
        }
        ensure!(Instant::now() < deadline, "the instance never connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `VmRSS` or `VmHWM` (peak) of a process, in MiB (one decimal).
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (kib / 1024.0 * 10.0).round() / 10.0
}

/// The `p` quantile of sorted latencies, in milliseconds (one decimal).
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i)
        .map_or(0.0, |d| (d.as_secs_f64() * 10_000.0).round() / 10.0)
}
