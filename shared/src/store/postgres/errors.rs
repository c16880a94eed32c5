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

/// Whether `e` proves that the statement which failed never ran, so that
/// running it again cannot apply it twice (the reasoning is on
/// [`PgStore::run`](super::PgStore::run)): a write to a connection whose
/// server end was already closed, or a backend terminated by an
/// administrator or a crash. An end of file after the statement was sent is
/// not proof: the server may have committed it before it went away.
pub(super) fn never_ran(e: &StoreError) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionReset, NotConnected};
    let StoreError::Unavailable(cause) = e else {
        return false;
    };
    match cause.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Io(io)) => {
            matches!(io.kind(), BrokenPipe | ConnectionReset | NotConnected)
        }
        Some(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("57P01" | "57P02"))
        }
        _ => false,
    }
}

/// Connection exceptions (08), insufficient resources (53), operator
/// intervention such as a shutdown or a cancelled statement (57), a revoked
/// connect right (42501 on connect is `Database`, but arrives as 28000/3D000
/// families at login time), a database closed to connections (55000,
/// `ALLOW_CONNECTIONS false`), a lock not granted within `lock_timeout`
/// (55P03), serialization failures and deadlocks (40).
fn transient_sqlstate(code: &str) -> bool {
    ["08", "53", "57", "40"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(
            code,
            "28000" | "28P01" | "3D000" | "42501" | "55000" | "55P03"
        )
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::io;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::{map_err, never_ran};
    use crate::store::StoreError;

    /// A server error carrying only its SQLSTATE, as PostgreSQL sends one.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl StdError for Sqlstate {}

    impl DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            match self.0 {
                "23505" => ErrorKind::UniqueViolation,
                "23503" => ErrorKind::ForeignKeyViolation,
                _ => ErrorKind::Other,
            }
        }
    }

    fn server(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Sqlstate(code)))
    }

    fn class(e: &StoreError) -> &'static str {
        match e {
            StoreError::NotFound => "not found",
            StoreError::Conflict => "conflict",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Backend(_) => "backend",
        }
    }

    #[test]
    fn a_database_that_is_down_or_unreachable_is_unavailable() {
        let cases = [
            (
                "connection refused",
                io::Error::from(io::ErrorKind::ConnectionRefused).into(),
            ),
            (
                "connection reset",
                io::Error::from(io::ErrorKind::ConnectionReset).into(),
            ),
            ("pool acquire timeout", sqlx::Error::PoolTimedOut),
            ("pool closed", sqlx::Error::PoolClosed),
            ("admin shutdown", server("57P01")),
            ("crash shutdown", server("57P02")),
            ("server starting up", server("57P03")),
            ("statement timeout", server("57014")),
            ("connection failure", server("08006")),
            ("too many connections", server("53300")),
            ("database closed to connections", server("55000")),
            ("lock timeout", server("55P03")),
            ("deadlock", server("40P01")),
            ("serialization failure", server("40001")),
        ];
        for (case, e) in cases {
            assert_eq!(class(&map_err(e)), "unavailable", "case {case}");
        }
    }

    #[test]
    fn other_errors_keep_their_meaning() {
        let cases = [
            ("no row", sqlx::Error::RowNotFound, "not found"),
            ("unique violation", server("23505"), "conflict"),
            ("foreign key violation", server("23503"), "backend"),
            ("syntax error", server("42601"), "backend"),
            (
                "bad column",
                sqlx::Error::ColumnNotFound("x".into()),
                "backend",
            ),
        ];
        for (case, e, want) in cases {
            assert_eq!(class(&map_err(e)), want, "case {case}");
        }
    }

    #[test]
    fn only_errors_that_prove_the_statement_never_ran_are_retried() {
        let io = |kind: io::ErrorKind| sqlx::Error::from(io::Error::from(kind));
        let cases = [
            (
                "write to a closed connection",
                io(io::ErrorKind::BrokenPipe),
                true,
            ),
            ("connection reset", io(io::ErrorKind::ConnectionReset), true),
            ("not connected", io(io::ErrorKind::NotConnected), true),
            ("backend terminated", server("57P01"), true),
            ("server crashed", server("57P02"), true),
            (
                "closed after the statement was sent",
                io(io::ErrorKind::UnexpectedEof),
                false,
            ),
            (
                "connection refused",
                io(io::ErrorKind::ConnectionRefused),
                false,
            ),
            ("statement timeout", server("57014"), false),
            ("lock timeout", server("55P03"), false),
            ("database closed to connections", server("55000"), false),
            ("serialization failure", server("40001"), false),
            ("pool acquire timeout", sqlx::Error::PoolTimedOut, false),
            ("unique violation", server("23505"), false),
        ];
        for (case, e, want) in cases {
            assert_eq!(never_ran(&map_err(e)), want, "case {case}");
        }
    }

    /// The real thing: nothing listens on port 1.
    #[tokio::test]
    async fn a_refused_connection_is_unavailable() {
        use crate::store::Store;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(500))
            .connect_lazy("postgres://postgres@127.0.0.1:1/nolose")
            .expect("a valid url");
        let r = super::super::PgStore::from_pool(pool).ping().await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    }
}
