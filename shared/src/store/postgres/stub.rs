//! PostgreSQL: instances, contacts, messages (stub: every call fails until the adapter implements it).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use crate::domain::{InstanceName, Jid, MessageStatus, UserId};
use crate::store::{
    Contact, ContactId, ContactStore, ContactUpsert, Conversation, Inserted, Instance,
    InstanceStore, Message, MessageId, MessageStore, NewMessage, Page, Stats, StatusOutcome,
    StoreError, StoreResult,
};

fn todo<T>() -> StoreResult<T> {
    Err(StoreError::Backend(anyhow::anyhow!("not implemented yet")))
}

#[async_trait]
impl InstanceStore for PgStore {
    async fn create_instance(
        &self,
        _: UserId,
        _: &InstanceName,
        _: &str,
        _: DateTime<Utc>,
    ) -> StoreResult<Instance> {
        todo()
    }
    async fn instance_by_user(&self, _: UserId) -> StoreResult<Option<Instance>> {
        todo()
    }
    async fn save_instance(&self, _: &Instance) -> StoreResult<Instance> {
        todo()
    }
}

#[async_trait]
impl ContactStore for PgStore {
    async fn upsert_contact(&self, _: UserId, _: &ContactUpsert) -> StoreResult<Contact> {
        todo()
    }
    async fn contact_by_id(&self, _: UserId, _: ContactId) -> StoreResult<Option<Contact>> {
        todo()
    }
    async fn contact_by_jid(&self, _: UserId, _: &Jid) -> StoreResult<Option<Contact>> {
        todo()
    }
    async fn contacts_page(&self, _: UserId, _: Page) -> StoreResult<Vec<Contact>> {
        todo()
    }
    async fn count_contacts(&self, _: UserId) -> StoreResult<u64> {
        todo()
    }
    async fn upsert_conversation(
        &self,
        _: UserId,
        _: ContactId,
        _: Option<DateTime<Utc>>,
        _: DateTime<Utc>,
    ) -> StoreResult<Conversation> {
        todo()
    }
    async fn conversations_page(&self, _: UserId, _: Page) -> StoreResult<Vec<Conversation>> {
        todo()
    }
}

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_messages(&self, _: UserId, _: &[NewMessage]) -> StoreResult<Vec<Inserted>> {
        todo()
    }
    async fn advance_status(
        &self,
        _: UserId,
        _: &str,
        _: MessageStatus,
        _: DateTime<Utc>,
    ) -> StoreResult<StatusOutcome> {
        todo()
    }
    async fn messages_by_contact(
        &self,
        _: UserId,
        _: ContactId,
        _: Page,
        _: Option<MessageId>,
    ) -> StoreResult<Vec<Message>> {
        todo()
    }
    async fn messages_by_user(
        &self,
        _: UserId,
        _: Page,
        _: Option<ContactId>,
    ) -> StoreResult<Vec<Message>> {
        todo()
    }
    async fn stats(&self, _: UserId) -> StoreResult<Stats> {
        todo()
    }
}
