//! [`IdempotencyStore`] on DynamoDB: one item per key, `USER#<uid>` /
//! `IDEM#<key>`, with `fingerprint`, `lease_token`, `response` (the JSON
//! text, absent while the request runs), `valid_until` (epoch milliseconds:
//! the end of the lease, then of the 24 hours) and `expires_at` (epoch
//! seconds, the table's TTL attribute, so forgotten keys clean themselves up).
//!
//! A reservation is one conditional `PutItem` that only overwrites an item
//! whose `valid_until` has passed, so of concurrent reservations exactly one
//! is accepted; the others get the holder back with the condition failure
//! (or read it, where the emulator does not return it). TTL deletion is lazy
//! (up to days late), so every decision compares `valid_until` itself.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::DynamoStore;
use super::errors::{backend, classify};
use super::keys::{self, Item};
use super::retry::{Step, retry};
use crate::domain::UserId;
use crate::store::idempotency::after;
use crate::store::{
    Fingerprint, IDEMPOTENCY_LEASE, IDEMPOTENCY_TTL, IdempotencyKey, IdempotencyStore, LeaseToken,
    Reservation, StoreError, StoreResult,
};

/// Taken over only when absent or past its validity.
const FREE: &str = "attribute_not_exists(PK) OR valid_until <= :now";
/// Still the reservation of this lease, not completed yet (`#r` is
/// `response`, a DynamoDB reserved word).
const HELD: &str = "lease_token = :lease AND attribute_not_exists(#r)";

#[derive(Deserialize)]
struct IdemItem {
    fingerprint: String,
    valid_until: i64,
    response: Option<String>,
}

impl IdemItem {
    fn parse(item: Item) -> StoreResult<Self> {
        serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding an idempotency key"))
    }

    fn classify(self, fingerprint: &Fingerprint) -> StoreResult<Reservation> {
        if self.fingerprint != fingerprint.as_str() {
            return Ok(Reservation::Reused);
        }
        match self.response {
            Some(text) => serde_json::from_str(&text)
                .map(Reservation::Completed)
                .map_err(|e| backend(e, "decoding a stored response")),
            None => Ok(Reservation::InProgress),
        }
    }
}

/// `valid_until` in milliseconds, and the TTL just after it in seconds.
fn validity(until: DateTime<Utc>) -> (i64, i64) {
    let ms = until.timestamp_millis();
    (ms, ms.div_euclid(1000) + 1)
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn reserve_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        now: DateTime<Utc>,
    ) -> StoreResult<Reservation> {
        let now_ms = now.timestamp_millis();
        // An expired holder is overwritten by the next attempt's condition;
        // a live one answers for the key.
        retry("reserving an idempotency key", |_| async move {
            let lease = LeaseToken::new();
            let Some(holder) = self
                .try_reserve(user, key, fingerprint, &lease, now)
                .await?
            else {
                return Ok(Step::Done(Reservation::Reserved(lease)));
            };
            let holder = match holder {
                Some(item) => Some(item),
                None => {
                    self.get_item(idem_key(user, key), "reading an idempotency key")
                        .await?
                }
            };
            let live = holder.map(IdemItem::parse).transpose()?;
            match live.filter(|i| i.valid_until > now_ms) {
                Some(item) => item.classify(fingerprint).map(Step::Done),
                None => Ok(Step::Raced),
            }
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
        let (valid_until, expires_at) = validity(after(now, IDEMPOTENCY_TTL));
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(idem_key(user, key)))
            .update_expression("SET #r = :r, valid_until = :valid, expires_at = :ttl")
            .condition_expression(HELD)
            .expression_attribute_names("#r", "response")
            .expression_attribute_values(":r", keys::s(response.to_string()))
            .expression_attribute_values(":valid", keys::n(valid_until))
            .expression_attribute_values(":ttl", keys::n(expires_at))
            .expression_attribute_values(":lease", keys::s(lease.as_str()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(classify(e, "completing an idempotency key")),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn release_idempotency_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        lease: &LeaseToken,
    ) -> StoreResult<()> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(idem_key(user, key)))
            .condition_expression(HELD)
            .expression_attribute_names("#r", "response")
            .expression_attribute_values(":lease", keys::s(lease.as_str()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(DeleteItemError::is_conditional_check_failed_exception) =>
            {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(classify(e, "releasing an idempotency key")),
        }
    }
}

impl DynamoStore {
    /// Writes a fresh reservation unless the key is held. `None`: written.
    /// `Some(holder)`: refused, with the holding item when DynamoDB
    /// returned it (`Some(None)` when it did not).
    async fn try_reserve(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        lease: &LeaseToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Option<Item>>> {
        let (valid_until, expires_at) = validity(after(now, IDEMPOTENCY_LEASE));
        let mut item = idem_key(user, key);
        item.insert("fingerprint".into(), keys::s(fingerprint.as_str()));
        item.insert("lease_token".into(), keys::s(lease.as_str()));
        item.insert("valid_until".into(), keys::n(valid_until));
        item.insert("expires_at".into(), keys::n(expires_at));
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(FREE)
            .expression_attribute_values(":now", keys::n(now.timestamp_millis()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(Some(refused.item().cloned()))
                }
                _ => Err(classify(e, "reserving an idempotency key")),
            },
        }
    }
}

fn idem_key(user: UserId, key: &IdempotencyKey) -> Item {
    keys::key(keys::user_pk(user), &keys::idempotency_sk(key))
}
