//! sqlx errors → [`StoreError`]: what a retry may cure is `Unavailable`.

use crate::store::StoreError;

pub(super) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(db) if db.code().is_some_and(|c| transient_sqlstate(&c)) => {
            StoreError::Unavailable(e.into())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.into()),
        _ => StoreError::Backend(e.into()),
    }
}

/// Connection exceptions (08), insufficient resources (53), operator
/// intervention such as a shutdown or a cancelled statement (57), a revoked
/// connect right (42501 on connect is `Database`, but arrives as 28000/3D000
/// families at login time), a database closed to connections (55000,
/// `ALLOW_CONNECTIONS false`), serialization failures and deadlocks (40).
fn transient_sqlstate(code: &str) -> bool {
    ["08", "53", "57", "40"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(code, "28000" | "28P01" | "3D000" | "42501" | "55000")
}
