//! [`LoginThrottleStore`] on PostgreSQL: one row per address in
//! `login_failures`, keyed by [`throttle_key`] (the column is still named
//! `email`; rows keyed by the address itself, from before the key changed,
//! are run-out windows no one reads).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::Email;
use crate::store::throttle::window_end;
use crate::store::{LoginAttempt, LoginThrottleStore, StoreResult, throttle_key};

fn cutoff(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Counts an attempt unless the running window is full. The conflicting
/// row is locked and the `WHERE` judged on its latest version, so
/// concurrent attempts are counted one by one and none past `$4`; a window
/// that ran out (started at or before `$3`) restarts at 1.
const COUNT_ATTEMPT: &str = "
    INSERT INTO login_failures AS f (email, failures, window_started_at) VALUES ($1, 1, $2)
    ON CONFLICT (email) DO UPDATE SET
      failures = CASE WHEN f.window_started_at > $3 THEN f.failures + 1 ELSE 1 END,
      window_started_at = CASE WHEN f.window_started_at > $3 THEN f.window_started_at ELSE $2 END
    WHERE f.window_started_at <= $3 OR f.failures < $4
    RETURNING failures";

#[async_trait]
impl LoginThrottleStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn register_login_attempt(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
        max: u32,
    ) -> StoreResult<LoginAttempt> {
        let key = &throttle_key(email);
        let counted: Option<i32> = self
            .run(move || async move {
                sqlx::query_scalar(COUNT_ATTEMPT)
                    .bind(key)
                    .bind(now)
                    .bind(cutoff(now, window))
                    .bind(i32::try_from(max).unwrap_or(i32::MAX))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            })
            .await?;
        if let Some(attempt) = counted {
            return Ok(LoginAttempt::Allowed {
                attempt: attempt.max(0) as u32,
            });
        }
        // Full: when it empties only sets Retry-After, so a second read is fine.
        let started: Option<DateTime<Utc>> = self
            .run(move || async move {
                sqlx::query_scalar("SELECT window_started_at FROM login_failures WHERE email = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            })
            .await?;
        Ok(LoginAttempt::Locked {
            until: started.map_or(now, |s| window_end(s, window)),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn clear_login_failures(&self, email: &Email) -> StoreResult<()> {
        let key = &throttle_key(email);
        self.run(move || async move {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(key)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }
}
