//! Send latency benchmark (issue 5's closing note: send p50 against evosim).
//!
//! `send-bench <nolose binary>` starts an in-process evosim and the given
//! release `nolose` on free loopback ports against a fresh PostgreSQL
//! database, connects one tenant through the real API, then measures
//! `POST /api/evolution/send/text`, each with its own `Idempotency-Key`
//! (reserve, `sendText`, store, complete), in three rounds:
//! - `sequential`: `SENDS` sends one at a time — the latency a user sees;
//! - `concurrent`: `SENDS` more at `CONCURRENCY` in flight — latency under load;
//! - `replay`: the first `REPLAYS` keys again — answered from the store.
//!
//! It then checks that Evolution got exactly one `sendText` per key and that
//! the store holds exactly one message per send (evosim's `send.message`
//! echoes included), and prints one JSON object. Loopback only; bounded.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use nolose_bench::{connect_tenant, env_num, json_call, percentile, start_server};
use nolose_evosim::{EvoSim, SimConfig};
use serde_json::{Value, json};

struct Sender {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Sender {
    /// One send; its latency, and its message id when it succeeded (a
    /// failure is logged to stderr with its answer).
    async fn send(&self, i: usize) -> (Duration, Option<String>) {
        let body = json!({
            "phone_number": format!("+55 11 9{:08}", i % 50),
            "text": format!("benchmark message {i}"),
        });
        let started = Instant::now();
        let res = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("idempotency-key", format!("bench-{i}"))
            .json(&body)
            .send()
            .await;
        let elapsed = started.elapsed();
        let answer = match res {
            Ok(r) => (r.status(), r.json::<Value>().await.unwrap_or(Value::Null)),
            Err(e) => (
                reqwest::StatusCode::BAD_GATEWAY,
                Value::String(e.to_string()),
            ),
        };
        let id = answer.1["message_id"].as_str().map(str::to_owned);
        if id.is_none() {
            let _ = writeln!(
                std::io::stderr(),
                "send {i} failed: {} {}",
                answer.0,
                answer.1
            );
        }
        (elapsed, id)
    }

    async fn round(&self, keys: std::ops::Range<usize>, concurrency: usize) -> Round {
        let started = Instant::now();
        let results: Vec<(Duration, Option<String>)> =
            futures::stream::iter(keys.map(|i| self.send(i)))
                .buffer_unordered(concurrency)
                .collect()
                .await;
        Round {
            elapsed: started.elapsed(),
            results,
        }
    }
}

struct Round {
    elapsed: Duration,
    results: Vec<(Duration, Option<String>)>,
}

impl Round {
    fn failed(&self) -> usize {
        self.results.iter().filter(|(_, id)| id.is_none()).count()
    }

    fn report(&self, concurrency: usize) -> Value {
        let mut latencies: Vec<Duration> = self.results.iter().map(|(d, _)| *d).collect();
        latencies.sort();
        json!({
            "sends": self.results.len(),
            "concurrency": concurrency,
            "per_second": (self.results.len() as f64 / self.elapsed.as_secs_f64()).round(),
            "p50_ms": percentile(&latencies, 0.50),
            "p99_ms": percentile(&latencies, 0.99),
            "failed": self.failed(),
        })
    }
}

/// Polls the stats until `want` messages are stored (the echoes race the
/// answers), or the deadline passes; returns the last count.
async fn stored_messages(sender: &Sender, base: &str, want: u64) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = json_call(
            sender
                .http
                .get(format!("{base}/api/stats"))
                .bearer_auth(&sender.token),
        )
        .await?;
        let stored = stats["total_messages"].as_u64().context("total_messages")?;
        if stored >= want || Instant::now() >= deadline {
            return Ok(stored);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(binary) = std::env::args().nth(1) else {
        bail!("usage: send-bench <path to the nolose binary>")
    };
    let (sends, concurrency, replays) = (
        env_num("SENDS", 500),
        env_num("CONCURRENCY", 8).max(1),
        env_num("REPLAYS", 100),
    );
    let replays = replays.min(sends);
    let sim = EvoSim::spawn(SimConfig::fast()).await?;
    let server = start_server(&binary, &sim).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let (token, _) = connect_tenant(&http, &server.base, &sim).await?;
    let sender = Sender {
        http,
        url: format!("{}/api/evolution/send/text", server.base),
        token,
    };

    let sequential = sender.round(0..sends, 1).await;
    let concurrent = sender.round(sends..2 * sends, concurrency).await;
    let replay = sender.round(0..replays, 1).await;
    let replayed_same = replay
        .results
        .iter()
        .zip(&sequential.results)
        .all(|((_, again), (_, first))| again.is_some() && again == first);

    let unique = 2 * sends;
    let evolution_sends = sim.calls_to("message/sendText").len();
    let stored = stored_messages(&sender, &server.base, unique as u64).await? as usize;
    let report = json!({
        "sequential": sequential.report(1),
        "concurrent": concurrent.report(concurrency),
        "replay": replay.report(1),
        "replays_answered_the_first_response": replayed_same,
        "evolution_send_calls": evolution_sends,
        "expected_send_calls": unique,
        "stored_messages": stored,
        "lost": unique.saturating_sub(stored),
        "doubled": stored.saturating_sub(unique),
    });
    // The report is the program's output (stdout), not a log line.
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&report)?
    )?;
    drop(server);
    sim.stop().await;
    ensure!(
        evolution_sends == unique && stored == unique && replayed_same,
        "a send was lost, doubled or not replayed"
    );
    Ok(())
}
