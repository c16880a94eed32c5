//! The in-process job worker of the local deployment: started next to the
//! HTTP server, stopped with it (jobs in flight finish first; jobs not yet
//! taken stay in PostgreSQL for the next start).

use std::time::{SystemTime, UNIX_EPOCH};

use nolose_jobs::JobContext;
use nolose_jobs::local::{WorkerConfig, run_worker};
use nolose_shared::AppState;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running worker; [`WorkerHandle::stop`] ends it gracefully, dropping
/// the handle ends it too.
pub struct WorkerHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts the sync worker on `pool` for the jobs of `state`'s store and
/// Evolution client.
pub fn start_worker(state: &AppState, pool: &PgPool, config: WorkerConfig) -> WorkerHandle {
    let (stop, stopped) = oneshot::channel::<()>();
    let ctx = JobContext::from(state);
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = run_worker(&pool, ctx, config, worker_name(), shutdown).await {
            tracing::error!(error = format!("{e:#}"), "sync worker stopped");
        }
    });
    WorkerHandle {
        stop: Some(stop),
        task: Some(task),
    }
}

/// Unique per process start: apalis tells live workers from dead ones by name.
fn worker_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("nolose-{}-{nanos:x}", std::process::id())
}

impl WorkerHandle {
    /// Stops taking jobs and waits for the ones in flight.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
