//! The items behind a message: the message in its contact's partition
//! (listed by the user through GSI1), the key item `KEY#<key id>` that is
//! its dedup guard (or, before it arrives, the stashed status update), and
//! the id pointer that `before` paging starts from.

use serde::{Deserialize, Serialize};

use super::errors::backend;
use super::keys::{self, Item, parse_stamp, stamp};
use crate::domain::{MessageStatus, MessageType, UserId};
use crate::store::{ContactId, Message, MessageId, StoreResult};

#[derive(Serialize, Deserialize)]
pub(super) struct MessageItem {
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
    key_id: String,
    is_outbound: bool,
    message_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    status: String,
    timestamp: String,
}

impl MessageItem {
    pub(super) fn new(user: UserId, m: &Message) -> Self {
        let sk = keys::message_sk(m.timestamp, m.id);
        Self {
            pk: keys::contact_messages_pk(user, m.contact_id),
            gsi1_pk: keys::messages_gsi_pk(user),
            gsi1_sk: sk.clone(),
            sk,
            id: m.id.get(),
            contact_id: m.contact_id.get(),
            key_id: m.key_id.clone(),
            is_outbound: m.is_outbound,
            message_type: m.message_type.as_str().to_owned(),
            content: m.content.clone(),
            status: m.status.as_str().to_owned(),
            timestamp: stamp(m.timestamp),
        }
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding a message"))
    }

    pub(super) fn parse(item: Item) -> StoreResult<Message> {
        let m: Self =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a message"))?;
        Ok(Message {
            id: MessageId::new(m.id),
            contact_id: ContactId::new(m.contact_id),
            key_id: m.key_id,
            is_outbound: m.is_outbound,
            message_type: MessageType::from_db(&m.message_type),
            content: m.content,
            status: MessageStatus::from_db(&m.status),
            timestamp: parse_stamp(&m.timestamp)?,
        })
    }
}

/// Where a stored message is, as its guard and its id pointer record it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Location {
    pub(super) contact_id: i64,
    pub(super) message_sk: String,
    pub(super) is_outbound: bool,
}

impl Location {
    pub(super) fn of(m: &Message) -> Self {
        Self {
            contact_id: m.contact_id.get(),
            message_sk: keys::message_sk(m.timestamp, m.id),
            is_outbound: m.is_outbound,
        }
    }

    /// The primary key of the message item.
    pub(super) fn key(&self, user: UserId) -> Item {
        let pk = keys::contact_messages_pk(user, ContactId::new(self.contact_id));
        keys::key(pk, &self.message_sk)
    }
}

/// The key item (`KEY#<key id>`) as read: a guard once the message is
/// stored, a stashed update before, absent when neither.
pub(super) enum KeyState {
    Stored(Location),
    Stashed(MessageStatus),
}

/// The attributes a key item may hold; which ones it has says which state.
#[derive(Deserialize)]
struct KeyItemRaw {
    #[serde(rename = "SK")]
    sk: String,
    message_id: Option<i64>,
    contact_id: Option<i64>,
    message_sk: Option<String>,
    is_outbound: Option<bool>,
    stashed_status: Option<String>,
}

impl KeyState {
    /// The key id and state of a key item.
    pub(super) fn parse(item: Item) -> StoreResult<(String, Option<Self>)> {
        let raw: KeyItemRaw =
            serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a key item"))?;
        let key_id = raw
            .sk
            .strip_prefix(keys::KEY_ID_PREFIX)
            .unwrap_or_default()
            .to_owned();
        let state = match (raw.message_id, raw.contact_id, raw.message_sk) {
            (Some(_), Some(contact_id), Some(message_sk)) => Some(Self::Stored(Location {
                contact_id,
                message_sk,
                is_outbound: raw.is_outbound.unwrap_or_default(),
            })),
            _ => raw
                .stashed_status
                .map(|s| Self::Stashed(MessageStatus::from_db(&s))),
        };
        Ok((key_id, state))
    }

    /// The guard a stored message leaves on its key id. Written with `Put`,
    /// it replaces a stash with everything it held (the TTL included).
    pub(super) fn guard(user: UserId, m: &Message) -> StoreResult<Item> {
        #[derive(Serialize)]
        struct Guard {
            #[serde(rename = "PK")]
            pk: String,
            #[serde(rename = "SK")]
            sk: String,
            message_id: i64,
            contact_id: i64,
            message_sk: String,
            is_outbound: bool,
        }
        let location = Location::of(m);
        let guard = Guard {
            pk: keys::user_pk(user),
            sk: keys::key_id_sk(&m.key_id),
            message_id: m.id.get(),
            contact_id: location.contact_id,
            message_sk: location.message_sk,
            is_outbound: location.is_outbound,
        };
        serde_dynamo::to_item(&guard).map_err(|e| backend(e, "encoding a dedup guard"))
    }
}

/// `MSGID#<id>`: finds a message from its id (`before` paging).
pub(super) fn id_pointer(user: UserId, m: &Message) -> StoreResult<Item> {
    #[derive(Serialize)]
    struct Pointer {
        #[serde(rename = "PK")]
        pk: String,
        #[serde(rename = "SK")]
        sk: String,
        #[serde(flatten)]
        location: Location,
    }
    let pointer = Pointer {
        pk: keys::user_pk(user),
        sk: keys::message_id_sk(m.id),
        location: Location::of(m),
    };
    serde_dynamo::to_item(&pointer).map_err(|e| backend(e, "encoding a message pointer"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use MessageStatus::*;

    #[test]
    fn a_key_item_reads_as_guard_stash_or_nothing() {
        let m = Message {
            id: MessageId::new(77),
            contact_id: ContactId::new(5),
            key_id: "ABC".to_owned(),
            is_outbound: true,
            message_type: MessageType::Text,
            content: None,
            status: Sent,
            timestamp: Utc
                .timestamp_opt(1_795_000_000, 0)
                .single()
                .unwrap_or_default(),
        };
        let guard = KeyState::guard(UserId::new(1), &m).expect("encode");
        match KeyState::parse(guard).expect("decode") {
            (key, Some(KeyState::Stored(l))) => {
                assert_eq!(key, "ABC");
                assert_eq!((l.contact_id, l.is_outbound), (5, true));
                assert_eq!(l.message_sk, keys::message_sk(m.timestamp, m.id));
            }
            _ => panic!("a guard reads as stored"),
        }
        let mut stash = keys::key(keys::user_pk(UserId::new(1)), &keys::key_id_sk("XYZ"));
        stash.insert("stashed_status".to_owned(), keys::s("read"));
        assert!(matches!(
            KeyState::parse(stash.clone()).expect("decode"),
            (_, Some(KeyState::Stashed(Read)))
        ));
        stash.remove("stashed_status");
        assert!(matches!(KeyState::parse(stash).expect("decode"), (_, None)));
    }
}
