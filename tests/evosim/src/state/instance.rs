//! One Evolution instance as the simulator remembers it: the in-memory
//! connection state and QR (what `connect`/`connectionState` read), the owner
//! set at `open`, the webhook row and settings, and its slice of the "database".

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::message::StoredMessage;
use super::{ChatRow, Contact};

/// Baileys' `WAConnectionState` as Evolution reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnState {
    Open,
    Connecting,
    Close,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Connecting => "connecting",
            Self::Close => "close",
        }
    }
}

/// `W.qrCode`: `pairingCode`, `code` and `base64` stay absent until the first
/// QR, which is why `connect` can answer a bare `{"count":0}`.
#[derive(Clone, Debug, Default)]
pub struct QrState {
    pub count: u32,
    pub code: Option<String>,
    pub base64: Option<String>,
    /// `None` before the first QR, then `Some(null)` or `Some("ABCD1234")`.
    pub pairing_code: Option<Value>,
}

impl QrState {
    /// The object `connect` returns, undefined fields dropped as JSON.stringify does.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        if let Some(p) = &self.pairing_code {
            obj.insert("pairingCode".into(), p.clone());
        }
        if let Some(code) = &self.code {
            obj.insert("code".into(), json!(code));
        }
        if let Some(b64) = &self.base64 {
            obj.insert("base64".into(), json!(b64));
        }
        obj.insert("count".into(), json!(self.count));
        Value::Object(obj)
    }
}

/// The connected account, known from the first `open` on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub wuid: String,
    pub profile_name: Option<String>,
    pub profile_picture_url: Option<String>,
}

/// Instance settings (`/settings/set`); only `groupsIgnore` and `readStatus`
/// change what the simulator does.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub reject_call: bool,
    pub msg_call: String,
    pub groups_ignore: bool,
    pub always_online: bool,
    pub read_messages: bool,
    pub read_status: bool,
    pub sync_full_history: bool,
    pub wavoip_token: String,
}

/// The `Webhook` row, re-read on every emitted event like Evolution does.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub id: String,
    pub enabled: bool,
    pub url: String,
    /// `None` when never given (the JSON column stays `null`).
    pub headers: Option<Map<String, Value>>,
    /// UPPER_SNAKE names, already expanded (`[]` → all).
    pub events: Vec<String>,
    pub by_events: bool,
    pub base64: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookConfig {
    /// The Prisma row returned by `/webhook/set` and `/webhook/find`.
    pub fn to_json(&self, instance_id: &str) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "headers": self.headers,
            "enabled": self.enabled,
            "events": self.events,
            "webhookByEvents": self.by_events,
            "webhookBase64": self.base64,
            "createdAt": super::iso(self.created_at),
            "updatedAt": super::iso(self.updated_at),
            "instanceId": instance_id,
        })
    }
}

/// Everything about one instance.
#[derive(Debug)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub token: String,
    pub integration: String,
    pub state: ConnState,
    pub qr: QrState,
    /// Number given at create or `?number=`: QR events then carry a pairing code.
    pub pairing_number: Option<String>,
    pub owner: Option<Owner>,
    /// Owner used by a scan that does not name one (deterministic per instance).
    pub default_wuid: String,
    pub webhook: Option<WebhookConfig>,
    pub settings: Settings,
    pub contacts: Vec<Contact>,
    pub chats: Vec<ChatRow>,
    pub messages: Vec<StoredMessage>,
    /// `messages.upsert` dedup: key ids seen in the last 5 minutes.
    pub seen_keys: HashMap<String, Instant>,
    /// `messages.update` dedup: (key id, status) seen in the last 30 minutes.
    pub seen_receipts: HashMap<(String, String), Instant>,
    /// Bumped whenever a socket starts, so stale QR timers stop.
    pub session: u64,
    pub disconnection_code: Option<u16>,
    pub disconnection_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Instance {
    pub fn message_by_key(&self, key_id: &str) -> Option<&StoredMessage> {
        self.messages.iter().find(|m| m.key_id() == key_id)
    }

    pub fn message_by_key_mut(&mut self, key_id: &str) -> Option<&mut StoredMessage> {
        self.messages.iter_mut().find(|m| m.key_id() == key_id)
    }

    pub fn contact(&self, jid: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.remote_jid == jid)
    }

    pub fn chat_mut(&mut self, jid: &str) -> Option<&mut ChatRow> {
        self.chats.iter_mut().find(|c| c.remote_jid == jid)
    }

    /// The envelope's `sender`: the owner's JID, absent before the first `open`.
    pub fn sender(&self) -> Option<String> {
        self.owner.as_ref().map(|o| o.wuid.clone())
    }
}
