//! Local mode: the jobs live in PostgreSQL (apalis-postgres, schema `apalis`
//! beside ours), so a sync survives a restart of `nolose`: a job a dead
//! worker held is handed out again once that worker missed its heartbeats.
//! [`ApalisQueue`] pushes; [`run_worker`] executes with bounded concurrency
//! towards Evolution and retries transient failures with backoff in-process
//! (the attempt number must be known to record a last failure as a failed
//! chat, which apalis' own retry layer does not tell the job).
//!
//! A worker ends at the first error of its backend (a heartbeat or a fetch
//! that fails while PostgreSQL is down: apalis' `Persisted` turns `Dead`,
//! and `Worker::run` returns that error), or may hang on a query that never
//! answers; it reports each heartbeat PostgreSQL took to a [`Pulse`], by
//! which the local binary's supervisor tells both and starts a new one.

mod pulse;

pub use pulse::Pulse;

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use apalis_postgres::{Config, PgPool, PostgresStorage};
use async_trait::async_trait;
use nolose_shared::jobs::{EnqueueError, JobQueue, SyncChatHistory};

use crate::sync_chat::{Attempt, Disposition, JobContext, handle};

/// The apalis queue of per-chat sync jobs.
pub const QUEUE: &str = "nolose.sync_chat";

/// How the local worker behaves; [`WorkerConfig::default`] is production's.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs in flight at once: the bound on concurrent calls to Evolution.
    pub concurrency: usize,
    /// Runs of one job before a transient failure counts as final.
    pub attempts: u32,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// A worker that misses `missed_heartbeats` of these is dead and its
    /// jobs go to the next worker (after a crash or a kill).
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    /// A worker without a heartbeat taken by PostgreSQL for this long is
    /// not running (hung): its supervisor replaces it, readiness says 503.
    pub stall_after: Duration,
    /// First pause before a worker that ended is replaced; doubles per
    /// consecutive failure up to `max_restart_backoff`.
    pub restart_backoff: Duration,
    pub max_restart_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            attempts: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 3,
            stall_after: Duration::from_secs(30),
            restart_backoff: Duration::from_millis(500),
            max_restart_backoff: Duration::from_secs(30),
        }
    }
}

/// Creates (or upgrades) the `apalis` schema.
pub async fn setup(pool: &PgPool) -> anyhow::Result<()> {
    PostgresStorage::setup(pool)
        .await
        .context("setting up the apalis job tables")
}

/// One job per fetch: a fetched job waiting for a free slot holds the
/// worker's heartbeat back (apalis' `Persisted` beats only while its buffer
/// is empty), and a worker busy with slow jobs must not look hung.
fn storage(pool: &PgPool, config: &WorkerConfig) -> PostgresStorage<SyncChatHistory> {
    let apalis = Config::default()
        .queue(QUEUE)
        .batch_size(1)
        .heartbeat_interval(config.heartbeat)
        .missed_heartbeats(config.missed_heartbeats);
    PostgresStorage::new(pool).with_config(apalis)
}

/// [`JobQueue`] on apalis-postgres: a push is one committed insert.
#[derive(Clone)]
pub struct ApalisQueue {
    storage: PostgresStorage<SyncChatHistory>,
}

impl ApalisQueue {
    pub fn new(pool: &PgPool) -> Self {
        Self {
            storage: storage(pool, &WorkerConfig::default()),
        }
    }
}

#[async_trait]
impl JobQueue for ApalisQueue {
    async fn enqueue_many(&self, jobs: Vec<SyncChatHistory>) -> Result<(), EnqueueError> {
        let mut storage = self.storage.clone();
        storage
            .push_bulk(jobs.clone())
            .await
            .map_err(|e| EnqueueError {
                not_queued: jobs,
                cause: anyhow::anyhow!("pushing jobs to apalis: {e}"),
            })
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx_ping(self.storage.pool()).await
    }
}

async fn sqlx_ping(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("SELECT 1 FROM apalis.jobs LIMIT 1")
        .execute(pool)
        .await
        .context("pinging the job queue")?;
    Ok(())
}

#[derive(Clone)]
struct Runner {
    ctx: JobContext,
    config: WorkerConfig,
}

/// Runs one job to its end: retries transient failures in place, with
/// exponential backoff, until the last attempt settles it either way.
async fn execute(job: SyncChatHistory, runner: Data<Runner>) -> Result<(), BoxDynError> {
    let config = &runner.config;
    let mut delay = config.backoff;
    for n in 1..=config.attempts.max(1) {
        let attempt = if n >= config.attempts {
            Attempt::Last
        } else {
            Attempt::NotLast
        };
        match handle(&job, &runner.ctx, attempt).await {
            Disposition::Finished => return Ok(()),
            Disposition::Retry(err) if attempt == Attempt::Last => return Err(err.into()),
            Disposition::Retry(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(config.max_backoff);
            }
        }
    }
    Ok(())
}

/// Runs the worker until `shutdown` resolves (in-flight jobs finish first)
/// or its backend fails; each heartbeat PostgreSQL takes beats `pulse`.
/// `name` must be new: apalis refuses a name whose worker is alive.
pub async fn run_worker(
    pool: &PgPool,
    ctx: JobContext,
    config: WorkerConfig,
    name: String,
    pulse: Pulse,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let backend = storage(pool, &config).with_pubsub();
    let alive_for = config.stall_after;
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .on_event(move |_, event| {
            if matches!(event, Event::HeartBeat) {
                pulse.beat(alive_for);
            }
        })
        .concurrency(config.concurrency)
        .data(Runner { ctx, config })
        .build(execute);
    worker
        .run_until(async move {
            shutdown.await;
            Ok::<(), std::io::Error>(())
        })
        .await
        .context("running the sync worker")
}
