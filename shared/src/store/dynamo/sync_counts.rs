//! Counting one finished chat of a sync run on DynamoDB: the chat's marker
//! and the counters in one transaction (a repeated report is refused by
//! the marker and counts nothing), then `done` set by the report that
//! finds nothing left.

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::{
    CONDITION_FAILED, backend, cancellation_codes, cancelled_transiently, classify,
};
use super::keys::{self, EXISTS, IS_NEW, n, s};
use super::sync_runs::{parse, run_key};
use crate::domain::UserId;
use crate::store::{ChatOutcome, ContactId, StoreError, StoreResult, SyncId, SyncRun};

/// Chat markers only guard against redelivery, which SQS stops after days.
const MARKER_TTL_SECS: i64 = 30 * 24 * 3600;

impl DynamoStore {
    /// Counts the chat unless it was counted; `false` if it was.
    pub(super) async fn count_chat(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (done, failed, messages) = match outcome {
            ChatOutcome::Done { new_messages } => (1, 0, new_messages),
            ChatOutcome::Failed => (0, 1, 0),
        };
        let mut marker = keys::key(keys::user_pk(user), &keys::sync_chat_sk(run, contact));
        marker.insert("expires_at".into(), n(now.timestamp() + MARKER_TTL_SECS));
        marker.insert("failed".into(), AttributeValue::Bool(failed == 1));
        let marker = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression(IS_NEW)
            .build()
            .map_err(|e| backend(e, "building a chat marker"))?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(run_key(user, run)))
            .update_expression(
                "ADD chats_done :d, chats_failed :f, messages_synced :m, chats_left :minus \
                 SET updated_at = :now",
            )
            .condition_expression(EXISTS)
            .expression_attribute_values(":d", n(done))
            .expression_attribute_values(":f", n(failed))
            .expression_attribute_values(":m", n(i64::try_from(messages).unwrap_or(i64::MAX)))
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .build()
            .map_err(|e| backend(e, "building a sync count"))?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(marker).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        let Err(err) = sent else {
            return Ok(true);
        };
        let Some(codes) = cancellation_codes(&err) else {
            return Err(classify(err, "counting a synced chat"));
        };
        match (
            codes.first().map(String::as_str),
            codes.get(1).map(String::as_str),
        ) {
            (_, Some(CONDITION_FAILED)) => Err(StoreError::NotFound),
            (Some(CONDITION_FAILED), _) => Ok(false),
            _ if cancelled_transiently(&codes) => Err(StoreError::Unavailable(anyhow!(
                "counting a synced chat: cancelled ({codes:?})"
            ))),
            _ => Err(backend(
                anyhow!("cancelled ({codes:?})"),
                "counting a synced chat",
            )),
        }
    }

    /// Sets `done` if every chat is counted and nobody set it yet.
    pub(super) async fn mark_done(
        &self,
        user: UserId,
        run: SyncId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SyncRun>> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(run_key(user, run)))
            .update_expression("SET #state = :done, finished_at = :now")
            .condition_expression("chats_left <= :zero AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => parse(user, out.attributes.unwrap_or_default()).map(Some),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e, "finishing a sync run")),
        }
    }
}
