//! `nolose-local`: the single-binary deployment. One tokio/axum server that
//! merges the routers of every function, on PostgreSQL.
//!
//! - [`build_app`]: the application, built once for `main` and for the tests.
//! - [`serve`]: runs it on a listener until the shutdown future resolves.
//! - [`openapi`]: the merged OpenAPI document and the `/docs` page.
//! - [`worker`]: the in-process apalis worker of the history sync jobs, kept
//!   running through store outages by the [`supervisor`].

pub mod openapi;
pub mod supervisor;
pub mod worker;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use nolose_jobs::local::{ApalisQueue, Pulse, WorkerConfig};
use nolose_shared::AppState;
use nolose_shared::config::{Config, LocalConfig};
use nolose_shared::http::{ReadinessCheck, app, limit_in_flight};
use nolose_shared::jobs::JobQueue;
use nolose_shared::store::postgres::{DEFAULT_MAX_CONNECTIONS, PgStore};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

/// The built application: the router and what tests may want to reach.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub store: PgStore,
    /// Beaten by the running sync worker; readiness reads it.
    pub worker_pulse: Pulse,
}

/// Connects to PostgreSQL (creating the database and applying migrations,
/// ours and apalis'), queues jobs there, and merges every function's routes
/// behind the common layers. The worker is started separately
/// ([`App::start_worker`]) so that `main` and tests control its life.
pub async fn build_app(config: Config, local: &LocalConfig) -> anyhow::Result<App> {
    let store = PgStore::connect(local.database_url.expose_secret(), DEFAULT_MAX_CONNECTIONS)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")?;
    nolose_jobs::local::setup(store.pool()).await?;
    let queue: Arc<dyn JobQueue> = Arc::new(ApalisQueue::new(store.pool()));
    let worker_pulse = Pulse::default();
    let state = AppState::new(config, Arc::new(store.clone()))?
        .with_jobs(Arc::clone(&queue))
        .with_readiness(vec![
            job_queue_check(queue),
            sync_worker_check(worker_pulse.clone()),
        ]);
    Ok(App {
        router: router(state.clone()),
        state,
        store,
        worker_pulse,
    })
}

impl App {
    /// Starts the sync worker for `state` (the app's, or a test's variant).
    pub fn start_worker(&self, state: &AppState, config: WorkerConfig) -> worker::WorkerHandle {
        worker::start_worker(state, self.store.pool(), config, self.worker_pulse.clone())
    }
}

/// The sync worker is running: registered with PostgreSQL and beating (not
/// failed and waiting for its restart, not hung, not yet started).
fn sync_worker_check(pulse: Pulse) -> ReadinessCheck {
    (
        "sync_worker",
        Arc::new(move || {
            let alive = pulse.is_alive();
            Box::pin(async move { alive })
        }),
    )
}

fn job_queue_check(queue: Arc<dyn JobQueue>) -> ReadinessCheck {
    (
        "job_queue",
        Arc::new(move || {
            let queue = Arc::clone(&queue);
            Box::pin(async move { queue.ping().await.is_ok() })
        }),
    )
}

/// Every function's routes, the OpenAPI document and the docs page, at
/// most `MAX_IN_FLIGHT` requests at once.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(nolose_auth::routes())
        .merge(nolose_instance::routes())
        .merge(nolose_sync::routes())
        .merge(nolose_send::routes())
        .merge(nolose_webhook::routes())
        .merge(openapi::routes());
    let max_in_flight = state.config.max_in_flight;
    limit_in_flight(app(routes, state), max_in_flight)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}
