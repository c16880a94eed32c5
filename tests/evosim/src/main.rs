//! `evosim` binary: runs the simulator on a fixed port for demos and manual
//! testing. Every flag has an `EVOSIM_*` environment twin; flags win.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use nolose_evosim::{EvoSim, GlobalWebhook, SimConfig, events::ALL_EVENTS};

const HELP: &str = "evosim — Evolution API v2 simulator

USAGE: evosim [--flag value]...   (each flag also reads EVOSIM_<FLAG>, e.g. EVOSIM_PORT)

  --host H                  bind address (default 127.0.0.1; use 0.0.0.0 in a container)
  --port N                  port (default 8080)
  --api-key K               global apikey (default BQYHJGJHJ, Evolution's fallback)
  --server-url URL          SERVER_URL echoed in webhooks (default our own URL)
  --fast true               test timings: no create/connect waits, instant QR, ms retries
  --auto-receipts true      SERVER_ACK + DELIVERY_ACK after every API send
  --expose-token true       put the instance token in the webhook `apikey` field
  --create-wait-ms N        how long create with qrcode:true blocks (default 5000)
  --connect-wait-ms N       how long connect blocks after starting a socket (default 2000)
  --qr-delay-ms N|manual    first QR after socket start (default 1000; manual = control API only)
  --qr-refresh-ms N|off     QR refresh interval (default 45000)
  --retry-initial-ms N      webhook retry first delay (default 5000)
  --retry-max-ms N          webhook retry delay cap (default 300000)
  --retry-max-attempts N    webhook attempts in total (default 10)
  --global-webhook-url URL  also send every event to this global webhook
";

/// Flags as `name → value`, environment first, command line over it.
fn options() -> anyhow::Result<HashMap<String, String>> {
    let mut out: HashMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| {
            let flag = k.strip_prefix("EVOSIM_")?;
            Some((flag.to_lowercase().replace('_', "-"), v))
        })
        .collect();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            out.insert("help".into(), "true".into());
            continue;
        }
        let Some(flag) = arg.strip_prefix("--") else {
            bail!("unexpected argument {arg:?} (see --help)");
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (
                flag.to_owned(),
                args.next()
                    .with_context(|| format!("--{flag} needs a value"))?,
            ),
        };
        out.insert(name, value);
    }
    Ok(out)
}

fn ms(opts: &HashMap<String, String>, name: &str) -> anyhow::Result<Option<Duration>> {
    opts.get(name)
        .map(|v| v.parse::<u64>().map(Duration::from_millis))
        .transpose()
        .with_context(|| format!("--{name} must be a number of milliseconds"))
}

fn flag(opts: &HashMap<String, String>, name: &str) -> bool {
    opts.get(name)
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

fn config(opts: &HashMap<String, String>) -> anyhow::Result<SimConfig> {
    let mut c = if flag(opts, "fast") {
        SimConfig::fast()
    } else {
        SimConfig::default()
    };
    c.host = opts.get("host").cloned().unwrap_or(c.host);
    c.port = opts
        .get("port")
        .map_or(Ok(8080), |p| p.parse())
        .context("--port must be a port number")?;
    if let Some(key) = opts.get("api-key") {
        c.api_key = key.clone();
    }
    c.server_url = opts.get("server-url").cloned();
    c.auto_receipts = flag(opts, "auto-receipts");
    c.expose_token = flag(opts, "expose-token");
    c.create_wait = ms(opts, "create-wait-ms")?.unwrap_or(c.create_wait);
    c.connect_wait = ms(opts, "connect-wait-ms")?.unwrap_or(c.connect_wait);
    match opts.get("qr-delay-ms").map(String::as_str) {
        Some("manual") => c.qr_delay = None,
        _ => c.qr_delay = ms(opts, "qr-delay-ms")?.or(c.qr_delay),
    }
    match opts.get("qr-refresh-ms").map(String::as_str) {
        Some("off") => c.qr_refresh = None,
        _ => c.qr_refresh = ms(opts, "qr-refresh-ms")?.or(c.qr_refresh),
    }
    c.retry.initial_delay = ms(opts, "retry-initial-ms")?.unwrap_or(c.retry.initial_delay);
    c.retry.max_delay = ms(opts, "retry-max-ms")?.unwrap_or(c.retry.max_delay);
    if let Some(n) = opts.get("retry-max-attempts") {
        c.retry.max_attempts = n.parse().context("--retry-max-attempts must be a number")?;
    }
    c.global_webhook = opts.get("global-webhook-url").map(|url| GlobalWebhook {
        url: url.clone(),
        by_events: false,
        events: ALL_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
    });
    Ok(c)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let opts = options()?;
    let mut stdout = std::io::stdout();
    if opts.contains_key("help") {
        write!(stdout, "{HELP}")?;
        return Ok(());
    }
    let sim = EvoSim::spawn(config(&opts)?).await?;
    writeln!(stdout, "evosim listening on {}", sim.base_url())?;
    writeln!(
        stdout,
        "  EVOLUTION_API_URL={} EVOLUTION_API_KEY={}",
        sim.base_url(),
        sim.api_key()
    )?;
    writeln!(
        stdout,
        "  control API: {}/_sim/... (same apikey header)",
        sim.base_url()
    )?;
    stdout.flush()?;
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.stop().await;
    Ok(())
}
