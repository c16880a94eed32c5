//! [`SyncRunStore`] on DynamoDB. Items, all under `USER#<uid>`:
//!
//! - the run, `SYNC#<id>`: counters kept with `ADD`, so concurrent jobs
//!   never lose a count, and `chats_left` counting down to zero;
//! - the pointer to the latest run, `SYNC`: starting a run swaps it with a
//!   condition on the id it replaces, so of concurrent starts one wins;
//! - one marker per finished chat, `SYNC#<id>#C#<contact>`, written in the
//!   same transaction as the counters and refusing to overwrite, so a job
//!   run twice (SQS is at-least-once) counts its chat once.
//!
//! DynamoDB conditions cannot add, so `done` is set by a second update
//! guarded by `chats_left <= 0`; should that step be lost, reads still
//! derive `done` from the counters.

use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::{
    CONDITION_FAILED, backend, cancellation_codes, cancelled_transiently, classify,
};
use super::ids;
use super::keys::{self, EXISTS, IS_NEW, Item, n, s};
use crate::domain::UserId;
use crate::store::{
    ChatOutcome, ContactId, StoreError, StoreResult, SyncId, SyncRun, SyncRunStore, SyncStart,
    SyncState,
};

/// Chat markers only guard against redelivery, which SQS stops after days.
const MARKER_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Deserialize)]
struct RunItem {
    sync_id: i64,
    state: String,
    chats_total: u32,
    chats_done: u32,
    chats_failed: u32,
    messages_synced: u64,
    started_at: i64,
    finished_at: Option<i64>,
    updated_at: Option<i64>,
}

fn at(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| backend(anyhow!("{ms} ms is out of range"), "decoding a sync run"))
}

fn parse(user: UserId, item: Item) -> StoreResult<SyncRun> {
    let r: RunItem =
        serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a sync run"))?;
    let complete = r.chats_done + r.chats_failed >= r.chats_total;
    let done = r.state == "done" || complete;
    let finished = if done {
        r.finished_at.or(r.updated_at).or(Some(r.started_at))
    } else {
        None
    };
    Ok(SyncRun {
        id: SyncId::new(r.sync_id),
        user_id: user,
        state: if done {
            SyncState::Done
        } else {
            SyncState::Running
        },
        chats_total: r.chats_total,
        chats_done: r.chats_done,
        chats_failed: r.chats_failed,
        messages_synced: r.messages_synced,
        started_at: at(r.started_at)?,
        finished_at: finished.map(at).transpose()?,
    })
}

#[async_trait]
impl SyncRunStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(user_id = %user, chats))]
    async fn start_sync_run(
        &self,
        user: UserId,
        chats: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<SyncStart> {
        for _ in 0..ids::MAX_ATTEMPTS {
            let latest = self.latest_sync_run(user).await?;
            if let Some(run) = latest.clone().filter(|r| r.state == SyncState::Running) {
                return Ok(SyncStart::AlreadyRunning(run));
            }
            let run = SyncRun {
                id: SyncId::new(ids::mint()),
                user_id: user,
                state: if chats == 0 {
                    SyncState::Done
                } else {
                    SyncState::Running
                },
                chats_total: chats,
                chats_done: 0,
                chats_failed: 0,
                messages_synced: 0,
                started_at: now,
                finished_at: (chats == 0).then_some(now),
            };
            if self.insert_run(&run, latest.map(|r| r.id)).await? {
                return Ok(SyncStart::Started(run));
            }
        }
        Err(StoreError::Unavailable(anyhow!(
            "sync runs kept being started concurrently"
        )))
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, sync_id = %run, contact_id = %contact))]
    async fn finish_sync_chat(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<SyncRun> {
        if self.count_chat(user, run, contact, outcome, now).await?
            && let Some(done) = self.mark_done(user, run, now).await?
        {
            return Ok(done);
        }
        let item = self
            .get_item(run_key(user, run), "reading a sync run")
            .await?;
        item.map(|i| parse(user, i))
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn latest_sync_run(&self, user: UserId) -> StoreResult<Option<SyncRun>> {
        let pointer = self
            .get_item(
                keys::key(keys::user_pk(user), keys::SYNC_LATEST),
                "reading the latest sync",
            )
            .await?;
        let Some(id) = pointer.and_then(|p| p.get("sync_id").and_then(|v| v.as_n().ok()).cloned())
        else {
            return Ok(None);
        };
        let id = id
            .parse()
            .map_err(|e| backend(e, "decoding the latest sync id"))?;
        let item = self
            .get_item(run_key(user, SyncId::new(id)), "reading a sync run")
            .await?;
        item.map(|i| parse(user, i)).transpose()
    }
}

impl DynamoStore {
    /// Writes the run and points `SYNC` at it, if `SYNC` still points at
    /// `previous`; `false` when someone else started a run in between.
    async fn insert_run(&self, run: &SyncRun, previous: Option<SyncId>) -> StoreResult<bool> {
        let pk = keys::user_pk(run.user_id);
        let mut item = keys::key(pk.clone(), &keys::sync_sk(run.id));
        item.insert("sync_id".into(), n(run.id.get()));
        item.insert("state".into(), s(run.state.as_str()));
        item.insert("chats_total".into(), n(i64::from(run.chats_total)));
        item.insert("chats_left".into(), n(i64::from(run.chats_total)));
        for counter in ["chats_done", "chats_failed", "messages_synced"] {
            item.insert(counter.into(), n(0));
        }
        item.insert("started_at".into(), n(run.started_at.timestamp_millis()));
        if let Some(f) = run.finished_at {
            item.insert("finished_at".into(), n(f.timestamp_millis()));
        }
        let mut pointer = keys::key(pk, keys::SYNC_LATEST);
        pointer.insert("sync_id".into(), n(run.id.get()));
        let mut swap = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer));
        swap = match previous {
            None => swap.condition_expression(IS_NEW),
            Some(prev) => swap
                .condition_expression("sync_id = :prev")
                .expression_attribute_values(":prev", n(prev.get())),
        };
        let put_run = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(IS_NEW)
            .build()
            .map_err(|e| backend(e, "building a sync run put"))?;
        let swap = swap
            .build()
            .map_err(|e| backend(e, "building a sync pointer put"))?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_run).build())
            .transact_items(TransactWriteItem::builder().put(swap).build())
            .send()
            .await;
        self.settle(sent, "starting a sync run").await
    }

    /// Counts the chat unless it was counted; `false` if it was.
    async fn count_chat(
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
        marker.insert(
            "failed".into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(failed == 1),
        );
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
    async fn mark_done(
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

    async fn settle(
        &self,
        sent: Result<
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
            aws_sdk_dynamodb::error::SdkError<
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
                aws_sdk_dynamodb::config::http::HttpResponse,
            >,
        >,
        doing: &'static str,
    ) -> StoreResult<bool> {
        let Err(err) = sent else {
            return Ok(true);
        };
        let Some(codes) = cancellation_codes(&err) else {
            return Err(classify(err, doing));
        };
        if codes.iter().any(|c| c == CONDITION_FAILED) || cancelled_transiently(&codes) {
            Ok(false)
        } else {
            Err(backend(anyhow!("cancelled ({codes:?})"), doing))
        }
    }
}

fn run_key(user: UserId, run: SyncId) -> Item {
    keys::key(keys::user_pk(user), &keys::sync_sk(run))
}
