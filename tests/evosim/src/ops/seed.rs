//! Deterministic history, as if a history sync had filled Evolution's
//! database: no webhooks, fixed ids and timestamps so a test can say which
//! messages are "the 30 newest".
//!
//! Numbering (all 1-based):
//! - contact `i`: `55119{i:08}@s.whatsapp.net`, pushName `Contact {i}`;
//! - chat `c` uses the same JID as contact `c`, name `Contact {c}`;
//! - message `m` of chat `c`: `key.id = 3A{c:06}{m:012}` (an iOS-shaped id),
//!   `messageTimestamp = base + ((c−1)·M + (m−1))·60` with `M` messages per chat,
//!   so later chats are newer and message `M` is a chat's newest;
//!   every 4th message (`m % 4 == 0`) is `fromMe`; text `Message {m} of chat {c}`.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store_ops::{NewMessage, store_message};
use crate::error::SimError;
use crate::sim::Sim;
use crate::state::{ChatRow, Contact, db_id};

/// How much history to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Seed {
    pub contacts: u32,
    pub chats: u32,
    pub messages_per_chat: u32,
    /// Timestamp of the oldest message; default from the config.
    pub base_timestamp: Option<i64>,
}

/// What was added (existing rows with the same JID / key id are skipped).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    pub contacts: u32,
    pub chats: u32,
    pub messages: u32,
}

/// JID of seeded contact/chat `i`.
pub fn seeded_jid(i: u32) -> String {
    format!("55119{i:08}@s.whatsapp.net")
}

/// `key.id` of seeded message `m` in chat `c`.
pub fn seeded_key_id(chat: u32, message: u32) -> String {
    format!("3A{chat:06}{message:012}")
}

/// Adds the history described by `req`.
pub fn seed(sim: &Arc<Sim>, instance: &str, req: Seed) -> Result<Seeded, SimError> {
    let base = req.base_timestamp.unwrap_or(sim.config.seed_base_timestamp);
    let mut added = Seeded::default();
    let now = Utc::now();
    sim.with_instance(instance, |inst| {
        for i in 1..=req.contacts {
            let jid = seeded_jid(i);
            if inst.contact(&jid).is_none() {
                inst.contacts.push(Contact {
                    id: db_id(),
                    remote_jid: jid,
                    push_name: Some(format!("Contact {i}")),
                    profile_pic_url: None,
                    created_at: now,
                    updated_at: now,
                });
                added.contacts += 1;
            }
        }
        for c in 1..=req.chats {
            let jid = seeded_jid(c);
            if inst.chat_mut(&jid).is_none() {
                inst.chats.push(ChatRow {
                    id: db_id(),
                    remote_jid: jid,
                    name: Some(format!("Contact {c}")),
                    unread: 0,
                    created_at: now,
                });
                added.chats += 1;
            }
        }
    })?;
    let per_chat = i64::from(req.messages_per_chat);
    for c in 1..=req.chats {
        for m in 1..=req.messages_per_chat {
            let key_id = seeded_key_id(c, m);
            let exists = sim.with_instance(instance, |i| i.message_by_key(&key_id).is_some())?;
            if exists {
                continue;
            }
            let from_me = m % 4 == 0;
            let offset = (i64::from(c) - 1) * per_chat + i64::from(m) - 1;
            store_message(
                sim,
                instance,
                NewMessage {
                    key: json!({ "remoteJid": seeded_jid(c), "fromMe": from_me, "id": key_id }),
                    push_name: if from_me {
                        "Você".into()
                    } else {
                        format!("Contact {c}")
                    },
                    message_type: "conversation".into(),
                    message: json!({ "conversation": format!("Message {m} of chat {c}") }),
                    context_info: serde_json::Value::Null,
                    timestamp: base + offset * 60,
                    status: if from_me { "READ" } else { "DELIVERY_ACK" }.into(),
                },
            )?;
            added.messages += 1;
        }
    }
    Ok(added)
}
