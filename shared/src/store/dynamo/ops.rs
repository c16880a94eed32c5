//! The request shapes every family repeats: paged `Query`, consistent
//! `BatchGetItem`, conditional `UpdateItem` and `TransactWriteItems` with
//! their failures sorted into "refused by a condition" (the caller decides
//! what that means), "contended" (try again) and errors.

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    ConditionCheck, KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};

use super::DynamoStore;
use super::errors::{backend, cancellation_codes, cancelled_transiently, classify, is_contention};
use super::keys::{IS_NEW, Item};
pub(super) use super::retry::backoff;
use crate::store::{Page, StoreError, StoreResult};

/// `BatchGetItem` takes at most this many keys per call.
const BATCH_GET_MAX: usize = 100;
/// Rounds of `UnprocessedKeys` before a batch read counts as throttled: the
/// retry policy's one limit (each round asks only for what is left).
const BATCH_GET_ROUNDS: usize = super::retry::MAX_ATTEMPTS;

/// What a conditional update did.
pub(super) enum Updated {
    /// The item after the update.
    Done(Item),
    /// The condition did not hold; the item as it was, if there was one.
    Refused(Option<Item>),
}

/// What a transaction did.
pub(super) enum Written {
    Committed,
    /// A condition did not hold: the reason code of each item, in order.
    Refused(Vec<String>),
    /// Another transaction held an item, or DynamoDB throttled: retry.
    Contended(StoreError),
}

impl DynamoStore {
    /// Up to `page.limit` items of a query, after skipping `page.skip`
    /// (read past, as DynamoDB has no offset).
    pub(super) async fn query_page(
        &self,
        query: QueryFluentBuilder,
        page: Page,
        doing: &'static str,
    ) -> StoreResult<Vec<Item>> {
        let (mut skip, limit) = (page.skip as usize, page.limit as usize);
        let mut items = Vec::with_capacity(limit.min(100));
        let mut start: Option<Item> = None;
        while items.len() < limit {
            let wanted = skip + limit - items.len();
            let out = query
                .clone()
                .table_name(&self.table)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(e, doing))?;
            let read = out.items.unwrap_or_default();
            let skipped = read.len().min(skip);
            skip -= skipped;
            items.extend(read.into_iter().skip(skipped).take(limit - items.len()));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(items)
    }

    /// The items of `keys` that exist, strongly consistent, in no
    /// particular order.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        doing: &'static str,
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = chunk.to_vec();
            for round in 1..=BATCH_GET_ROUNDS {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| backend(e, doing))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| classify(e, doing))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round == BATCH_GET_ROUNDS {
                    return Err(StoreError::Unavailable(
                        anyhow!("{} keys stayed unprocessed", pending.len()).context(doing),
                    ));
                }
                tokio::time::sleep(backoff(round)).await;
            }
        }
        Ok(found)
    }

    /// Sends an update, asking for the item after it, or before it when
    /// the condition refuses it.
    pub(super) async fn conditional_update(
        &self,
        update: UpdateItemFluentBuilder,
        doing: &'static str,
    ) -> StoreResult<Updated> {
        let sent = update
            .table_name(&self.table)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Updated::Done(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(Updated::Refused(refused.item.clone()))
                }
                _ => Err(classify(e, doing)),
            },
        }
    }

    /// Runs one transaction (at most 100 items). The SDK gives each call an
    /// idempotency token that its own retries reuse, so a commit whose
    /// answer was lost comes back as committed, not as refused by itself.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        doing: &'static str,
    ) -> StoreResult<Written> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(err) = sent else {
            return Ok(Written::Committed);
        };
        let Some(codes) = cancellation_codes(&err) else {
            // Only contention is retried ([`super::retry`]): a timeout or an
            // unreachable table is `Unavailable` now, not after five of them.
            let contended = is_contention(&err);
            return match classify(err, doing) {
                StoreError::Unavailable(e) if contended => {
                    Ok(Written::Contended(StoreError::Unavailable(e)))
                }
                other => Err(other),
            };
        };
        if cancelled_transiently(&codes) {
            let err = anyhow::Error::new(err).context(format!("{doing}: cancelled ({codes:?})"));
            Ok(Written::Contended(StoreError::Unavailable(err)))
        } else {
            Ok(Written::Refused(codes))
        }
    }

    /// A transaction item that creates `item` and refuses to overwrite.
    pub(super) fn put_new(&self, item: Item) -> StoreResult<TransactWriteItem> {
        self.put_if(item, IS_NEW)
    }

    /// A transaction item that only checks that `condition` holds on `key`.
    pub(super) fn check(&self, key: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .build()
            .map_err(|e| backend(e, "building a condition check"))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A transaction item that writes `item` whatever was there.
    pub(super) fn put(&self, item: Item) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| backend(e, "building a put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction item that writes `item` if `condition` holds.
    pub(super) fn put_if(&self, item: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|e| backend(e, "building a conditional put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
