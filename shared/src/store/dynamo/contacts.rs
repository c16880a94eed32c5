//! [`ContactStore`] on DynamoDB. A contact lives at `USER#<uid>` /
//! `CONTACT#<jid>`, so an upsert of a known JID is one conditional
//! `UpdateItem`. A new one is one transaction: the contact and its id
//! pointer, both refusing to overwrite, plus the contacts counter; of
//! concurrent creations of one JID exactly one commits and the others fall
//! back to updating it, so they all answer the same contact.
//!
//! A LID pointer is always written before the contact carries that LID, so
//! a contact whose stored `lid` equals the upsert's never needs the pointer
//! written again; a pointer left behind by a changed LID is ignored on read.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::contact_item::{ContactItem, JidPointer};
use super::errors::{CONDITION_FAILED, backend, classify};
use super::ids;
use super::keys::{self, EXISTS, Item};
use super::ops::{Updated, Written};
use super::retry::{Step, retry};
use super::stats::Counter;
use crate::domain::{Jid, UserId};
use crate::store::{
    Contact, ContactId, ContactStore, ContactUpsert, Conversation, Page, StoreError, StoreResult,
};

/// What one creation attempt ran into.
enum Created {
    Yes(Contact),
    /// Someone created the JID's contact first: update theirs.
    Exists,
    /// The minted id was someone's: mint another.
    IdTaken,
    Contended(StoreError),
}

#[async_trait]
impl ContactStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn upsert_contact(&self, user: UserId, c: &ContactUpsert) -> StoreResult<Contact> {
        retry("upserting a contact", |_| async move {
            if let Some(contact) = self.update_contact(user, c).await? {
                return Ok(Step::Done(contact));
            }
            Ok(match self.create_contact(user, c).await? {
                Created::Yes(contact) => Step::Done(contact),
                Created::Exists | Created::IdTaken => Step::Raced,
                Created::Contended(err) => Step::Contended(err),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, contact_id = %id))]
    async fn contact_by_id(&self, user: UserId, id: ContactId) -> StoreResult<Option<Contact>> {
        let key = keys::key(keys::user_pk(user), &keys::contact_id_sk(id));
        let Some(pointer) = self.get_item(key, "reading a contact id").await? else {
            return Ok(None);
        };
        self.contact(user, &JidPointer::parse(pointer)?).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn contact_by_jid(&self, user: UserId, jid: &Jid) -> StoreResult<Option<Contact>> {
        if let Some(contact) = self.contact(user, jid).await? {
            return Ok(Some(contact));
        }
        let key = keys::key(keys::user_pk(user), &keys::lid_sk(jid));
        let Some(pointer) = self.get_item(key, "reading a LID").await? else {
            return Ok(None);
        };
        let contact = self.contact(user, &JidPointer::parse(pointer)?).await?;
        Ok(contact.filter(|c| c.lid.as_ref() == Some(jid)))
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn contacts_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Contact>> {
        let query = self
            .client
            .query()
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", keys::s(keys::contacts_gsi_pk(user)));
        let items = self.query_page(query, page, "paging contacts").await?;
        items.into_iter().map(ContactItem::parse).collect()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn count_contacts(&self, user: UserId) -> StoreResult<u64> {
        Ok(self.read_stats(user).await?.total_contacts)
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, contact_id = %contact))]
    async fn upsert_conversation(
        &self,
        user: UserId,
        contact: ContactId,
        last_message_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Conversation> {
        self.upsert_conversation_item(user, contact, last_message_at, now)
            .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn conversations_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Conversation>> {
        self.conversations_by_activity(user, page).await
    }
}

impl DynamoStore {
    async fn contact(&self, user: UserId, jid: &Jid) -> StoreResult<Option<Contact>> {
        let item = self
            .get_item(contact_key(user, jid), "reading a contact")
            .await?;
        item.map(ContactItem::parse).transpose()
    }

    /// Applies the upsert to a stored contact; `None` when there is none.
    async fn update_contact(
        &self,
        user: UserId,
        c: &ContactUpsert,
    ) -> StoreResult<Option<Contact>> {
        if c.lid.is_none() && c.name.is_none() && c.profile_name.is_none() {
            return self.contact(user, &c.jid).await;
        }
        let Some(lid) = &c.lid else {
            return self.update_contact_if(user, c, EXISTS).await;
        };
        let same_lid = format!("{EXISTS} AND #lid = :lid");
        if let Some(contact) = self.update_contact_if(user, c, &same_lid).await? {
            return Ok(Some(contact));
        }
        // A new LID, or no contact: the pointer first, so that no contact
        // ever carries a LID that does not lead back to it.
        let pointer = JidPointer::by_lid(user, lid, &c.jid).to_item()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(pointer))
            .send()
            .await
            .map_err(|e| classify(e, "remembering a LID"))?;
        self.update_contact_if(user, c, EXISTS).await
    }

    /// Sets the upsert's given fields if `condition` holds.
    async fn update_contact_if(
        &self,
        user: UserId,
        c: &ContactUpsert,
        condition: &str,
    ) -> StoreResult<Option<Contact>> {
        let fields = [
            ("#lid", ":lid", "lid", c.lid.as_ref().map(Jid::as_str)),
            ("#name", ":name", "name", c.name.as_deref()),
            (
                "#pname",
                ":pname",
                "profile_name",
                c.profile_name.as_deref(),
            ),
        ];
        let mut update = self
            .client
            .update_item()
            .set_key(Some(contact_key(user, &c.jid)))
            .condition_expression(condition);
        let mut sets = Vec::new();
        for (name, value, attribute, given) in fields {
            if let Some(given) = given {
                sets.push(format!("{name} = {value}"));
                update = update
                    .expression_attribute_names(name, attribute)
                    .expression_attribute_values(value, keys::s(given));
            }
        }
        let update = update.update_expression(format!("SET {}", sets.join(", ")));
        match self
            .conditional_update(update, "updating a contact")
            .await?
        {
            Updated::Done(item) => ContactItem::parse(item).map(Some),
            Updated::Refused(_) => Ok(None),
        }
    }

    async fn create_contact(&self, user: UserId, c: &ContactUpsert) -> StoreResult<Created> {
        let contact = Contact {
            id: ContactId::new(ids::mint()),
            user_id: user,
            jid: c.jid.clone(),
            lid: c.lid.clone(),
            name: c.name.clone(),
            profile_name: c.profile_name.clone(),
            created_at: c.now,
        };
        let mut items = vec![
            self.put_new(ContactItem::new(&contact).to_item()?)?,
            self.put_new(JidPointer::by_id(user, contact.id, &contact.jid).to_item()?)?,
            self.count(user, &[(Counter::Contacts, 1)])?,
        ];
        if let Some(lid) = &contact.lid {
            items.push(self.put(JidPointer::by_lid(user, lid, &contact.jid).to_item()?)?);
        }
        let failed =
            |codes: &[String], i: usize| codes.get(i).is_some_and(|c| c == CONDITION_FAILED);
        match self.transact(items, "creating a contact").await? {
            Written::Committed => Ok(Created::Yes(contact)),
            Written::Contended(err) => Ok(Created::Contended(err)),
            Written::Refused(codes) if failed(&codes, 0) => Ok(Created::Exists),
            Written::Refused(codes) if failed(&codes, 1) => Ok(Created::IdTaken),
            Written::Refused(codes) => Err(backend(
                anyhow!("cancelled ({codes:?})"),
                "creating a contact",
            )),
        }
    }
}

fn contact_key(user: UserId, jid: &Jid) -> Item {
    keys::key(keys::user_pk(user), &keys::contact_sk(jid))
}
