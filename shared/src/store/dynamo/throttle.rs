//! [`LoginThrottleStore`] on DynamoDB: one item per address
//! (`THROTTLE#<email>` / `W`) with `failures`, `window_started_at` (epoch
//! milliseconds) and `expires_at` (epoch seconds, the table's TTL attribute,
//! so abandoned windows clean themselves up).
//!
//! Counting must not lose concurrent failures, and DynamoDB has no
//! "increment, or reset if stale" in one expression. So a failure is an
//! atomic `ADD` guarded by "the window still runs"; when that guard fails, a
//! `SET` guarded by "there is no running window" restarts it; if someone
//! else restarted it in between, the `ADD` is tried again. TTL deletion is
//! lazy (up to days late), so every read checks the times itself.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::{backend, classify};
use super::keys::{self, Item, LOGIN_WINDOW, mask_email};
use crate::domain::Email;
use crate::store::{LoginThrottleStore, LoginWindow, StoreError, StoreResult, window_active};

/// Rounds of add-then-restart before giving up. Each lost round means a
/// window expired and was restarted by someone else in between, so more
/// than a couple in a row only happen under pathological contention.
const MAX_ROUNDS: usize = 8;

#[derive(Deserialize)]
struct WindowItem {
    failures: u32,
    window_started_at: i64,
}

impl WindowItem {
    fn parse(item: Item) -> StoreResult<LoginWindow> {
        let w: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a login window"))?;
        let started_at = DateTime::from_timestamp_millis(w.window_started_at).ok_or_else(|| {
            backend(
                anyhow!("{} ms is out of range", w.window_started_at),
                "decoding a login window",
            )
        })?;
        Ok(LoginWindow {
            failures: w.failures,
            started_at,
        })
    }
}

/// The times one failure is judged by, in the item's units.
struct Times {
    now_ms: i64,
    /// A window that started at or before this has run out.
    cutoff_ms: i64,
    /// When the TTL may delete a window started now.
    expires_at: i64,
}

impl Times {
    fn new(now: DateTime<Utc>, window: Duration) -> Self {
        let now_ms = now.timestamp_millis();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let end_ms = now_ms.saturating_add(window_ms);
        Self {
            now_ms,
            cutoff_ms: now_ms.saturating_sub(window_ms),
            expires_at: end_ms.div_euclid(1000) + 1,
        }
    }
}

#[async_trait]
impl LoginThrottleStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(email = %mask_email(email)))]
    async fn login_window(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<LoginWindow>> {
        let item = self
            .get_item(window_key(email), "reading a login window")
            .await?;
        let current = item.map(WindowItem::parse).transpose()?;
        Ok(current.filter(|w| window_active(w.started_at, now, window)))
    }

    #[tracing::instrument(skip_all, fields(email = %mask_email(email)))]
    async fn record_login_failure(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<LoginWindow> {
        let times = Times::new(now, window);
        for _ in 0..MAX_ROUNDS {
            if let Some(w) = self.count_in_running_window(email, &times).await? {
                return Ok(w);
            }
            if let Some(w) = self.start_window(email, &times).await? {
                return Ok(w);
            }
        }
        Err(StoreError::Unavailable(anyhow!(
            "the login window kept being restarted under contention"
        )))
    }

    #[tracing::instrument(skip_all, fields(email = %mask_email(email)))]
    async fn clear_login_failures(&self, email: &Email) -> StoreResult<()> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(window_key(email)))
            .send()
            .await;
        sent.map(drop)
            .map_err(|e| classify(e, "clearing a login window"))
    }
}

impl DynamoStore {
    /// Adds one failure to a window that still runs; `None` if there is none.
    async fn count_in_running_window(
        &self,
        email: &Email,
        times: &Times,
    ) -> StoreResult<Option<LoginWindow>> {
        let update = self
            .client
            .update_item()
            .update_expression("ADD failures :one")
            .condition_expression("window_started_at > :cutoff")
            .expression_attribute_values(":one", keys::n(1))
            .expression_attribute_values(":cutoff", keys::n(times.cutoff_ms));
        self.conditional_window_update(update, email, "counting a login failure")
            .await
    }

    /// Starts a window at one failure, unless someone else already started a
    /// running one (then `None`, and the caller counts into theirs).
    async fn start_window(&self, email: &Email, times: &Times) -> StoreResult<Option<LoginWindow>> {
        let update = self
            .client
            .update_item()
            .update_expression(
                "SET failures = :one, window_started_at = :now, expires_at = :expires",
            )
            .condition_expression("attribute_not_exists(PK) OR window_started_at <= :cutoff")
            .expression_attribute_values(":one", keys::n(1))
            .expression_attribute_values(":now", keys::n(times.now_ms))
            .expression_attribute_values(":expires", keys::n(times.expires_at))
            .expression_attribute_values(":cutoff", keys::n(times.cutoff_ms));
        self.conditional_window_update(update, email, "starting a login window")
            .await
    }

    async fn conditional_window_update(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        email: &Email,
        doing: &'static str,
    ) -> StoreResult<Option<LoginWindow>> {
        let sent = update
            .table_name(&self.table)
            .set_key(Some(window_key(email)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => WindowItem::parse(out.attributes.unwrap_or_default()).map(Some),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e, doing)),
        }
    }
}

fn window_key(email: &Email) -> Item {
    keys::key(keys::throttle_pk(email), LOGIN_WINDOW)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_window_runs_out_exactly_at_its_length_and_expires_after() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 10, 30, 0)
            .single()
            .unwrap_or_default();
        let times = Times::new(now, Duration::from_secs(900));
        assert_eq!(times.cutoff_ms, now.timestamp_millis() - 900_000);
        assert!(
            times.expires_at > now.timestamp() + 900,
            "TTL never deletes a running window"
        );
        let huge = Times::new(now, Duration::MAX);
        assert!(
            huge.cutoff_ms < 0 && huge.expires_at > 0,
            "no overflow on absurd windows"
        );
    }
}
