//! The JSON shapes of API.md for contacts, messages and conversations, in
//! both the `/api/evolution/...` flavour and the legacy `/api/...` one.

use chrono::{DateTime, Utc};
use nolose_shared::store::{Contact, Conversation, Message};
use serde::Serialize;
use utoipa::ToSchema;

/// `Contact` of `/api/evolution/contacts` and `/api/evolution/messages/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub id: i64,
    /// The number (the part of the JID before `@`).
    pub wa_id: String,
    pub name: Option<String>,
    pub profile_name: Option<String>,
    pub evolution_remote_jid: String,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.get(),
            wa_id: c.jid.user().to_owned(),
            name: c.name.clone(),
            profile_name: c.profile_name.clone(),
            evolution_remote_jid: c.jid.to_string(),
        }
    }
}

/// `Message` of `/api/evolution/messages/{contact_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    #[serde(rename = "type")]
    #[schema(example = "text")]
    pub message_type: &'static str,
    pub content: Option<String>,
    pub is_outbound: bool,
    #[schema(example = "received")]
    pub status: &'static str,
    #[serde(with = "nolose_shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub timestamp: DateTime<Utc>,
    #[schema(example = "evolution_api")]
    pub source: &'static str,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.get(),
            message_type: m.message_type.as_str(),
            content: m.content.clone(),
            is_outbound: m.is_outbound,
            status: m.status.as_str(),
            timestamp: m.timestamp,
            source: "evolution_api",
        }
    }
}

/// A row of `/api/messages`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageRow {
    pub id: i64,
    pub wa_message_id: String,
    #[serde(rename = "type")]
    pub message_type: &'static str,
    pub content: Option<String>,
    pub is_outbound: bool,
    #[serde(with = "nolose_shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub timestamp: DateTime<Utc>,
    pub contact_id: i64,
}

impl From<&Message> for MessageRow {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.get(),
            wa_message_id: m.key_id.clone(),
            message_type: m.message_type.as_str(),
            content: m.content.clone(),
            is_outbound: m.is_outbound,
            timestamp: m.timestamp,
            contact_id: m.contact_id.get(),
        }
    }
}

/// A row of `/api/contacts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRow {
    pub id: i64,
    pub wa_id: String,
    pub name: Option<String>,
    pub profile_name: Option<String>,
    #[serde(with = "nolose_shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

impl From<&Contact> for ContactRow {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.get(),
            wa_id: c.jid.user().to_owned(),
            name: c.name.clone(),
            profile_name: c.profile_name.clone(),
            created_at: c.created_at,
        }
    }
}

/// A row of `/api/conversations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationRow {
    pub id: i64,
    pub contact_id: i64,
    #[serde(with = "nolose_shared::time::rfc3339")]
    #[schema(value_type = String)]
    pub started_at: DateTime<Utc>,
    #[serde(with = "nolose_shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub last_message_at: Option<DateTime<Utc>>,
    pub is_active: bool,
}

impl From<&Conversation> for ConversationRow {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.get(),
            contact_id: c.contact_id.get(),
            started_at: c.started_at,
            last_message_at: c.last_message_at,
            is_active: c.is_active,
        }
    }
}
