//! `nolose`: the whole backend in one process for a small VM.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use nolose_jobs::local::WorkerConfig;
use nolose_shared::config::{Config, LocalConfig, or_exit};
use nolose_shared::telemetry;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let config = or_exit(Config::from_env());
    let local = or_exit(LocalConfig::from_env());
    let app = nolose_local::build_app(config, &local).await?;
    let worker = app.start_worker(&app.state, WorkerConfig::default());
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, local.port));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "nolose listening");
    nolose_local::serve(listener, app.router, shutdown_signal()).await?;
    worker.stop().await;
    tracing::info!("nolose stopped");
    Ok(())
}

/// SIGTERM (systemd, docker stop) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}
