//! History sync benchmark (ARCHITECTURE.md budget: 200 chats × 30 messages
//! from `evosim` stored in ≤ 10 s, local mode).
//!
//! `sync-bench <nolose binary>` starts an in-process evosim and the given
//! release `nolose` on free loopback ports against a fresh PostgreSQL
//! database, connects one tenant through the real API, seeds `CHATS` chats
//! of `MESSAGES_PER_CHAT` messages at evosim, then times
//! `POST /api/evolution/sync/chats` until `GET /api/evolution/sync/status`
//! says `done`, and checks what the store holds. Prints one JSON object
//! with the seconds, the counters and the server's peak RSS.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use nolose_evosim::{EvoSim, Seed, SimConfig};
use serde_json::{Value, json};

/// The budget of ARCHITECTURE.md, in seconds.
const BUDGET_SECS: f64 = 10.0;

fn env_num(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmRSS` or `VmHWM` (peak) of a process, in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (kib / 1024.0 * 10.0).round() / 10.0
}

/// The `nolose` child process and its throwaway database.
struct Server {
    child: Child,
    base: String,
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

async fn start_server(binary: &str, sim: &EvoSim) -> anyhow::Result<Server> {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let database = format!("nolose_bench_{}", uuid::Uuid::new_v4().simple());
    let server_root = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(root, _)| root);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
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
    poll(
        Duration::from_secs(60),
        "nolose to become ready",
        || async {
            let ready = http
                .get(format!("{}/api/health/ready", server.base))
                .send()
                .await;
            Ok(ready.is_ok_and(|r| r.status().is_success()))
        },
    )
    .await?;
    Ok(server)
}

/// Polls `probe` every 20 ms until it holds, or fails at the deadline.
async fn poll<F, Fut>(patience: Duration, what: &str, mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + patience;
    while !probe().await? {
        ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn json_call(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

/// Registers, logs in, creates the instance and scans its QR; returns the
/// bearer token and the instance name once the app sees it connected.
async fn connect_tenant(
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
    poll(
        Duration::from_secs(10),
        "the instance to connect",
        || async {
            let status = json_call(
                http.get(format!("{base}/api/evolution/instance/status"))
                    .bearer_auth(&token),
            )
            .await?;
            Ok(status["status"] == "connected")
        },
    )
    .await?;
    Ok((token, instance))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(binary) = std::env::args().nth(1) else {
        bail!("usage: sync-bench <path to the nolose binary>")
    };
    let (chats, per_chat) = (env_num("CHATS", 200), env_num("MESSAGES_PER_CHAT", 30));
    let sim = EvoSim::spawn(SimConfig::fast()).await?;
    let server = start_server(&binary, &sim).await?;
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let (token, instance) = connect_tenant(&http, &base, &sim).await?;
    let seed = Seed {
        contacts: 0,
        chats,
        messages_per_chat: per_chat,
        base_timestamp: None,
    };
    sim.seed(&instance, seed)?;
    let pid = server.child.id();
    let idle_rss = memory_mib(pid, "VmRSS:");

    let started = Instant::now();
    let queued = json_call(
        http.post(format!("{base}/api/evolution/sync/chats"))
            .bearer_auth(&token)
            .header("content-type", "application/json"),
    )
    .await?;
    let accepted_after = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let status = json_call(
            http.get(format!("{base}/api/evolution/sync/status"))
                .bearer_auth(&token),
        )
        .await?;
        if status["state"] == "done" {
            break status;
        }
        ensure!(
            Instant::now() < deadline,
            "the sync never finished: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();

    let stats = json_call(http.get(format!("{base}/api/stats")).bearer_auth(&token)).await?;
    let expected = u64::from(chats) * u64::from(per_chat.min(30));
    let report = json!({
        "chats": chats,
        "messages_per_chat": per_chat,
        "queued": queued["queued"],
        "accepted_ms": (accepted_after.as_secs_f64() * 1000.0).round(),
        "seconds_until_done": (elapsed * 100.0).round() / 100.0,
        "budget_seconds": BUDGET_SECS,
        "within_budget": elapsed <= BUDGET_SECS,
        "chats_done": last["chats_done"],
        "chats_failed": last["chats_failed"],
        "messages_synced": last["messages_synced"],
        "messages_stored": stats["total_messages"],
        "messages_expected": expected,
        "idle_rss_mib": idle_rss,
        "peak_rss_mib": memory_mib(pid, "VmHWM:"),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    drop(server);
    sim.stop().await;
    Ok(())
}
