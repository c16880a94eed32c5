//! Binding and serving. The listener is owned by a loop so "down, refusing
//! connections" can really close the port and reopen the same address later.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::faults::DownMode;
use crate::sim::Sim;

/// Binds with `SO_REUSEADDR` so the port can be re-bound after a refusal period.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Everything a running simulator needs to be stopped.
pub struct Running {
    pub sim: Arc<Sim>,
    pub addr: SocketAddr,
    pub stop: watch::Sender<bool>,
    pub server: JoinHandle<()>,
}

/// Binds `config.host:config.port` and starts serving both APIs.
pub async fn start(config: SimConfig) -> anyhow::Result<Running> {
    let wanted = tokio::net::lookup_host((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("resolving {}:{}", config.host, config.port))?
        .next()
        .context("the host resolved to no address")?;
    let listener = bind(wanted).with_context(|| format!("binding {wanted}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shown = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let sim = Sim::new(config, format!("http://{shown}"))?;
    let app = crate::api::router(Arc::clone(&sim)).merge(crate::control::router(Arc::clone(&sim)));
    // Only the Evolution router has a root fallback (Express' 404); the control
    // router's fallback is scoped to `/_sim`, so the two merge cleanly.
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(serve_loop(listener, addr, app, Arc::clone(&sim), stop_rx));
    Ok(Running {
        sim,
        addr,
        stop,
        server,
    })
}

async fn serve_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    app: Router,
    sim: Arc<Sim>,
    stop: watch::Receiver<bool>,
) {
    let down = sim.down.subscribe();
    loop {
        let (mut stop_a, mut down_a) = (stop.clone(), down.clone());
        let shutdown = async move {
            tokio::select! {
                _ = stop_a.wait_for(|s| *s) => {}
                _ = down_a.wait_for(|d| *d == DownMode::Refuse) => {}
            }
        };
        if let Err(err) = axum::serve(listener, app.clone())
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %err, "evosim server failed");
            return;
        }
        if *stop.borrow() {
            return;
        }
        let (mut stop_b, mut down_b) = (stop.clone(), down.clone());
        tokio::select! {
            _ = stop_b.wait_for(|s| *s) => return,
            _ = down_b.wait_for(|d| *d != DownMode::Refuse) => {}
        }
        listener = match bind(addr) {
            Ok(l) => l,
            Err(err) => {
                tracing::error!(error = %err, %addr, "evosim could not re-bind after being down");
                return;
            }
        };
    }
}
