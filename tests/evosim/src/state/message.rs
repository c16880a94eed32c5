//! A stored message and the three JSON views Evolution gives of it: the
//! `prepareMessage` object (webhooks, send responses), the `findMessages`
//! record (DB `id`, `MessageUpdate[]`, no `status`) and the `findChats`
//! `lastMessage` (cleaned media, `status`).

use serde_json::{Map, Value, json};

/// One row of Evolution's `Message` table plus its `MessageUpdate` rows.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    /// Evolution's DB id (cuid-like), never the WhatsApp id.
    pub id: String,
    /// Stored exactly as Baileys produced it.
    pub key: Value,
    pub push_name: String,
    pub message_type: String,
    pub message: Value,
    pub context_info: Value,
    /// Seconds.
    pub timestamp: i64,
    pub source: String,
    /// `Message.status` (not selected by findMessages).
    pub status: String,
    /// `MessageUpdate` statuses, oldest first.
    pub updates: Vec<String>,
    /// Insertion order, the only tie-breaker for equal timestamps.
    pub seq: u64,
}

impl StoredMessage {
    pub fn key_id(&self) -> &str {
        self.key["id"].as_str().unwrap_or_default()
    }

    pub fn remote_jid(&self) -> &str {
        self.key["remoteJid"].as_str().unwrap_or_default()
    }

    pub fn from_me(&self) -> bool {
        self.key["fromMe"].as_bool().unwrap_or(false)
    }

    pub fn participant(&self) -> Option<&str> {
        self.key["participant"].as_str()
    }

    /// `prepareMessage` output: the `messages.upsert` / `send.message` data and
    /// the sendText answer.
    pub fn webhook_json(&self, instance_id: &str) -> Value {
        json!({
            "key": self.key,
            "pushName": self.push_name,
            "status": self.status,
            "message": self.message,
            "contextInfo": self.context_info,
            "messageType": self.message_type,
            "messageTimestamp": self.timestamp,
            "instanceId": instance_id,
            "source": self.source,
        })
    }

    /// A `findMessages` record. `pushName` falls back like `W.fetchMessages`:
    /// "Você" for own messages, else the participant's number.
    pub fn record_json(&self, instance_id: &str) -> Value {
        let push_name = if !self.push_name.is_empty() {
            self.push_name.clone()
        } else if self.from_me() {
            "Você".to_owned()
        } else {
            self.participant()
                .map(|p| crate::jid::user_part(p).to_owned())
                .unwrap_or_default()
        };
        let updates: Vec<Value> = self.updates.iter().map(|s| json!({"status": s})).collect();
        json!({
            "id": self.id,
            "key": self.key,
            "pushName": push_name,
            "messageType": self.message_type,
            "message": self.message,
            "messageTimestamp": self.timestamp,
            "instanceId": instance_id,
            "source": self.source,
            "contextInfo": self.context_info,
            "MessageUpdate": updates,
        })
    }

    /// `findChats` `lastMessage`, with `cleanMessageData` applied to `message`.
    pub fn last_message_json(&self, instance_id: &str) -> Value {
        json!({
            "id": self.id,
            "key": self.key,
            "pushName": self.push_name,
            "participant": self.participant(),
            "messageType": self.message_type,
            "message": clean_message(&self.message),
            "contextInfo": self.context_info,
            "source": self.source,
            "messageTimestamp": self.timestamp,
            "instanceId": instance_id,
            "sessionId": null,
            "status": self.status,
        })
    }
}

/// `C.cleanMessageData`: media reduced to what a chat list shows, `base64` dropped.
fn clean_message(message: &Value) -> Value {
    let Some(obj) = message.as_object() else {
        return message.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let cleaned = match k.as_str() {
            "base64" => continue,
            "imageMessage" | "videoMessage" => json!({ "caption": v.get("caption") }),
            "audioMessage" => json!({ "seconds": v.get("seconds") }),
            "documentMessage" => {
                json!({ "caption": v.get("caption"), "name": v.get("fileName") })
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), cleaned);
    }
    Value::Object(out)
}

/// Baileys `getDevice`: the platform is guessed from the shape of `key.id`.
pub fn source_of(key_id: &str) -> &'static str {
    let len = key_id.len();
    if key_id.starts_with("3A") && len == 20 {
        "ios"
    } else if key_id.starts_with("3E") && len == 22 {
        "web"
    } else if len == 21 || len == 32 {
        "android"
    } else if key_id.starts_with("3F") || len == 18 {
        "desktop"
    } else {
        "unknown"
    }
}
