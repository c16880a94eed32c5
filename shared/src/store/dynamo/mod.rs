//! DynamoDB adapter (AWS mode): every family of the store port on one table
//! (`PK`/`SK` strings, one GSI `GSI1PK`/`GSI1SK`, TTL attribute
//! `expires_at`), each call served by a few `GetItem`, `Query`,
//! `BatchGetItem`, conditional `UpdateItem` or `TransactWriteItems`
//! (ARCHITECTURE.md, Stores).
//!
//! - `keys`: the `PK`/`SK` shapes, in one place.
//! - [`ids`]: JSON-safe ids minted from time + random bits, written with
//!   a condition so a collision retries.
//! - `errors`: SDK errors → [`StoreError`](super::StoreError).
//! - `ops`: paged queries, batch reads, conditional updates, transactions.
//! - `retry`: the one retry policy (limit, jittered back-off) of writes
//!   that lost a race.
//! - `users` + `user_item`: profiles and the e-mail guards that keep
//!   addresses unique.
//! - `throttle`: the failed-login windows.
//! - `instances`: one instance per user, saved with optimistic locking.
//! - `contacts` + `conversations` + `contact_item`: contacts by JID with
//!   id and LID pointers; one conversation per contact.
//! - `messages` + `insert` + `message_item` + `ladder`: messages stored
//!   once per key id, their status ladder and its stash, pages.
//! - `stats`: the per-user counters every creating transaction bumps.
//!
//! Reads are strongly consistent: the port promises read-your-writes (a user
//! logs in right after registering), which eventually consistent reads do
//! not give.

mod contact_item;
mod contacts;
mod conversations;
mod errors;
mod idempotency;
pub mod ids;
mod insert;
mod instances;
mod keys;
mod ladder;
mod message_item;
mod messages;
mod ops;
mod retry;
mod stats;
mod sync_counts;
mod sync_runs;
mod throttle;
mod user_item;
mod users;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::{Store, StoreResult};
use errors::classify;
use keys::Item;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` through an already configured client (tests point
    /// it at a local emulator).
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// A store on `table` with the ambient AWS configuration (the Lambda
    /// role, `AWS_REGION`, and `AWS_ENDPOINT_URL` when set). Every call,
    /// retries included, is cut off after
    /// [`OPERATION_TIMEOUT`](crate::store::OPERATION_TIMEOUT) so that a slow
    /// table becomes a 503 well before the Lambda's own timeout
    /// ([`crate::aws`]).
    pub async fn from_env(table: String) -> Self {
        Self::new(Client::new(&crate::aws::load().await), table)
    }

    /// The SDK client, for checks of its configuration.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by key, strongly consistent; `doing` names the read in
    /// errors.
    async fn get_item(&self, key: Item, doing: &'static str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, doing))?;
        Ok(out.item)
    }
}

#[async_trait]
impl Store for DynamoStore {
    /// A `GetItem` of a key that never exists: it proves the table answers,
    /// costs half a read unit, and needs no permission beyond what every
    /// function already has (`DescribeTable` would need its own).
    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::key("PING".to_owned(), "PING")))
            .send()
            .await
            .map_err(|e| classify(e, "pinging the table"))?;
        Ok(())
    }
}
