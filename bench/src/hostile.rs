//! Hostile-input benchmark (ARCHITECTURE.md budget: anonymous webhook
//! bodies cost `nolose` at most +40 MB over idle).
//!
//! `hostile-bench <nolose binary>` starts the given release `nolose` on a
//! free loopback port against a fresh PostgreSQL database and, for
//! `ROUNDS` rounds, posts `PARALLEL` anonymous webhook bodies of just under
//! 4 MiB at once — half `[0,0,0,…]`, half `{"instance":"x","data":[0,0,…]}`
//! — none of which may be authorised. It prints one JSON object: idle RSS,
//! peak RSS (`VmHWM`) and the answers' status codes. Loopback only.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use nolose_bench::{env_num, memory_mib, start_server};
use nolose_evosim::{EvoSim, SimConfig};
use serde_json::json;

/// Just under the 4 MiB webhook limit.
const BODY_BYTES: usize = 4 * 1024 * 1024 - 64;

fn zeros(prefix: &str, suffix: &str) -> Vec<u8> {
    let count = (BODY_BYTES - prefix.len() - suffix.len()) / 2;
    let mut body = Vec::with_capacity(BODY_BYTES);
    body.extend_from_slice(prefix.as_bytes());
    body.extend_from_slice("0,".repeat(count - 1).as_bytes());
    body.extend_from_slice(b"0");
    body.extend_from_slice(suffix.as_bytes());
    body
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = std::env::args()
        .nth(1)
        .context("usage: hostile-bench <nolose binary>")?;
    let (parallel, rounds) = (env_num("PARALLEL", 8), env_num("ROUNDS", 5));
    let sim = EvoSim::spawn(SimConfig::fast()).await?;
    let server = start_server(&binary, &sim).await?;
    let pid = server.child.id();
    let idle_rss = memory_mib(pid, "VmRSS:");
    let bodies = [zeros("[", "]"), zeros(r#"{"instance":"x","data":["#, "]}")];
    let http = reqwest::Client::new();
    let url = format!("{}/api/webhook/evolution", server.base);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..rounds {
        let calls = (0..parallel).map(|i| {
            let req = http
                .post(&url)
                .header("content-type", "application/json")
                .body(bodies[i % 2].clone());
            async move { req.send().await.map(|r| r.status().as_u16()) }
        });
        for status in futures::future::join_all(calls).await {
            *statuses.entry(status.unwrap_or(0)).or_default() += 1;
        }
    }
    let report = json!({
        "benchmark": "hostile", "parallel": parallel, "rounds": rounds,
        "body_bytes": BODY_BYTES, "idle_rss_mib": idle_rss,
        "peak_rss_mib": memory_mib(pid, "VmHWM:"),
        "after_rss_mib": memory_mib(pid, "VmRSS:"),
        "statuses": statuses,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}")?;
    Ok(())
}
