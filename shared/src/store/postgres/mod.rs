//! PostgreSQL adapter (local mode): sqlx, migrations in `shared/migrations`
//! applied at start. Every operation goes through [`PgStore::run`] (module
//! `run`): bounded by [`OPERATION_TIMEOUT`], and run once more on a fresh
//! connection when its pooled one turned out dead.

mod contacts;
mod errors;
mod idempotency;
mod instances;
mod messages;
mod run;
mod sync_runs;
mod throttle;
mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Postgres};

use super::{OPERATION_TIMEOUT, Store, StoreResult};
use errors::map_err;

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// [`OPERATION_TIMEOUT`] in production; tests shorten it.
    operation_timeout: Duration,
}

/// How many connections the local server keeps at most: enough for the
/// webhook burst budget, small enough for a 1 GB VM shared with PostgreSQL.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// A pooled connection idle for longer is pinged before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

impl PgStore {
    /// Connects (creating the database if it does not exist yet, so a fresh
    /// machine needs no manual step) and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        if !Postgres::database_exists(url)
            .await
            .context("checking that the database exists")?
        {
            Postgres::create_database(url)
                .await
                .context("creating the database")?;
        }
        // Generic plans: every statement here is a lookup on an index that
        // leads with its keys, which a generic plan serves as well, and the
        // message batch (parameter arrays) would otherwise be planned anew on
        // every call, at twice the cost of running it.
        let options = PgConnectOptions::from_str(url)
            .context("parsing DATABASE_URL")?
            .options([
                ("statement_timeout", "5s"),
                ("lock_timeout", "5s"),
                ("plan_cache_mode", "force_generic_plan"),
            ]);
        let pool = PgPoolOptions::new()
            // A round trip per call only to check a connection that was just
            // in use would cost the webhook path a third of its round trips;
            // one that sat idle (the server may have restarted) is checked.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(OPERATION_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options);
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            operation_timeout: OPERATION_TIMEOUT,
        }
    }

    /// Bounds every operation by `timeout` instead of [`OPERATION_TIMEOUT`]
    /// (tests, which wait for a timeout to happen).
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .context("applying migrations")
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        self.run(move || async move {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }
}
