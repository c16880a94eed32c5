//! [`IdempotencyStore`] on PostgreSQL: one row per (user, key) in
//! `idempotency_keys` (migration 0003). A reservation is one upsert that
//! only takes the row over when it has expired, so of concurrent
//! reservations the unique key lets exactly one through; the others read
//! what holds the key. Expired rows count as absent everywhere, and each
//! reservation sweeps a few of them (other keys only) in the same statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::PgStore;
use super::errors::map_err;
use crate::domain::UserId;
use crate::store::idempotency::after;
use crate::store::{
    Fingerprint, IDEMPOTENCY_LEASE, IDEMPOTENCY_TTL, IdempotencyKey, IdempotencyStore, LeaseToken,
    Reservation, StoreError, StoreResult,
};

/// Rows deleted per sweep: enough to keep up with any send rate, small
/// enough that a reservation never waits on a large delete.
const SWEEP_BATCH: i64 = 100;

/// Rounds of "reserve, else read" before giving up: a round is lost only
/// when the key was released or expired between the two statements.
const MAX_ROUNDS: usize = 4;

const RESERVE: &str = "
    WITH swept AS (
      DELETE FROM idempotency_keys
      WHERE (user_id, key) IN (
        SELECT user_id, key FROM idempotency_keys
        WHERE expires_at <= $5 AND NOT (user_id = $1 AND key = $2)
        ORDER BY expires_at LIMIT $7 FOR UPDATE SKIP LOCKED))
    INSERT INTO idempotency_keys AS k (user_id, key, fingerprint, lease_token, expires_at)
    VALUES ($1, $2, $3, $4, $6)
    ON CONFLICT (user_id, key) DO UPDATE SET
      fingerprint = EXCLUDED.fingerprint, lease_token = EXCLUDED.lease_token,
      response = NULL, expires_at = EXCLUDED.expires_at
    WHERE k.expires_at <= $5
    RETURNING lease_token";

#[derive(sqlx::FromRow)]
struct Holder {
    fingerprint: String,
    response: Option<Json<Value>>,
}

impl Holder {
    fn classify(self, fingerprint: &Fingerprint) -> Reservation {
        match self.response {
            _ if self.fingerprint != fingerprint.as_str() => Reservation::Reused,
            Some(Json(response)) => Reservation::Completed(response),
            None => Reservation::InProgress,
        }
    }
}

#[async_trait]
impl IdempotencyStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn reserve_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> StoreResult<Reservation> {
        self.run(move || async move {
            for _ in 0..MAX_ROUNDS {
                let lease = LeaseToken::new();
                let taken: Option<(String,)> = sqlx::query_as(RESERVE)
                    .bind(user.get())
                    .bind(key.as_str())
                    .bind(fingerprint.as_str())
                    .bind(lease.as_str())
                    .bind(now)
                    .bind(after(now, IDEMPOTENCY_LEASE))
                    .bind(SWEEP_BATCH)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                if taken.is_some() {
                    return Ok(Reservation::Reserved(lease));
                }
                if let Some(holder) = self.holder(user, key, now).await? {
                    return Ok(holder.classify(fingerprint));
                }
            }
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "an idempotency key kept changing hands under contention"
            )))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn complete_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        lease: &LeaseToken,
        response: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let done = self
            .run(move || async move {
                sqlx::query(
                    "UPDATE idempotency_keys SET response = $4, expires_at = $5
                     WHERE user_id = $1 AND key = $2 AND lease_token = $3 AND response IS NULL",
                )
                .bind(user.get())
                .bind(key.as_str())
                .bind(lease.as_str())
                .bind(Json(response))
                .bind(after(now, IDEMPOTENCY_TTL))
                .execute(&self.pool)
                .await
                .map_err(map_err)
            })
            .await?;
        held(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn release_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        lease: &LeaseToken,
    ) -> StoreResult<()> {
        let done = self
            .run(move || async move {
                sqlx::query(
                    "DELETE FROM idempotency_keys
                     WHERE user_id = $1 AND key = $2 AND lease_token = $3 AND response IS NULL",
                )
                .bind(user.get())
                .bind(key.as_str())
                .bind(lease.as_str())
                .execute(&self.pool)
                .await
                .map_err(map_err)
            })
            .await?;
        held(done.rows_affected())
    }
}

impl PgStore {
    /// What holds the key at `now`, if anything.
    async fn holder(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Holder>> {
        sqlx::query_as(
            "SELECT fingerprint, response FROM idempotency_keys
             WHERE user_id = $1 AND key = $2 AND expires_at > $3",
        )
        .bind(user.get())
        .bind(key.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }
}

/// One row changed: the reservation was still ours. None: it was not.
fn held(rows: u64) -> StoreResult<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}
