//! A fresh PostgreSQL database per test, dropped when the test ends.
//!
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! names the server and a database to administer from; each test gets its
//! own `nolose_t_<uuid>` beside it, so tests never see each other's rows.

use sqlx::{Connection, PgConnection};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database that exists for as long as this value lives.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("nolose_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at TEST_DATABASE_URL ({e}); run scripts/test")
        });
        // `name` is ours (a uuid), never input: safe to splice.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let url = with_database(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
        }
    }
}

impl TestDb {
    /// Makes the database unreachable for the app, as an outage would: new
    /// connections are refused and the open ones are killed.
    pub async fn go_down(&self) {
        self.admin(&[
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.name),
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        ])
        .await;
    }

    /// Ends [`go_down`](Self::go_down).
    pub async fn come_back(&self) {
        self.admin(&[&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        )])
        .await;
    }

    async fn admin(&self, statements: &[&str]) {
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .expect("admin connection");
        for sql in statements {
            // Only our own uuid-named database is spliced in, never input.
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

/// `url` with its path replaced by `/name` (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    /// Dropping needs async; a short-lived thread with its own runtime does it
    /// (best effort: `scripts/test` also sweeps leftovers before each run).
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                Ok::<_, sqlx::Error>(())
            })
            .map_err(std::io::Error::other)
        })
        .join();
    }
}

/// A fresh, migrated PostgreSQL store and the database it lives in (dropped
/// with the guard).
pub async fn fresh_store() -> (std::sync::Arc<dyn nolose_shared::store::Store>, TestDb) {
    let db = TestDb::create().await;
    let store = nolose_shared::store::postgres::PgStore::connect(&db.url, 8)
        .await
        .expect("connect and migrate");
    (std::sync::Arc::new(store), db)
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaces_the_path() {
        let cases = [
            ("postgres://u@h:5432/postgres", "postgres://u@h:5432/x"),
            ("postgres://u@h:5432", "postgres://u@h:5432/x"),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(super::with_database(url, "x"), want, "case {url}");
        }
    }
}
