//! Insert-if-new of a batch of messages, per (user, WhatsApp key id).
//!
//! Each round reads the key items of the keys still open (one
//! `BatchGetItem`): a guard means the message is stored (answer that row),
//! a stash is an early status update to apply, nothing means new. The new
//! ones are written in transactions of at most 32 messages (three items
//! each, plus the counters and a sync job's tally, within DynamoDB's 100):
//! the message, its id
//! pointer (both refusing to overwrite, so an id collision is caught) and
//! the guard, which replaces the key item only if it is still what the
//! round read. A transaction a concurrent writer beat is cancelled whole
//! and its keys go to the next round, which then finds their guards: of
//! concurrent inserts of one key, exactly one commits it.
//!
//! A batch larger than one transaction is stored in several; a failure
//! between them leaves the first ones stored, and the caller's retry finds
//! them as duplicates, so nothing is lost or doubled. For a sync job's
//! batch each transaction also adds its new messages to the (run, chat)
//! tally, so the chat's count does not depend on the job living to report
//! what it stored.

use std::collections::{HashMap, HashSet};

use anyhow::anyhow;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::{CONDITION_FAILED, backend};
use super::ids;
use super::keys::{self, Item};
use super::message_item::{KeyState, Location, MessageItem, id_pointer};
use super::ops::{Written, backoff};
use super::stats::Counter;
use super::sync_counts::tally_update;
use crate::domain::{MessageStatus, UserId};
use crate::store::{Inserted, Message, MessageId, NewMessage, StoreError, StoreResult, SyncTally};

/// Messages per transaction: 3 items each + the counters + a tally ≤ 100.
const PER_TRANSACTION: usize = 32;
/// Rounds before a batch that keeps being raced gives up (503, retried):
/// the retry policy's one limit and back-off. The loop is its own, not
/// `retry::retry`, because each round keeps what earlier rounds stored and
/// goes again with only the keys that were raced.
const ROUNDS: usize = super::retry::MAX_ATTEMPTS;

/// A message still to store, with the stash its key item held when read.
struct Fresh<'a> {
    new: &'a NewMessage,
    stashed: Option<MessageStatus>,
}

/// What one transaction did.
enum Chunk {
    Stored(Vec<Message>),
    /// A key item changed or an id was taken since the round's read.
    Raced,
    Contended(StoreError),
}

impl DynamoStore {
    pub(super) async fn insert_batch(
        &self,
        user: UserId,
        messages: &[NewMessage],
        tally: Option<(SyncTally, DateTime<Utc>)>,
    ) -> StoreResult<Vec<Inserted>> {
        let mut seen = HashSet::new();
        let mut open: Vec<&NewMessage> = messages
            .iter()
            .filter(|m| seen.insert(m.key_id.as_str()))
            .collect();
        let mut done: HashMap<String, Inserted> = HashMap::with_capacity(open.len());
        let mut gave_up = StoreError::Unavailable(anyhow!("a message batch kept being raced"));
        let mut used_ids = HashSet::new();
        for round in 1..=ROUNDS {
            if open.is_empty() {
                break;
            }
            let (stored, fresh) = self.sort_by_key_state(user, open).await?;
            for message in self.messages_at(user, &stored).await? {
                let row = Inserted {
                    message,
                    new: false,
                };
                done.insert(row.message.key_id.clone(), row);
            }
            open = Vec::new();
            let mut contended = false;
            for chunk in fresh.chunks(PER_TRANSACTION) {
                match self.insert_chunk(user, chunk, tally, &mut used_ids).await? {
                    Chunk::Stored(rows) => {
                        done.extend(rows.into_iter().map(|message| {
                            (message.key_id.clone(), Inserted { message, new: true })
                        }))
                    }
                    Chunk::Raced => open.extend(chunk.iter().map(|f| f.new)),
                    Chunk::Contended(err) => {
                        open.extend(chunk.iter().map(|f| f.new));
                        (gave_up, contended) = (err, true);
                    }
                }
            }
            if contended {
                tokio::time::sleep(backoff(round)).await;
            }
        }
        if !open.is_empty() {
            return Err(gave_up);
        }
        in_input_order(messages, done)
    }

