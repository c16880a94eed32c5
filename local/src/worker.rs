//! The in-process job worker of the local deployment: started next to the
//! HTTP server, stopped with it (jobs in flight finish first; jobs not yet
//! taken stay in PostgreSQL for the next start), and kept running in
//! between, through store outages, by the [`supervisor`](crate::supervisor).

use nolose_jobs::JobContext;
use nolose_jobs::local::{Pulse, WorkerConfig, run_worker};
use nolose_shared::AppState;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::supervisor::{Pace, Shutdown, supervise};

/// A running worker; [`WorkerHandle::stop`] ends it gracefully, dropping
/// the handle ends it too.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts the supervised sync worker on `pool` for the jobs of `state`'s
/// store and Evolution client; each of its heartbeats beats `pulse`.
pub fn start_worker(
    state: &AppState,
    pool: &PgPool,
    config: WorkerConfig,
    pulse: Pulse,
) -> WorkerHandle {
    let (stop, stopping) = watch::channel(false);
    let pace = Pace {
        first_backoff: config.restart_backoff,
        max_backoff: config.max_restart_backoff,
        stall_after: config.stall_after,
    };
    let ctx = JobContext::from(state);
    let pool = pool.clone();
    let beats = pulse.clone();
    let start = move |name: String, shutdown: Shutdown| {
        let (pool, ctx, config, pulse) = (pool.clone(), ctx.clone(), config.clone(), beats.clone());
        async move { run_worker(&pool, ctx, config, name, pulse, shutdown).await }
    };
    let task = tokio::spawn(supervise(start, pulse, pace, stopping));
    WorkerHandle {
        stop,
        task: Some(task),
    }
}

impl WorkerHandle {
    /// Stops taking jobs and waits for the ones in flight.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops at once, as a crash would: jobs in flight are abandoned and go
    /// to the next worker once this one misses its heartbeats.
    pub fn abort(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
