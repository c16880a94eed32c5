//! Conversations on DynamoDB: one item per contact (`USER#<uid>` /
//! `CONV#<contact id>`), listed through GSI1 by last activity. Its id is
//! its contact's id: there is exactly one per contact, so that id is unique
//! already and needs no guard of its own.
//!
//! An upsert reads the item first: most calls (every chat of a sync, every
//! webhook) find it there and not moving, and then write nothing. Moving
//! `last_message_at` is conditioned on the value read, so of two racing
//! upserts the later time wins whatever order they land in.

use anyhow::anyhow;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::contact_item::ConversationItem;
use super::errors::{CONDITION_FAILED, backend};
use super::keys::{self, EXISTS, Item, stamp};
use super::ops::{Updated, Written};
use super::retry::{Step, retry};
use super::stats::Counter;
use crate::domain::UserId;
use crate::store::{ContactId, Conversation, ConversationId, Page, StoreError, StoreResult};

impl DynamoStore {
    pub(super) async fn upsert_conversation_item(
        &self,
        user: UserId,
        contact: ContactId,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Conversation> {
        retry("upserting a conversation", |_| async move {
            let key = conversation_key(user, contact);
            let stored = self.get_item(key, "reading a conversation").await?;
            match stored.map(ConversationItem::parse).transpose()? {
                Some(stored) => match at.filter(|at| stored.last_message_at < Some(*at)) {
                    None => Ok(Step::Done(stored)),
                    Some(at) => self.move_forward(user, &stored, at).await,
                },
                None => self.create_conversation(user, contact, at, now).await,
            }
        })
        .await
    }

    pub(super) async fn conversations_by_activity(
        &self,
        user: UserId,
        page: Page,
    ) -> StoreResult<Vec<Conversation>> {
        let query = self
            .client
            .query()
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", keys::s(keys::conversations_gsi_pk(user)))
            .scan_index_forward(false);
        let items = self.query_page(query, page, "paging conversations").await?;
        items.into_iter().map(ConversationItem::parse).collect()
    }

    /// Sets `last_message_at` to `at` unless it changed since `stored` was read.
    async fn move_forward(
        &self,
        user: UserId,
        stored: &Conversation,
        at: DateTime<Utc>,
    ) -> StoreResult<Attempt> {
        let mut update = self
            .client
            .update_item()
            .set_key(Some(conversation_key(user, stored.contact_id)))
            .update_expression("SET last_message_at = :at, GSI1SK = :sk")
            .expression_attribute_values(":at", keys::s(stamp(at)))
            .expression_attribute_values(
                ":sk",
                keys::s(keys::conversations_gsi_sk(Some(at), stored.id)),
            );
        update = match stored.last_message_at {
            Some(read) => update
                .condition_expression(format!("{EXISTS} AND last_message_at = :read"))
                .expression_attribute_values(":read", keys::s(stamp(read))),
            None => update.condition_expression(format!(
                "{EXISTS} AND attribute_not_exists(last_message_at)"
            )),
        };
        match self
            .conditional_update(update, "moving a conversation")
            .await?
        {
            Updated::Done(item) => Ok(Step::Done(ConversationItem::parse(item)?)),
            Updated::Refused(_) => Ok(Step::Raced),
        }
    }

    /// Creates the conversation, counted, if its contact exists.
    async fn create_conversation(
        &self,
        user: UserId,
        contact: ContactId,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Attempt> {
        let conversation = Conversation {
            id: ConversationId::new(contact.get()),
            contact_id: contact,
            started_at: now,
            last_message_at: at,
            is_active: true,
        };
        let contact_pointer = keys::key(keys::user_pk(user), &keys::contact_id_sk(contact));
        let items = vec![
            self.put_new(ConversationItem::new(user, &conversation).to_item()?)?,
            self.check(contact_pointer, EXISTS)?,
            self.count(user, &[(Counter::Conversations, 1)])?,
        ];
        let failed =
            |codes: &[String], i: usize| codes.get(i).is_some_and(|c| c == CONDITION_FAILED);
        match self.transact(items, "creating a conversation").await? {
            Written::Committed => Ok(Step::Done(conversation)),
            Written::Contended(err) => Ok(Step::Contended(err)),
            Written::Refused(codes) if failed(&codes, 0) => Ok(Step::Raced),
            Written::Refused(codes) if failed(&codes, 1) => Err(StoreError::NotFound),
            Written::Refused(codes) => Err(backend(
                anyhow!("cancelled ({codes:?})"),
                "creating a conversation",
            )),
        }
    }
}

/// What one write attempt ran into: [`Step::Raced`] when someone else
/// wrote the item since it was read (read it again).
type Attempt = Step<Conversation>;

fn conversation_key(user: UserId, contact: ContactId) -> Item {
    keys::key(keys::user_pk(user), &keys::conversation_sk(contact))
}
