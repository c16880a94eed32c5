//! The items behind contacts and conversations: the contact itself, keyed
//! by JID (what upserts arrive with), the pointers that find it by id and by
//! LID, and the conversation, keyed by contact (one each). Both main items
//! carry GSI1 keys that list them in the order their pages want.

use serde::{Deserialize, Serialize};

use super::errors::backend;
use super::keys::{self, Item, parse_stamp, stamp};
use crate::domain::{Jid, UserId};
use crate::store::{Contact, ContactId, Conversation, ConversationId, StoreResult};

#[derive(Serialize, Deserialize)]
pub(super) struct ContactItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1_sk: String,
    id: i64,
    user_id: i64,
    jid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_name: Option<String>,
    created_at: String,
}

impl ContactItem {
    pub(super) fn new(c: &Contact) -> Self {
        Self {
            pk: keys::user_pk(c.user_id),
            sk: keys::contact_sk(&c.jid),
            gsi1_pk: keys::contacts_gsi_pk(c.user_id),
            gsi1_sk: keys::contacts_gsi_sk(c.id),
            id: c.id.get(),
            user_id: c.user_id.get(),
            jid: c.jid.as_str().to_owned(),
            lid: c.lid.as_ref().map(|l| l.as_str().to_owned()),
            name: c.name.clone(),
            profile_name: c.profile_name.clone(),
            created_at: stamp(c.created_at),
        }
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding a contact"))
    }

    pub(super) fn parse(item: Item) -> StoreResult<Contact> {
        let c: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a contact"))?;
        let jid = |raw: &str| Jid::parse(raw).map_err(|e| backend(e, "decoding a contact's JID"));
        Ok(Contact {
            id: ContactId::new(c.id),
            user_id: UserId::new(c.user_id),
            jid: jid(&c.jid)?,
            lid: c.lid.as_deref().map(jid).transpose()?,
            name: c.name,
            profile_name: c.profile_name,
            created_at: parse_stamp(&c.created_at)?,
        })
    }
}

/// Leads from a contact id or a LID to the contact's JID, hence its item.
#[derive(Serialize, Deserialize)]
pub(super) struct JidPointer {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub(super) jid: String,
}

impl JidPointer {
    pub(super) fn by_id(user: UserId, id: ContactId, jid: &Jid) -> Self {
        Self::new(user, keys::contact_id_sk(id), jid)
    }

    pub(super) fn by_lid(user: UserId, lid: &Jid, jid: &Jid) -> Self {
        Self::new(user, keys::lid_sk(lid), jid)
    }

    fn new(user: UserId, sk: String, jid: &Jid) -> Self {
        Self {
            pk: keys::user_pk(user),
            sk,
            jid: jid.as_str().to_owned(),
        }
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding a contact pointer"))
    }

    pub(super) fn parse(item: Item) -> StoreResult<Jid> {
        let p: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a contact pointer"))?;
        Jid::parse(&p.jid).map_err(|e| backend(e, "decoding a contact pointer"))
    }
}

/// `last_message_at` is absent until a message time is known.
#[derive(Serialize, Deserialize)]
pub(super) struct ConversationItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1_sk: String,
    id: i64,
    contact_id: i64,
    started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) last_message_at: Option<String>,
    is_active: bool,
}

impl ConversationItem {
    pub(super) fn new(user: UserId, c: &Conversation) -> Self {
        Self {
            pk: keys::user_pk(user),
            sk: keys::conversation_sk(c.contact_id),
            gsi1_pk: keys::conversations_gsi_pk(user),
            gsi1_sk: keys::conversations_gsi_sk(c.last_message_at, c.id),
            id: c.id.get(),
            contact_id: c.contact_id.get(),
            started_at: stamp(c.started_at),
            last_message_at: c.last_message_at.map(stamp),
            is_active: c.is_active,
        }
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding a conversation"))
    }

    pub(super) fn parse(item: Item) -> StoreResult<Conversation> {
        let c: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a conversation"))?;
        Ok(Conversation {
            id: ConversationId::new(c.id),
            contact_id: ContactId::new(c.contact_id),
            started_at: parse_stamp(&c.started_at)?,
            last_message_at: c.last_message_at.as_deref().map(parse_stamp).transpose()?,
            is_active: c.is_active,
        })
    }
}
