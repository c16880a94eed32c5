//! The store port: one trait per family of access patterns, shaped so that
//! DynamoDB can serve each call with one `GetItem`, `Query`, conditional
//! `PutItem` or `TransactWriteItems`, and PostgreSQL with one statement or
//! one transaction. [`Store`] is what handlers hold, as `Arc<dyn Store>`.
//!
//! Adapters: [`postgres`] (feature `postgres`), [`dynamo`] (feature
//! `dynamodb`). Both pass the conformance suite in `crate::testing`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Email, InstanceName, Jid, MessageStatus, User, UserCredentials, UserId, UserName,
};

#[cfg(feature = "dynamodb")]
pub mod dynamo;
mod idempotency;
mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
mod sync_run;
mod throttle;

pub use idempotency::{
    Fingerprint, IDEMPOTENCY_LEASE, IDEMPOTENCY_TTL, IdempotencyKey, IdempotencyStore, LeaseToken,
    Reservation,
};
pub use model::{
    ConnectionStatus, Contact, ContactId, ContactUpsert, Conversation, ConversationId, Inserted,
    Instance, Message, MessageId, NewMessage, Page, Stats, StatusOutcome,
};
pub use sync_run::{
    ChatOutcome, SyncId, SyncRun, SyncRunStore, SyncStart, SyncState, SyncTally, is_stale,
};
pub use throttle::{LoginAttempt, LoginThrottleStore, throttle_key};

/// Every store operation gives up after this long: a 503 well before a
/// Lambda's own timeout (API.md).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a status update stashed before its message waits for it, in
/// both adapters (PostgreSQL sweeps older stashes, DynamoDB's TTL drops
/// them). Updates come for messages that will never be stored too (groups,
/// broadcasts: the webhook cannot tell), so the stash must forget; a message
/// that does come arrives within seconds, or with the history sync.
pub const STASH_TTL: chrono::TimeDelta = chrono::TimeDelta::days(7);

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write (e.g. an e-mail already taken).
    #[error("conflict")]
    Conflict,
    /// The store could not be reached or did not answer in time: transient,
    /// the caller may retry (and the webhook answers 503 so Evolution does).
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug or a broken invariant.
    #[error("store error")]
    Backend(#[source] anyhow::Error),
}

/// What registration writes.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: UserName,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user; [`StoreError::Conflict`] when the e-mail is taken.
    /// Of two concurrent registrations of one address exactly one succeeds.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserCredentials>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// [`StoreError::NotFound`] when there is no such user.
    async fn rename_user(&self, id: UserId, name: &UserName) -> StoreResult<User>;
    /// [`StoreError::NotFound`] when there is no such user.
    async fn set_user_active(&self, id: UserId, active: bool) -> StoreResult<User>;
}

/// One Evolution instance per user, named `user_<id>` (so a webhook's
/// instance name leads to its user without a lookup table).
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Creates the user's instance row unless it exists, and returns the row
    /// either way: an existing row keeps its secret (it never changes).
    async fn create_instance(
        &self,
        user: UserId,
        name: &InstanceName,
        webhook_secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Instance>;
    async fn instance_by_user(&self, user: UserId) -> StoreResult<Option<Instance>>;
    /// Saves the state fields (status, phone, profile name, QR, pairing
    /// code, last connection, chats count) if `instance.version` is still the
    /// stored version, and returns the row with the next version;
    /// [`StoreError::Conflict`] when someone saved in between (re-read,
    /// re-apply, retry), [`StoreError::NotFound`] when there is no row.
    async fn save_instance(&self, instance: &Instance) -> StoreResult<Instance>;
}

/// Contacts (one per user and JID) and their conversations (one per contact).
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Creates or updates the contact of `(user, jid)`; fields given as
    /// `None` keep their stored value. A `lid` is remembered so that
    /// [`contact_by_jid`](Self::contact_by_jid) finds the contact by it too.
    /// Concurrent upserts of one JID yield one contact.
    async fn upsert_contact(&self, user: UserId, contact: &ContactUpsert) -> StoreResult<Contact>;
    async fn contact_by_id(&self, user: UserId, id: ContactId) -> StoreResult<Option<Contact>>;
    /// The contact whose JID, or remembered LID, is `jid`.
    async fn contact_by_jid(&self, user: UserId, jid: &Jid) -> StoreResult<Option<Contact>>;
    /// The user's contacts, oldest first.
    async fn contacts_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Contact>>;
    async fn count_contacts(&self, user: UserId) -> StoreResult<u64>;
    /// Creates the contact's conversation unless it exists; `last_message_at`
    /// only moves forward.
    async fn upsert_conversation(
        &self,
        user: UserId,
        contact: ContactId,
        last_message_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Conversation>;
    /// Most recently active first (never active last).
    async fn conversations_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Conversation>>;
}

/// Messages, stored once per (user, WhatsApp key id) whichever source brings
/// them first (webhook, sync, send answer). Each user has one instance, so
/// this is the per-instance dedup of API.md.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores, in one transaction, each message whose key id is not stored
    /// yet for `user` (a key repeated within the batch counts once), applies
    /// any stashed status update to the new ones, and returns one
    /// [`Inserted`] per input, in order. Concurrent inserts of one key store
    /// one row: exactly one caller sees `new: true`.
    async fn insert_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
    ) -> StoreResult<Vec<Inserted>>;
    /// Moves the message's status forward ([`MessageStatus::advance`]); when
    /// the message is not stored yet, stashes the update (keeping the most
    /// advanced one) for [`insert_messages`](Self::insert_messages) to apply.
    async fn advance_status(
        &self,
        user: UserId,
        key_id: &str,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<StatusOutcome>;
    /// A contact's messages, newest first (by timestamp, then id); `before`
    /// starts after that message (keyset paging), `skip` applies after it.
    async fn messages_by_contact(
        &self,
        user: UserId,
        contact: ContactId,
        page: Page,
        before: Option<MessageId>,
    ) -> StoreResult<Vec<Message>>;
    /// The user's messages, newest first, optionally of one contact.
    async fn messages_by_user(
        &self,
        user: UserId,
        page: Page,
        contact: Option<ContactId>,
    ) -> StoreResult<Vec<Message>>;
    async fn stats(&self, user: UserId) -> StoreResult<Stats>;
}

#[async_trait]
pub trait Store:
    UserStore
    + LoginThrottleStore
    + InstanceStore
    + ContactStore
    + MessageStore
    + IdempotencyStore
    + SyncRunStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the store is reachable (readiness probe).
    async fn ping(&self) -> StoreResult<()>;
}
