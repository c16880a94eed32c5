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
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use nolose_evosim::{EvoSim, Seed, SimConfig};

use nolose_bench::{connect_tenant, env_num, json_call, memory_mib, start_server};
use serde_json::json;

/// The budget of ARCHITECTURE.md, in seconds.
const BUDGET_SECS: f64 = 10.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(binary) = std::env::args().nth(1) else {
        bail!("usage: sync-bench <path to the nolose binary>")
    };
    let (chats, per_chat) = (
        env_num("CHATS", 200) as u32,
        env_num("MESSAGES_PER_CHAT", 30) as u32,
    );
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
