//! The one way a [`PgStore`] operation reaches PostgreSQL: [`PgStore::run`]
//! bounds it in time and survives the dead connections a database restart
//! leaves in the pool, so that no operation can forget either.

use std::future::Future;

use super::PgStore;
use super::errors::never_ran;
use crate::store::{StoreError, StoreResult};

impl PgStore {
    /// Runs one store operation (`op` builds it afresh on each call), bounded
    /// as a whole, every statement and a retry included, by the operation
    /// timeout (`statement_timeout` covers one statement at a time, and a
    /// server that went silent answers nothing at all).
    ///
    /// **One retry, only of what never ran.** After PostgreSQL restarts (or
    /// an administrator terminates backends), every idle connection in the
    /// pool is dead, and the pool does not ping before handing one out (a
    /// round trip per call would cost the webhook path a third of its round
    /// trips). The first statement on such a connection fails, and only then
    /// do we learn that it was dead. The operation is run once more, on a
    /// fresh connection, when the error proves that the failed statement had
    /// no effect ([`never_ran`]):
    ///
    /// - a write that failed with a broken pipe / reset / not connected: the
    ///   server had closed its end before our message was complete, and
    ///   PostgreSQL neither executes a message it has not wholly read nor
    ///   commits an implicit transaction before its `Sync`;
    /// - `57P01 admin_shutdown` / `57P02 crash_shutdown`: the backend was
    ///   terminated. On an idle connection that happened before our statement
    ///   was even read; during a statement, the FATAL error aborts its
    ///   transaction (a commit holds interrupts off until it is done).
    ///
    /// Ambiguous errors (end of file after the statement was sent, statement
    /// or lock timeouts, anything else) are not retried. Retrying the whole
    /// operation is safe because every statement before the failed one either
    /// ran to its end and is written to be run again — inserts are
    /// insert-if-new (`ON CONFLICT`), updates compare-and-set on what they
    /// read, counters count through a row that cannot be inserted twice — or
    /// belonged to a transaction the dead connection rolled back. So even in
    /// the one window the reasoning above leaves open (a termination landing
    /// between a commit and its acknowledgement), a retried insert finds its
    /// own row and reports it as already stored: it never doubles.
    ///
    /// Before the retry the pool's idle connections are evicted: they died
    /// the same way.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let attempts = async {
            match op().await {
                Err(e) if never_ran(&e) => {
                    tracing::warn!(
                        error = %error_chain(&e),
                        "a pooled PostgreSQL connection was dead; running the operation again"
                    );
                    self.evict_idle();
                    op().await
                }
                done => done,
            }
        };
        tokio::time::timeout(self.operation_timeout, attempts)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(anyhow::anyhow!(
                    "no answer from PostgreSQL within {:?}",
                    self.operation_timeout
                )))
            })
    }

    /// Takes every idle connection out of the pool and lets it go again: the
    /// pool tests a connection on its way back (sqlx pings on release, off
    /// the caller's path), closing the dead and keeping the live.
    fn evict_idle(&self) {
        let idle: Vec<_> = std::iter::from_fn(|| self.pool.try_acquire())
            .take(self.pool.num_idle())
            .collect();
        drop(idle);
    }
}

fn error_chain(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(cause) | StoreError::Backend(cause) => format!("{cause:#}"),
        other => other.to_string(),
    }
}
