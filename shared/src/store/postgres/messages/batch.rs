//! PostgreSQL: a batch of messages stored once per (user, key id), in one
//! transaction under the (user, key) locks that keep a racing status update
//! from being lost (see [`status`](super::status)). A sync job's batch also
//! adds its new rows to its (run, chat) tally in that transaction, so the
//! count survives the job dying before it reports.

use std::collections::{HashMap, HashSet};

use super::MessageRow;
use super::status::{StashTaken, lock_keys};
use crate::domain::{MessageStatus, UserId};
use crate::store::postgres::PgStore;
use crate::store::postgres::errors::map_err;
use crate::store::{Inserted, Message, NewMessage, StoreError, StoreResult, SyncTally};

/// One row per distinct key of a batch: the stored message, whether this
/// statement stored it, and, for a new one, the stashed status waiting for it.
#[derive(sqlx::FromRow)]
struct BatchRow {
    #[sqlx(flatten)]
    message: MessageRow,
    new: bool,
    stashed: Option<String>,
}

/// The batch (distinct keys, in input order) in one statement over parallel
/// arrays: a stored key is skipped by the unique index, each new row comes
/// back with its stashed status if any, and each skipped key with its stored
/// row. Inserting in input order makes ids follow it. Run under the key
/// locks, so no concurrent insert or stash of these keys is in flight.
///
/// Both lookups go key by key through a `LIMIT 1` lateral subquery, which
/// the planner cannot flatten into a join: each is an equality on a unique
/// index whatever the table statistics say (a plan made while the table was
/// empty once scanned all of the user's messages on every insert).
const INSERT_BATCH: &str = concat!(
    "WITH input AS (
       SELECT * FROM unnest($2::bigint[], $3::text[], $4::bool[], $5::text[], $6::text[],
                            $7::text[], $8::timestamptz[])
         WITH ORDINALITY AS i(contact_id, key_id, is_outbound, message_type, content,
                             status, timestamp, ord)),
     inserted AS (
       INSERT INTO messages (user_id, contact_id, key_id, is_outbound, message_type,
                             content, status, timestamp)
       SELECT $1, contact_id, key_id, is_outbound, message_type, content, status, timestamp
       FROM input ORDER BY ord
       ON CONFLICT (user_id, key_id) DO NOTHING
       RETURNING ",
    columns!(),
    ")
     SELECT inserted.*, true AS new, stash.status AS stashed
     FROM inserted LEFT JOIN LATERAL (
       SELECT status FROM status_stash
       WHERE user_id = $1 AND key_id = inserted.key_id LIMIT 1) stash ON true
     UNION ALL
     SELECT stored.*, false, NULL
     FROM input CROSS JOIN LATERAL (
       SELECT ",
    columns!(),
    " FROM messages WHERE user_id = $1 AND key_id = input.key_id LIMIT 1) stored"
);

impl PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user, count = messages.len()))]
    pub(in crate::store::postgres) async fn insert_batch(
        &self,
        user: UserId,
        messages: &[NewMessage],
        tally: Option<SyncTally>,
    ) -> StoreResult<Vec<Inserted>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = HashSet::with_capacity(messages.len());
        let firsts: Vec<&NewMessage> = messages
            .iter()
            .filter(|m| seen.insert(m.key_id.as_str()))
            .collect();
        let keys = column(&firsts, |m| m.key_id.as_str());
        let (keys, firsts) = (&keys, &firsts);
        self.run(move || async move {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            lock_keys(&mut tx, user, keys).await?;
            let rows: Vec<BatchRow> = sqlx::query_as(INSERT_BATCH)
                .bind(user.get())
                .bind(column(firsts, |m| m.contact_id.get()))
                .bind(keys)
                .bind(column(firsts, |m| m.is_outbound))
                .bind(column(firsts, |m| m.message_type.as_str()))
                .bind(column(firsts, |m| m.content.as_deref()))
                .bind(column(firsts, |m| m.status.as_str()))
                .bind(column(firsts, |m| m.timestamp))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
            let new = rows.iter().filter(|r| r.new).count();
            let (stored, stash) = take_rows(rows);
            if !stash.keys.is_empty() {
                stash.apply(&mut tx, user).await?;
            }
            if let Some(tally) = tally.filter(|_| new > 0) {
                add_to_tally(&mut tx, user, tally, new).await?;
            }
            tx.commit().await.map_err(map_err)?;
            in_input_order(messages, stored)
        })
        .await
    }
}

/// Adds `new` to the (run, chat) tally, if the run is the user's.
async fn add_to_tally(
    tx: &mut sqlx::PgConnection,
    user: UserId,
    tally: SyncTally,
    new: usize,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sync_run_tallies (sync_id, contact_id, stored)
         SELECT id, $3, $4 FROM sync_runs WHERE id = $1 AND user_id = $2
         ON CONFLICT (sync_id, contact_id)
         DO UPDATE SET stored = sync_run_tallies.stored + EXCLUDED.stored",
    )
    .bind(tally.run.get())
    .bind(user.get())
    .bind(tally.chat.get())
    .bind(i64::try_from(new).unwrap_or(i64::MAX))
    .execute(tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The rows by key with their `new` flag, and what their stashed statuses
/// do: applied with [`MessageStatus::advance`] under the inbound rules of
/// each message (an update that does not apply is dropped all the same).
fn take_rows(rows: Vec<BatchRow>) -> (HashMap<String, (Message, bool)>, StashTaken) {
    let mut stored = HashMap::with_capacity(rows.len());
    let mut stash = StashTaken::default();
    for row in rows {
        let mut message = Message::from(row.message);
        if let Some(stashed) = row.stashed.as_deref().map(MessageStatus::from_db) {
            stash.keys.push(message.key_id.clone());
            if let Some(next) = message.status.advance(stashed, !message.is_outbound) {
                message.status = next;
                stash.moved.push((message.id.get(), next));
            }
        }
        stored.insert(message.key_id.clone(), (message, row.new));
    }
    (stored, stash)
}

/// One field of every message, as the parallel array `unnest` takes.
fn column<'a, T>(messages: &[&'a NewMessage], field: impl Fn(&'a NewMessage) -> T) -> Vec<T> {
    messages.iter().map(|m| field(m)).collect()
}

/// One [`Inserted`] per input, in order: a key repeated within the batch is
/// new only at its first occurrence.
fn in_input_order(
    messages: &[NewMessage],
    mut stored: HashMap<String, (Message, bool)>,
) -> StoreResult<Vec<Inserted>> {
    messages
        .iter()
        .map(|m| {
            let (message, new) = stored.get_mut(&m.key_id).ok_or_else(|| {
                StoreError::Backend(anyhow::anyhow!("key {} neither stored nor found", m.key_id))
            })?;
            Ok(Inserted {
                message: message.clone(),
                new: std::mem::take(new),
            })
        })
        .collect()
}