    /// Splits `open` into keys already stored (where) and keys to store.
    async fn sort_by_key_state<'a>(
        &self,
        user: UserId,
        open: Vec<&'a NewMessage>,
    ) -> StoreResult<(Vec<Location>, Vec<Fresh<'a>>)> {
        let keys = open
            .iter()
            .map(|m| keys::key(keys::user_pk(user), &keys::key_id_sk(&m.key_id)))
            .collect();
        let mut states = HashMap::new();
        for item in self.batch_get(keys, "reading key ids").await? {
            let (key_id, state) = KeyState::parse(item)?;
            states.insert(key_id, state);
        }
        let (mut stored, mut fresh) = (Vec::new(), Vec::new());
        for new in open {
            match states.remove(&new.key_id).flatten() {
                Some(KeyState::Stored(location)) => stored.push(location),
                Some(KeyState::Stashed(status)) => fresh.push(Fresh {
                    new,
                    stashed: Some(status),
                }),
                None => fresh.push(Fresh { new, stashed: None }),
            }
        }
        Ok((stored, fresh))
    }

    /// The stored messages at `locations`; each must be there, since its
    /// guard was written in the same transaction.
    async fn messages_at(&self, user: UserId, locations: &[Location]) -> StoreResult<Vec<Message>> {
        if locations.is_empty() {
            return Ok(Vec::new());
        }
        let keys = locations.iter().map(|l| l.key(user)).collect();
        let found = self.batch_get(keys, "reading stored messages").await?;
        if found.len() != locations.len() {
            return Err(backend(
                anyhow!("{} guards, {} messages", locations.len(), found.len()),
                "reading stored messages",
            ));
        }
        found.into_iter().map(MessageItem::parse).collect()
    }

    async fn insert_chunk(
        &self,
        user: UserId,
        chunk: &[Fresh<'_>],
        tally: Option<(SyncTally, DateTime<Utc>)>,
        used_ids: &mut HashSet<i64>,
    ) -> StoreResult<Chunk> {
        let mut items = Vec::with_capacity(chunk.len() * 3 + 2);
        let mut rows = Vec::with_capacity(chunk.len());
        for fresh in chunk {
            let row = fresh.to_row(mint_unused(used_ids));
            items.push(self.put_new(MessageItem::new(user, &row).to_item()?)?);
            items.push(self.put_new(id_pointer(user, &row)?)?);
            items.push(self.put_guard(KeyState::guard(user, &row)?, fresh.stashed)?);
            rows.push(row);
        }
        let outbound = rows.iter().filter(|m| m.is_outbound).count() as i64;
        let total = rows.len() as i64;
        items.push(self.count(
            user,
            &[
                (Counter::Messages, total),
                (Counter::Outbound, outbound),
                (Counter::Inbound, total - outbound),
            ],
        )?);
        if let Some((tally, now)) = tally {
            items.push(tally_update(&self.table, user, tally, rows.len(), now)?);
        }
        match self.transact(items, "inserting messages").await? {
            Written::Committed => Ok(Chunk::Stored(rows)),
            Written::Contended(err) => Ok(Chunk::Contended(err)),
            Written::Refused(codes) if codes.iter().any(|c| c == CONDITION_FAILED) => {
                Ok(Chunk::Raced)
            }
            Written::Refused(codes) => Err(backend(
                anyhow!("cancelled ({codes:?})"),
                "inserting messages",
            )),
        }
    }

    /// The guard, written only over the key item as it was read: absent,
    /// or holding the very stash that was applied.
    fn put_guard(
        &self,
        guard: Item,
        stashed: Option<MessageStatus>,
    ) -> StoreResult<TransactWriteItem> {
        let put = Put::builder().table_name(&self.table).set_item(Some(guard));
        let put = match stashed {
            None => put.condition_expression(keys::IS_NEW),
            Some(status) => put
                .condition_expression(
                    "attribute_not_exists(message_id) AND stashed_status = :stashed",
                )
                .expression_attribute_values(":stashed", keys::s(status.as_str())),
        };
        let put = put.build().map_err(|e| backend(e, "building a guard"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl Fresh<'_> {
    /// The row to store: a stashed update applies by the message's rules.
    fn to_row(&self, id: i64) -> Message {
        let m = self.new;
        let status = self
            .stashed
            .and_then(|update| m.status.advance(update, !m.is_outbound))
            .unwrap_or(m.status);
        Message {
            id: MessageId::new(id),
            contact_id: m.contact_id,
            key_id: m.key_id.clone(),
            is_outbound: m.is_outbound,
            message_type: m.message_type,
            content: m.content.clone(),
            status,
            timestamp: m.timestamp,
        }
    }
}

/// A fresh id not given to another message of this call: ids minted in one
/// millisecond differ only in 12 random bits, and two rows with one id in a
/// transaction would be refused as a whole.
fn mint_unused(used: &mut HashSet<i64>) -> i64 {
    loop {
        let id = ids::mint();
        if used.insert(id) {
            return id;
        }
    }
}

/// One answer per input, in order; a key repeated in the batch is new only
/// the first time.
fn in_input_order(
    messages: &[NewMessage],
    mut done: HashMap<String, Inserted>,
) -> StoreResult<Vec<Inserted>> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        let row = done
            .get_mut(&m.key_id)
            .ok_or_else(|| backend(anyhow!("no answer for a key"), "inserting messages"))?;
        out.push(row.clone());
        row.new = false;
    }
    Ok(out)
}
