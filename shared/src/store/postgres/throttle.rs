use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::Email;
use crate::store::{LoginThrottleStore, LoginWindow, StoreResult, window_active};

fn cutoff(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// One upsert: the row lock makes concurrent failures count one by one, and
/// a window that has run out restarts at 1.
const RECORD_FAILURE: &str =
    "INSERT INTO login_failures AS f (email, failures, window_started_at) VALUES ($1, 1, $2)
     ON CONFLICT (email) DO UPDATE SET
       failures = CASE WHEN f.window_started_at > $3 THEN f.failures + 1 ELSE 1 END,
       window_started_at = CASE WHEN f.window_started_at > $3 THEN f.window_started_at ELSE $2 END
     RETURNING failures, window_started_at";

#[async_trait]
impl LoginThrottleStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn login_window(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<LoginWindow>> {
        let row: Option<(i32, DateTime<Utc>)> = self
            .run(move || async move {
                sqlx::query_as(
                    "SELECT failures, window_started_at FROM login_failures WHERE email = $1",
                )
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)
            })
            .await?;
        Ok(row
            .filter(|(_, started)| window_active(*started, now, window))
            .map(|(failures, started_at)| LoginWindow {
                failures: failures.max(0) as u32,
                started_at,
            }))
    }

    #[tracing::instrument(skip_all)]
    async fn record_login_failure(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<LoginWindow> {
        let (failures, started_at): (i32, DateTime<Utc>) = self
            .run(move || async move {
                sqlx::query_as(RECORD_FAILURE)
                    .bind(email.as_str())
                    .bind(now)
                    .bind(cutoff(now, window))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)
            })
            .await?;
        Ok(LoginWindow {
            failures: failures.max(0) as u32,
            started_at,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn clear_login_failures(&self, email: &Email) -> StoreResult<()> {
        self.run(move || async move {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(email.as_str())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }
}
