//! [`SyncRunStore`] on DynamoDB. Items, all under `USER#<uid>`:
//!
//! - the run, `SYNC#<id>`: counters kept with `ADD`, so concurrent jobs
//!   never lose a count, and `chats_left` counting down to zero;
//! - the pointer to the latest run, `SYNC`: starting a run swaps it with a
//!   condition on the id it replaces, so of concurrent starts one wins;
//! - one item per chat, `SYNC#<id>#C#<contact>`: its tally of newly stored
//!   messages, added to by the transactions that store them, and its
//!   `counted` mark, set in the same transaction as the counters and never
//!   twice, so a job run twice (SQS is at-least-once) counts its chat once.
//!
//! DynamoDB conditions cannot add, so `done` is set by a second update
//! guarded by `chats_left <= 0`; should that step be lost, reads still
//! derive `done` from the counters. A stale run (no progress for
//! `stale_after`) is finished by one conditional update of the run item,
//! which a chat count (conditioned on `running`) either precedes or misses.
//! Counting a chat is in `sync_counts`.

use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, backend};
use super::ids;
use super::keys::{self, IS_NEW, Item, n, s};
use super::ops::Written;
use super::retry::{Step, retry};
use crate::domain::UserId;
use crate::store::{
    ChatOutcome, ContactId, Inserted, NewMessage, StoreError, StoreResult, SyncId, SyncRun,
    SyncRunStore, SyncStart, SyncState, SyncTally, is_stale,
};

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
    progressed_at: Option<i64>,
}

fn at(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| backend(anyhow!("{ms} ms is out of range"), "decoding a sync run"))
}

pub(super) fn parse(user: UserId, item: Item) -> StoreResult<SyncRun> {
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
        progressed_at: at(r.progressed_at.or(r.updated_at).unwrap_or(r.started_at))?,
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
        stale_after: Duration,
    ) -> StoreResult<SyncStart> {
        retry("starting a sync run", |_| async move {
            let latest = self.latest_sync_run(user, now, stale_after).await?;
            if let Some(run) = latest.clone().filter(|r| r.state == SyncState::Running) {
                return Ok(Step::Done(SyncStart::AlreadyRunning(run)));
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
                progressed_at: now,
            };
            match self.insert_run(&run, latest.map(|r| r.id)).await? {
                Written::Committed => Ok(Step::Done(SyncStart::Started(run))),
                Written::Contended(err) => Ok(Step::Contended(err)),
                // Someone else started (or finished a stale) run in between.
                Written::Refused(codes) if codes.iter().any(|c| c == CONDITION_FAILED) => {
                    Ok(Step::Raced)
                }
                Written::Refused(codes) => Err(backend(
                    anyhow!("cancelled ({codes:?})"),
                    "starting a sync run",
                )),
            }
        })
        .await
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
    async fn latest_sync_run(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<Option<SyncRun>> {
        match self.latest_of(user).await? {
            Some(run) if is_stale(&run, now, stale_after) => {
                if let Some(done) = self.finish_stale(&run, now, stale_after).await? {
                    return Ok(Some(done));
                }
                // A report moved it on (or finished it) meanwhile.
                self.latest_of(user).await
            }
            other => Ok(other),
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, sync_id = %tally.run, count = messages.len()))]
    async fn insert_sync_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
        tally: SyncTally,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Inserted>> {
        self.insert_batch(user, messages, Some((tally, now))).await
    }
}

impl DynamoStore {
    async fn latest_of(&self, user: UserId) -> StoreResult<Option<SyncRun>> {
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

    /// Writes the run and points `SYNC` at it, if `SYNC` still points at
    /// `previous` (refused when someone else started a run in between).
    async fn insert_run(&self, run: &SyncRun, previous: Option<SyncId>) -> StoreResult<Written> {
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
        item.insert(
            "progressed_at".into(),
            n(run.progressed_at.timestamp_millis()),
        );
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
        let items = vec![
            TransactWriteItem::builder().put(put_run).build(),
            TransactWriteItem::builder().put(swap).build(),
        ];
        self.transact(items, "starting a sync run").await
    }
}

pub(super) fn run_key(user: UserId, run: SyncId) -> Item {
    keys::key(keys::user_pk(user), &keys::sync_sk(run))
}
