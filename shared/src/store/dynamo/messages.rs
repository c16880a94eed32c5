//! [`MessageStore`] on DynamoDB: status updates, pages and stats (inserts
//! are in `insert`).
//!
//! A status update reads the key item of its key id. When the message is
//! stored, one `UpdateItem` moves it, conditioned on its status being one
//! the update moves forward, so the ladder holds without a read of the
//! message and without a race. When it is not, the update is stashed on the
//! key item itself, conditioned on no message having arrived there and on
//! no more advanced update being stashed already; if a message arrived in
//! between, the update goes the stored path instead. The insert replaces
//! the key item conditioned on the stash it read, so whichever of the two
//! lands second sees the other.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::backend;
use super::keys::{self, EXISTS, Item};
use super::ladder::advanced_by;
use super::message_item::{KeyState, Location, MessageItem};
use super::ops::Updated;
use super::retry::{Step, retry};
use crate::domain::{MessageStatus, UserId};
use crate::store::{
    ContactId, Inserted, Message, MessageId, MessageStore, NewMessage, Page, Stats, StatusOutcome,
    StoreResult,
};

/// How long a stashed update waits before the TTL may drop it: the one
/// value both adapters use.
const STASH_TTL: chrono::Duration = crate::store::STASH_TTL;

#[async_trait]
impl MessageStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(user_id = %user, count = messages.len()))]
    async fn insert_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
    ) -> StoreResult<Vec<Inserted>> {
        self.insert_batch(user, messages, None).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, status = status.as_str()))]
    async fn advance_status(
        &self,
        user: UserId,
        key_id: &str,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<StatusOutcome> {
        retry("advancing a message status", |_| async move {
            let item = self
                .get_item(key_item(user, key_id), "reading a key id")
                .await?;
            let state = item.map(KeyState::parse).transpose()?.and_then(|(_, s)| s);
            if let Some(KeyState::Stored(location)) = state {
                return self
                    .advance_stored(user, &location, status)
                    .await
                    .map(Step::Done);
            }
            // Not stashed: the message was stored meanwhile, read it again.
            if self.stash(user, key_id, status, now).await? {
                Ok(Step::Done(StatusOutcome::Stashed))
            } else {
                Ok(Step::Raced)
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, contact_id = %contact))]
    async fn messages_by_contact(
        &self,
        user: UserId,
        contact: ContactId,
        page: Page,
        before: Option<MessageId>,
    ) -> StoreResult<Vec<Message>> {
        let upper = match before {
            None => keys::MESSAGES_END.to_owned(),
            Some(id) => {
                let key = keys::key(keys::user_pk(user), &keys::message_id_sk(id));
                match self.get_item(key, "reading a message id").await? {
                    Some(pointer) => parse_location(pointer)?.message_sk,
                    // Nothing is older than a message that does not exist.
                    None => return Ok(Vec::new()),
                }
            }
        };
        let query = self
            .client
            .query()
            .key_condition_expression("PK = :pk AND SK < :upper")
            .expression_attribute_values(":pk", keys::s(keys::contact_messages_pk(user, contact)))
            .expression_attribute_values(":upper", keys::s(upper))
            .scan_index_forward(false)
            .consistent_read(true);
        let items = self
            .query_page(query, page, "paging a contact's messages")
            .await?;
        items.into_iter().map(MessageItem::parse).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn messages_by_user(
        &self,
        user: UserId,
        page: Page,
        contact: Option<ContactId>,
    ) -> StoreResult<Vec<Message>> {
        if let Some(contact) = contact {
            return self.messages_by_contact(user, contact, page, None).await;
        }
        let query = self
            .client
            .query()
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", keys::s(keys::messages_gsi_pk(user)))
            .scan_index_forward(false);
        let items = self.query_page(query, page, "paging messages").await?;
        items.into_iter().map(MessageItem::parse).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn stats(&self, user: UserId) -> StoreResult<Stats> {
        self.read_stats(user).await
    }
}

impl DynamoStore {
    /// Moves a stored message's status if `update` moves it forward.
    async fn advance_stored(
        &self,
        user: UserId,
        location: &Location,
        update: MessageStatus,
    ) -> StoreResult<StatusOutcome> {
        let from = advanced_by(update, !location.is_outbound);
        if from.is_empty() {
            return Ok(StatusOutcome::Unchanged);
        }
        let (request, listed) = one_of(self.client.update_item(), &from);
        let request = request
            .set_key(Some(location.key(user)))
            .update_expression("SET #status = :update")
            .condition_expression(format!("{EXISTS} AND #status IN ({listed})"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":update", keys::s(update.as_str()));
        match self
            .conditional_update(request, "advancing a status")
            .await?
        {
            Updated::Done(_) => Ok(StatusOutcome::Advanced(update)),
            Updated::Refused(_) => Ok(StatusOutcome::Unchanged),
        }
    }

    /// Stashes `update` on the key item unless a more advanced one is there;
    /// `false` when the message arrived meanwhile (take the stored path).
    async fn stash(
        &self,
        user: UserId,
        key_id: &str,
        update: MessageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let expires_at = (now + STASH_TTL).timestamp();
        // Unknown direction: the outbound ladder ranks every status, and the
        // insert re-applies what is kept by the message's own rules.
        let from = advanced_by(update, false);
        let (request, listed) = one_of(self.client.update_item(), &from);
        let kept_out = if from.is_empty() {
            "attribute_not_exists(stashed_status)".to_owned()
        } else {
            format!("(attribute_not_exists(stashed_status) OR stashed_status IN ({listed}))")
        };
        let request = request
            .set_key(Some(key_item(user, key_id)))
            .update_expression("SET stashed_status = :update, expires_at = :expires")
            .condition_expression(format!("attribute_not_exists(message_id) AND {kept_out}"))
            .expression_attribute_values(":update", keys::s(update.as_str()))
            .expression_attribute_values(":expires", keys::n(expires_at));
        match self
            .conditional_update(request, "stashing a status")
            .await?
        {
            Updated::Done(_) => Ok(true),
            Updated::Refused(Some(old)) => Ok(!matches!(
                KeyState::parse(old)?.1,
                Some(KeyState::Stored(_))
            )),
            Updated::Refused(None) => Ok(true),
        }
    }
}

/// Binds `statuses` as `:from0, :from1, …` and returns that list, for an
/// `IN (…)` condition.
fn one_of(
    mut request: UpdateItemFluentBuilder,
    statuses: &[MessageStatus],
) -> (UpdateItemFluentBuilder, String) {
    let mut names = Vec::with_capacity(statuses.len());
    for (i, status) in statuses.iter().enumerate() {
        let name = format!(":from{i}");
        request = request.expression_attribute_values(&name, keys::s(status.as_str()));
        names.push(name);
    }
    (request, names.join(", "))
}

fn parse_location(item: Item) -> StoreResult<Location> {
    serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a message pointer"))
}

fn key_item(user: UserId, key_id: &str) -> Item {
    keys::key(keys::user_pk(user), &keys::key_id_sk(key_id))
}
