//! HTTP plumbing shared by every router: the state handlers receive
//! ([`AppState`]), the JSON body extractor ([`ApiJson`]) and [`app`], which
//! wraps a set of routes with what API.md asks of every response.

mod extract;
mod in_flight;
mod layers;
mod nesting;

use std::sync::Arc;

pub use extract::{ApiJson, ApiQuery, OptionalJson};
pub use in_flight::limit_in_flight;
pub use layers::{CLIENT_BODY_LIMIT, CommonApi, WEBHOOK_BODY_LIMIT, app};
pub use nesting::{MAX_JSON_DEPTH, too_deep};

use crate::auth::{PasswordHasher, TokenKeys};
use crate::config::Config;
use crate::evolution::{Evolution, HttpEvolution};
use crate::jobs::{JobQueue, NoQueue};
use crate::secrets::SecretCache;
use crate::store::Store;
use crate::time::{Clock, SystemClock};

/// What every handler can reach. Built once per process (per Lambda cold
/// start), cloned per request: every field is an `Arc` or cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    /// Evolution API v2 (the HTTP client; tests point it at `evosim`).
    pub evolution: Arc<dyn Evolution>,
    /// Where per-chat sync jobs go (SQS, apalis); [`NoQueue`] by default.
    pub jobs: Arc<dyn JobQueue>,
    /// Per-instance webhook secrets already read from the store.
    pub webhook_secrets: Arc<SecretCache>,
    pub tokens: TokenKeys,
    pub passwords: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    /// Extra readiness checks of the deployment (local mode: the job queue).
    pub readiness: Arc<[ReadinessCheck]>,
}

/// A named readiness probe, answered by `GET /api/health/ready`.
pub type ReadinessCheck = (
    &'static str,
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, bool> + Send + Sync>,
);

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let tokens = TokenKeys::new(config.secret_key_bytes(), config.access_token_ttl);
        let evolution: Arc<dyn Evolution> = Arc::new(HttpEvolution::from_config(&config)?);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            config: Arc::new(config),
            store,
            evolution,
            jobs: Arc::new(NoQueue),
            webhook_secrets: Arc::default(),
            tokens,
            passwords: PasswordHasher::new(cpus)?,
            clock: Arc::new(SystemClock),
            readiness: Arc::from([]),
        })
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_evolution(mut self, evolution: Arc<dyn Evolution>) -> Self {
        self.evolution = evolution;
        self
    }

    pub fn with_jobs(mut self, jobs: Arc<dyn JobQueue>) -> Self {
        self.jobs = jobs;
        self
    }

    pub fn with_readiness(mut self, checks: Vec<ReadinessCheck>) -> Self {
        self.readiness = checks.into();
        self
    }
}
