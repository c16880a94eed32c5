//! Writes to the simulated database shared by incoming messages, API sends
//! and seeding: the message row, and the contact/chat rows a message creates
//! or refreshes (with the webhook data Evolution derives from them).

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use crate::error::SimError;
use crate::sim::Sim;
use crate::state::message::source_of;
use crate::state::{ChatRow, Contact, StoredMessage, db_id};

/// Fields of a message about to be stored.
pub struct NewMessage {
    pub key: Value,
    pub push_name: String,
    pub message_type: String,
    pub message: Value,
    pub context_info: Value,
    pub timestamp: i64,
    pub status: String,
}

/// Stores a message and returns its `prepareMessage` JSON.
pub fn store_message(sim: &Arc<Sim>, instance: &str, new: NewMessage) -> Result<Value, SimError> {
    let mut store = sim.store();
    let seq = store.next_seq();
    let inst = store
        .instances
        .get_mut(instance)
        .ok_or_else(|| SimError::UnknownInstance(instance.to_owned()))?;
    let key_id = new.key["id"].as_str().unwrap_or_default().to_owned();
    let msg = StoredMessage {
        id: db_id(),
        source: source_of(&key_id).to_owned(),
        key: new.key,
        push_name: new.push_name,
        message_type: new.message_type,
        message: new.message,
        context_info: new.context_info,
        timestamp: new.timestamp,
        status: new.status,
        updates: Vec::new(),
        seq,
    };
    let json = msg.webhook_json(&inst.id);
    inst.messages.push(msg);
    Ok(json)
}

/// A webhook Evolution sends alongside `messages.upsert`.
pub enum Companion {
    /// New contact: single object, not an array.
    ContactUpsert(Value),
    /// Known contact: single object.
    ContactUpdate(Value),
    /// New chat, or a known chat whose name changed (`[{id, name}]`, no `remoteJid`).
    ChatsUpsert(Value),
}

/// Creates or refreshes the contact and chat rows for `jid`.
pub fn touch_contact_and_chat(
    sim: &Arc<Sim>,
    instance: &str,
    jid: &str,
    push_name: &str,
    from_me: bool,
) -> Result<Vec<Companion>, SimError> {
    sim.with_instance(instance, |inst| {
        let now = Utc::now();
        let mut out = Vec::new();
        let contact_name = if from_me { "" } else { push_name };
        let pic = inst.contact(jid).and_then(|c| c.profile_pic_url.clone());
        let contact_json = json!({
            "remoteJid": jid,
            "pushName": contact_name,
            "profilePicUrl": pic,
            "instanceId": inst.id,
        });
        if let Some(c) = inst.contacts.iter_mut().find(|c| c.remote_jid == jid) {
            if !contact_name.is_empty() {
                c.push_name = Some(contact_name.to_owned());
            }
            c.updated_at = now;
            out.push(Companion::ContactUpdate(contact_json));
        } else {
            inst.contacts.push(Contact {
                id: db_id(),
                remote_jid: jid.to_owned(),
                push_name: (!contact_name.is_empty()).then(|| contact_name.to_owned()),
                profile_pic_url: None,
                created_at: now,
                updated_at: now,
            });
            out.push(Companion::ContactUpsert(contact_json));
        }
        let instance_id = inst.id.clone();
        match inst.chat_mut(jid) {
            Some(chat) => {
                if !from_me {
                    chat.unread += 1;
                    if chat.name.as_deref() != Some(push_name) {
                        chat.name = Some(push_name.to_owned());
                        let renamed = json!([{ "id": chat.id, "name": push_name }]);
                        out.push(Companion::ChatsUpsert(renamed));
                    }
                }
            }
            None => {
                let name = (!from_me).then(|| push_name.to_owned());
                let unread = u32::from(!from_me);
                inst.chats.push(ChatRow {
                    id: db_id(),
                    remote_jid: jid.to_owned(),
                    name: name.clone(),
                    unread,
                    created_at: now,
                });
                let chat = json!([{
                    "remoteJid": jid,
                    "instanceId": instance_id,
                    "name": name.unwrap_or_default(),
                    "unreadMessages": unread,
                }]);
                out.push(Companion::ChatsUpsert(chat));
            }
        }
        out
    })
}
