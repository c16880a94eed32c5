//! [`LoginThrottleStore`] on DynamoDB: one item per address
//! (`THROTTLE#<throttle_key>` / `W`, the key a SHA-256 of the address, see
//! [`throttle_key`](crate::store::throttle_key)) with `failures`,
//! `window_started_at` (epoch milliseconds) and `expires_at` (epoch seconds,
//! the table's TTL attribute, so abandoned windows clean themselves up).
//!
//! An attempt is one `UpdateItem`: `ADD failures 1` on condition "the window
//! still runs and holds fewer than max", so parallel attempts — from any
//! number of Lambda instances — are allowed one by one and never past the
//! max. When the condition fails, DynamoDB hands back the item as it was:
//! a full running window is the lockout; none, or one that ran out, is
//! restarted by a `SET` guarded by "there is no running window"; if someone
//! else restarted it in between, the `ADD` is tried again. TTL deletion is
//! lazy (up to days late), so every decision checks the times itself.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::{backend, classify};
use super::keys::{self, Item, LOGIN_WINDOW, mask_email};
use super::retry::{Step, retry};
use crate::domain::Email;
use crate::store::throttle::{window_active, window_end};
use crate::store::{LoginAttempt, LoginThrottleStore, StoreResult};

/// A window as stored.
#[derive(Deserialize)]
struct WindowItem {
    failures: u32,
    window_started_at: i64,
}

/// A window as read back: its count and when it started.
struct Window {
    failures: u32,
    started_at: DateTime<Utc>,
}

impl WindowItem {
    fn parse(item: Item) -> StoreResult<Window> {
        let w: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a login window"))?;
        let started_at = DateTime::from_timestamp_millis(w.window_started_at).ok_or_else(|| {
            backend(
                anyhow!("{} ms is out of range", w.window_started_at),
                "decoding a login window",
            )
        })?;
        Ok(Window {
            failures: w.failures,
            started_at,
        })
    }
}

/// What a conditional update did: counted (the window after it), or was
/// refused (the item as it was, if there was one).
enum Outcome {
    Counted(Window),
    Refused(Option<Window>),
}

/// The times one attempt is judged by, in the item's units.
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
    async fn register_login_attempt(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
        max: u32,
    ) -> StoreResult<LoginAttempt> {
        let times = Times::new(now, window);
        let times = &times;
        retry("counting a login attempt", |_| async move {
            match self.count_in_running_window(email, times, max).await? {
                Outcome::Counted(w) => {
                    return Ok(Step::Done(LoginAttempt::Allowed {
                        attempt: w.failures,
                    }));
                }
                Outcome::Refused(Some(w))
                    if window_active(w.started_at, now, window) && w.failures >= max =>
                {
                    let until = window_end(w.started_at, window);
                    return Ok(Step::Done(LoginAttempt::Locked { until }));
                }
                Outcome::Refused(_) => {}
            }
            // No running window: start one, unless another attempt just did.
            match self.start_window(email, times).await? {
                Outcome::Counted(w) => Ok(Step::Done(LoginAttempt::Allowed {
                    attempt: w.failures,
                })),
                Outcome::Refused(_) => Ok(Step::Raced),
            }
        })
        .await
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
    /// Adds one attempt to a running window that holds fewer than `max`.
    async fn count_in_running_window(
        &self,
        email: &Email,
        times: &Times,
        max: u32,
    ) -> StoreResult<Outcome> {
        let update = self
            .client
            .update_item()
            .update_expression("ADD failures :one")
            .condition_expression("window_started_at > :cutoff AND failures < :max")
            .expression_attribute_values(":one", keys::n(1))
            .expression_attribute_values(":cutoff", keys::n(times.cutoff_ms))
            .expression_attribute_values(":max", keys::n(i64::from(max)));
        self.conditional_window_update(update, email, "counting a login attempt")
            .await
    }

    /// Starts a window at one attempt, unless someone else already started
    /// a running one (then it is refused, and the caller counts into theirs).
    async fn start_window(&self, email: &Email, times: &Times) -> StoreResult<Outcome> {
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
        update: UpdateItemFluentBuilder,
        email: &Email,
        doing: &'static str,
    ) -> StoreResult<Outcome> {
        let sent = update
            .table_name(&self.table)
            .set_key(Some(window_key(email)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(out) => WindowItem::parse(out.attributes.unwrap_or_default()).map(Outcome::Counted),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let old = refused.item().cloned().map(WindowItem::parse);
                    Ok(Outcome::Refused(old.transpose()?))
                }
                _ => Err(classify(e, doing)),
            },
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
