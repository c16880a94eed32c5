//! The simulator's in-memory "database": instances (each with its contacts,
//! chats and messages) and the WhatsApp-wide registry of numbers that are not
//! on WhatsApp. Everything sits behind one mutex in [`crate::sim::Sim`]; no
//! lock is ever held across an `.await`.

pub mod instance;
pub mod message;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub use instance::{ConnState, Instance, Owner, QrState, Settings, WebhookConfig};
pub use message::StoredMessage;

/// A `Contact` row.
#[derive(Clone, Debug)]
pub struct Contact {
    pub id: String,
    pub remote_jid: String,
    pub push_name: Option<String>,
    pub profile_pic_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    /// A `findContacts` element: the row plus `isGroup`, `isSaved`, `type`.
    pub fn to_json(&self, instance_id: &str) -> Value {
        let is_group = crate::jid::is_group(&self.remote_jid);
        let is_saved = self.push_name.as_deref().is_some_and(|n| !n.is_empty())
            || self.profile_pic_url.is_some();
        let kind = if is_group {
            "group"
        } else if is_saved {
            "contact"
        } else {
            "group_member"
        };
        json!({
            "id": self.id,
            "remoteJid": self.remote_jid,
            "pushName": self.push_name,
            "profilePicUrl": self.profile_pic_url,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "instanceId": instance_id,
            "isGroup": is_group,
            "isSaved": is_saved,
            "type": kind,
        })
    }
}

/// A `Chat` row (name and unread counter); the chat list itself is derived
/// from messages, as Evolution's SQL does.
#[derive(Clone, Debug)]
pub struct ChatRow {
    pub id: String,
    pub remote_jid: String,
    pub name: Option<String>,
    pub unread: u32,
    pub created_at: DateTime<Utc>,
}

/// All simulated state.
#[derive(Debug, Default)]
pub struct Store {
    pub instances: BTreeMap<String, Instance>,
    /// JIDs (after `createJid`) that `onWhatsApp` reports as not existing.
    pub not_on_whatsapp: BTreeSet<String>,
    /// Counts instances ever created, for deterministic default owners.
    pub created: u64,
    /// Message insertion counter.
    pub seq: u64,
}

impl Store {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// A cuid-looking database id (`cm` + 23 characters), unique per process.
pub fn db_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("cm{}", &hex[..23])
}

/// Prisma's `DateTime` serialization: `2025-10-21T11:40:39.000Z`.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Seconds since the epoch as an ISO string (for chat `updatedAt`).
pub fn iso_from_secs(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(iso)
        .unwrap_or_default()
}
