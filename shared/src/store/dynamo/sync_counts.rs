//! Counting one finished chat of a sync run on DynamoDB. The chat's item
//! holds the tally of messages its jobs newly stored (added to by the
//! insert transactions, see [`tally_update`]); the report reads it, then
//! marks the chat `counted` and adds the tally to the run in one
//! transaction, conditioned on the tally being what was read and the run
//! still `running`. So a repeated report counts nothing, a rerun of a job
//! that found its page already stored still counts it, and a report racing
//! the stale finish either counts before it or not at all. `done` is then
//! set by the report that finds nothing left, and a stale run is finished
//! by [`DynamoStore::finish_stale`].

use std::time::Duration;

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, backend, classify};
use super::keys::{self, EXISTS, Item, n, s};
use super::ops::Written;
use super::retry::{Step, retry};
use super::sync_runs::{parse, run_key};
use crate::domain::UserId;
use crate::store::{ChatOutcome, ContactId, StoreResult, SyncId, SyncRun, SyncTally};

/// Chat items only guard against redelivery, which SQS stops after days.
const MARKER_TTL_SECS: i64 = 30 * 24 * 3600;

fn chat_key(user: UserId, run: SyncId, contact: ContactId) -> Item {
    keys::key(keys::user_pk(user), &keys::sync_chat_sk(run, contact))
}

/// What a chat's item says: whether it was counted, and its tally.
struct ChatTally {
    counted: bool,
    stored: i64,
}

/// The transaction item adding `new` freshly stored messages to the
/// tally of `tally`'s chat: one item per insert transaction, not per message.
pub(super) fn tally_update(
    table: &str,
    user: UserId,
    tally: SyncTally,
    new: usize,
    now: DateTime<Utc>,
) -> StoreResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(chat_key(user, tally.run, tally.chat)))
        .update_expression("ADD tallied :n SET expires_at = :exp")
        .expression_attribute_values(":n", n(i64::try_from(new).unwrap_or(i64::MAX)))
        .expression_attribute_values(":exp", n(now.timestamp() + MARKER_TTL_SECS))
        .build()
        .map_err(|e| backend(e, "building a sync tally"))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl DynamoStore {
    /// Counts the chat unless it was counted or the run is not running;
    /// `false` if it did not count it.
    pub(super) async fn count_chat(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        retry("counting a synced chat", |_| async move {
            let read = self.chat_tally(user, run, contact).await?;
            if read.counted {
                return Ok(Step::Done(false));
            }
            let items = vec![
                self.mark_counted(user, run, contact, outcome, &read, now)?,
                self.add_to_run(user, run, outcome, read.stored, now)?,
            ];
            let items = self.transact(items, "counting a synced chat").await?;
            match items {
                Written::Committed => Ok(Step::Done(true)),
                Written::Contended(err) => Ok(Step::Contended(err)),
                Written::Refused(codes) => match (
                    codes.first().map(String::as_str),
                    codes.get(1).map(String::as_str),
                ) {
                    // Gone, or no longer running: the caller reads which.
                    (_, Some(CONDITION_FAILED)) => Ok(Step::Done(false)),
                    // Counted meanwhile, or the tally moved: read again.
                    (Some(CONDITION_FAILED), _) => Ok(Step::Raced),
                    _ => Err(backend(
                        anyhow!("cancelled ({codes:?})"),
                        "counting a synced chat",
                    )),
                },
            }
        })
        .await
    }

    async fn chat_tally(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
    ) -> StoreResult<ChatTally> {
        let item = self
            .get_item(chat_key(user, run, contact), "reading a chat tally")
            .await?
            .unwrap_or_default();
        let stored = match item.get("tallied") {
            Some(v) => v
                .as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| backend(anyhow!("not a number"), "reading a chat tally"))?,
            None => 0,
        };
        Ok(ChatTally {
            counted: item.contains_key("counted"),
            stored,
        })
    }

    /// Marks the chat counted, if nobody did and its tally is as read.
    fn mark_counted(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        read: &ChatTally,
        now: DateTime<Utc>,
    ) -> StoreResult<TransactWriteItem> {
        let same_tally = if read.stored == 0 {
            "(attribute_not_exists(tallied) OR tallied = :stored)"
        } else {
            "tallied = :stored"
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(chat_key(user, run, contact)))
            .update_expression("SET counted = :yes, failed = :failed, expires_at = :exp")
            .condition_expression(format!("attribute_not_exists(counted) AND {same_tally}"))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(
                ":failed",
                AttributeValue::Bool(outcome == ChatOutcome::Failed),
            )
            .expression_attribute_values(":exp", n(now.timestamp() + MARKER_TTL_SECS))
            .expression_attribute_values(":stored", n(read.stored))
            .build()
            .map_err(|e| backend(e, "building a chat mark"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Adds the chat and its tally to the counters of a running run.
    fn add_to_run(
        &self,
        user: UserId,
        run: SyncId,
        outcome: ChatOutcome,
        stored: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<TransactWriteItem> {
        let (done, failed) = match outcome {
            ChatOutcome::Done => (1, 0),
            ChatOutcome::Failed => (0, 1),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(run_key(user, run)))
            .update_expression(
                "ADD chats_done :d, chats_failed :f, messages_synced :m, chats_left :minus \
                 SET updated_at = :now, progressed_at = :now",
            )
            .condition_expression(format!("{EXISTS} AND #state = :running"))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":d", n(done))
            .expression_attribute_values(":f", n(failed))
            .expression_attribute_values(":m", n(stored))
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .build()
            .map_err(|e| backend(e, "building a sync count"))?;
        Ok(TransactWriteItem::builder().update(update).build())
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
        self.settle_update(user, sent, "finishing a sync run")
    }

    /// Finishes `run` as `done` if it is still running and made no progress
    /// since `now - stale_after`; its unreported chats count as failed.
    /// `None` when a report moved it on (or something finished it) first.
    pub(super) async fn finish_stale(
        &self,
        run: &SyncRun,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<Option<SyncRun>> {
        let after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
        let Some(cutoff) = now.checked_sub_signed(after) else {
            return Ok(None);
        };
        // Items written before `progressed_at` existed progress by
        // `updated_at` (each count), else by their start.
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(run_key(run.user_id, run.id)))
            .update_expression(
                "SET #state = :done, finished_at = :now, \
                 chats_failed = chats_total - chats_done, chats_left = :zero",
            )
            .condition_expression(
                "#state = :running AND (progressed_at <= :cutoff OR \
                 (attribute_not_exists(progressed_at) AND (updated_at <= :cutoff OR \
                 (attribute_not_exists(updated_at) AND started_at <= :cutoff))))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":cutoff", n(cutoff.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let finished = self.settle_update(run.user_id, sent, "finishing a stale sync run")?;
        if finished.is_some() {
            tracing::warn!(user_id = %run.user_id, sync_id = %run.id, "finished a stale sync run");
        }
        Ok(finished)
    }

    fn settle_update(
        &self,
        user: UserId,
        sent: Result<
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
            aws_sdk_dynamodb::error::SdkError<
                UpdateItemError,
                aws_sdk_dynamodb::config::http::HttpResponse,
            >,
        >,
        doing: &'static str,
    ) -> StoreResult<Option<SyncRun>> {
        match sent {
            Ok(out) => parse(user, out.attributes.unwrap_or_default()).map(Some),
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
