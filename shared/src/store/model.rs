//! What the store keeps for the WhatsApp side: instances, contacts,
//! conversations and messages, and the small value types of their calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{InstanceName, Jid, MessageStatus, MessageType, UserId};

/// Where the user's WhatsApp connection stands (API.md `InstanceStatus.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Disconnected,
    Qr,
    Connecting,
    Connected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disconnected => "disconnected",
            Self::Qr => "qr",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "qr" => Self::Qr,
            "connecting" => Self::Connecting,
            "connected" => Self::Connected,
            _ => Self::Disconnected,
        }
    }
}

/// A user's Evolution instance. `version` increases with every save so that
/// concurrent webhooks (QR and connection updates race) never overwrite each
/// other blindly: a save names the version it read.
#[derive(Clone, PartialEq, Eq)]
pub struct Instance {
    pub user_id: UserId,
    pub name: InstanceName,
    /// Generated once at creation, never changed; compared in constant time.
    pub webhook_secret: String,
    pub status: ConnectionStatus,
    pub phone_number: Option<String>,
    pub profile_name: Option<String>,
    pub qr_code: Option<String>,
    pub qr_updated_at: Option<DateTime<Utc>>,
    pub pairing_code: Option<String>,
    pub last_connected_at: Option<DateTime<Utc>>,
    /// `None` until a chat sync recorded a count (the dashboard relies on it).
    pub chats_count: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Our row id of a contact, conversation or message: JSON-safe integers.
macro_rules! row_id {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(ContactId);
row_id!(ConversationId);
row_id!(MessageId);

/// A person the user talks to, keyed by (user, JID). `lid` remembers the
/// privacy id under which the same person also writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub user_id: UserId,
    pub jid: Jid,
    pub lid: Option<Jid>,
    pub name: Option<String>,
    pub profile_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What an upsert sets. `None` fields leave what is stored alone, so a
/// webhook's push name never erases the name contact sync wrote.
#[derive(Debug, Clone)]
pub struct ContactUpsert {
    pub jid: Jid,
    pub lid: Option<Jid>,
    pub name: Option<String>,
    pub profile_name: Option<String>,
    pub now: DateTime<Utc>,
}

/// One conversation per contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact_id: ContactId,
    pub started_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub is_active: bool,
}

/// A message to store once per (user, WhatsApp key id).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub contact_id: ContactId,
    pub key_id: String,
    pub is_outbound: bool,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub status: MessageStatus,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub contact_id: ContactId,
    pub key_id: String,
    pub is_outbound: bool,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub status: MessageStatus,
    pub timestamp: DateTime<Utc>,
}

/// The outcome of one insert-if-new: the row, and whether this call stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub message: Message,
    pub new: bool,
}

/// What a status update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved to this status.
    Advanced(MessageStatus),
    /// The message exists and the update would not move it forward.
    Unchanged,
    /// No such message yet: the update waits and applies when it arrives.
    Stashed,
}

/// Offset paging (`skip`, `limit`) as the list routes take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: u32,
    pub limit: u32,
}

/// `GET /api/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    pub total_messages: u64,
    pub total_contacts: u64,
    pub total_conversations: u64,
    pub inbound_messages: u64,
    pub outbound_messages: u64,
}
