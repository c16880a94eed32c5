//! Webhook ingest benchmark (ARCHITECTURE.md budgets: ≥ 1,500
//! `messages.upsert`/s at 32 concurrent senders, none lost, none doubled,
//! `nolose` RSS ≤ 80 MB while ingesting, ≤ 30 MB idle).
//!
//! `webhook-bench <nolose binary>` starts an in-process evosim and the given
//! release `nolose` on free loopback ports against a fresh PostgreSQL
//! database, connects one tenant through the real API (register, login,
//! instance create, QR scan), then posts `MESSAGES` unique `messages.upsert`
//! webhooks — plus every `DUPLICATE_EVERY`-th one again, as Evolution's
//! retries would — at `CONCURRENCY` in flight, exactly as Evolution sends
//! them (envelope, `x-webhook-secret`). A 503 is retried like Evolution
//! does. At the end it compares what the store holds with what was sent and
//! prints one JSON object. Loopback only; bounded in count.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use nolose_evosim::{EvoSim, SimConfig};

use nolose_bench::{connect_tenant, env_num, json_call, memory_mib, percentile, start_server};
use serde_json::{Value, json};

fn upsert(instance: &str, i: usize) -> Value {
    json!({
        "event": "messages.upsert", "instance": instance,
        "data": {
            "key": {"remoteJid": format!("55119{:08}@s.whatsapp.net", i % 50), "fromMe": false, "id": format!("BENCH{i:012}")},
            "pushName": format!("Contact {}", i % 50), "status": "DELIVERY_ACK",
            "message": {"conversation": format!("benchmark message {i}")}, "messageType": "conversation",
            "messageTimestamp": 1_761_000_000 + i, "instanceId": "bench", "source": "ios"
        },
        "destination": "http://127.0.0.1/api/webhook/evolution", "date_time": "2026-11-29T10:00:00.000Z",
        "server_url": "http://127.0.0.1", "apikey": null
    })
}

/// Posts one webhook, retrying a 5xx or a transport error a few times as
/// Evolution would; the latency is the first attempt's.
async fn post(http: &reqwest::Client, url: &str, secret: &str, body: &Value) -> (Duration, bool) {
    let mut first = None;
    for _ in 0..5 {
        let started = Instant::now();
        let res = http
            .post(url)
            .header("x-webhook-secret", secret)
            .json(body)
            .send()
            .await;
        first.get_or_insert(started.elapsed());
        match res {
            Ok(r) if r.status().is_success() => return (first.unwrap_or_default(), true),
            Ok(r) if r.status().is_client_error() => break,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    (first.unwrap_or_default(), false)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(binary) = std::env::args().nth(1) else {
        bail!("usage: webhook-bench <path to the nolose binary>")
    };
    let (messages, concurrency, dup_every) = (
        env_num("MESSAGES", 20_000),
        env_num("CONCURRENCY", 32),
        env_num("DUPLICATE_EVERY", 10).max(1),
    );
    let sim = EvoSim::spawn(SimConfig::fast()).await?;
    let server = start_server(&binary, &sim).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let (token, instance) = connect_tenant(&http, &server.base, &sim).await?;
    let webhook = sim
        .instance(&instance)
        .and_then(|i| i.webhook)
        .context("webhook configured")?;
    let secret = webhook["headers"]["x-webhook-secret"]
        .as_str()
        .context("secret")?
        .to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    let idle_rss = memory_mib(pid, "VmRSS:");

    // Unique keys, with every dup_every-th one posted a second time.
    let plan: Vec<usize> = (0..messages)
        .flat_map(|i| {
            if i % dup_every == 0 {
                vec![i, i]
            } else {
                vec![i]
            }
        })
        .collect();
    let url = format!("{}/api/webhook/evolution", server.base);
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(plan.iter().map(|&i| {
        let (http, url, secret, body) = (&http, &url, &secret, upsert(&instance, i));
        async move { post(http, url, secret, &body).await }
    }))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    let elapsed = started.elapsed();

    let peak_rss = memory_mib(pid, "VmHWM:");
    let stats = json_call(
        http.get(format!("{}/api/stats", server.base))
            .bearer_auth(&token),
    )
    .await?;
    let stored = stats["total_messages"].as_u64().unwrap_or(0) as usize;
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    let mut latencies: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    let report = json!({
        "webhooks_posted": plan.len(),
        "unique_messages": messages,
        "concurrency": concurrency,
        "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
        "webhooks_per_second": (plan.len() as f64 / elapsed.as_secs_f64()).round(),
        "p50_ms": percentile(&latencies, 0.50),
        "p99_ms": percentile(&latencies, 0.99),
        "failed_after_retries": failed,
        "lost": messages.saturating_sub(stored),
        "doubled": stored.saturating_sub(messages),
        "idle_rss_mib": idle_rss,
        "peak_rss_mib": peak_rss,
    });
    // The report is this program's output (stdout), not a log line.
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&report)?
    )?;
    drop(server);
    sim.stop().await;
    Ok(())
}
