//! Receipts and revokes from WhatsApp: `messages.update` (with Evolution's
//! 30-minute `(keyId, status)` dedup and its "original message not found →
//! skip" rule) and the remote-revoke shape of `messages.delete`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::SimError;
use crate::events::name;
use crate::jid::is_group;
use crate::sim::Sim;
use crate::webhook::emit;

const RECEIPT_DEDUP: Duration = Duration::from_secs(30 * 60);

/// `ERROR`, `PENDING`, `SERVER_ACK`, `DELIVERY_ACK`, `READ`, `PLAYED`, `DELETED`.
pub const STATUSES: [&str; 7] = [
    "ERROR",
    "PENDING",
    "SERVER_ACK",
    "DELIVERY_ACK",
    "READ",
    "PLAYED",
    "DELETED",
];

/// A receipt for a stored message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    /// `key.id` of the message.
    pub key_id: String,
    pub status: String,
    /// Group receipts name the member (`participant`).
    #[serde(default)]
    pub participant: Option<String>,
}

/// What a receipt or revoke did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Emitted {
    pub deliveries: Vec<u64>,
    /// Why nothing was sent (duplicate receipt, group ignored).
    pub skipped: Option<String>,
}

/// Applies a receipt and emits `messages.update` (+ `chats.upsert`).
pub fn update_status(
    sim: &Arc<Sim>,
    instance: &str,
    req: StatusUpdate,
) -> Result<Emitted, SimError> {
    if !STATUSES.contains(&req.status.as_str()) {
        return Err(SimError::Invalid(format!(
            "unknown status {:?}",
            req.status
        )));
    }
    let found = sim.with_instance(instance, |inst| {
        let groups_ignore = inst.settings.groups_ignore;
        let instance_id = inst.id.clone();
        let has_chat = |jid: &str| inst.chats.iter().any(|c| c.remote_jid == jid);
        let msg = inst.message_by_key(&req.key_id)?;
        let jid = msg.remote_jid().to_owned();
        let chat_exists = has_chat(&jid);
        let data = json!({
            "keyId": req.key_id,
            "remoteJid": jid,
            "fromMe": msg.from_me(),
            "participant": req.participant.clone().or(msg.participant().map(str::to_owned)),
            "status": req.status,
            "instanceId": instance_id,
            "messageId": msg.id,
        });
        let skip = if jid == "status@broadcast" {
            Some("status@broadcast receipts are skipped")
        } else if groups_ignore && is_group(&jid) {
            Some("group ignored (groupsIgnore is on)")
        } else {
            let now = Instant::now();
            inst.seen_receipts
                .retain(|_, at| now.duration_since(*at) < RECEIPT_DEDUP);
            let dedup_key = (req.key_id.clone(), req.status.clone());
            inst.seen_receipts
                .insert(dedup_key, now)
                .map(|_| "duplicate (keyId, status) within 30 minutes")
        };
        if skip.is_none()
            && let Some(m) = inst.message_by_key_mut(&req.key_id)
        {
            m.status = req.status.clone();
            m.updates.push(req.status.clone());
        }
        Some((data, skip, jid, chat_exists, instance_id))
    })?;
    let Some((mut data, skip, jid, chat_exists, instance_id)) = found else {
        return Err(SimError::NotFound(format!(
            "no stored message with key.id {:?}: Evolution skips the update",
            req.key_id
        )));
    };
    if let Some(reason) = skip {
        return Ok(Emitted {
            deliveries: Vec::new(),
            skipped: Some(reason.to_owned()),
        });
    }
    if data["participant"].is_null()
        && let Some(obj) = data.as_object_mut()
    {
        obj.remove("participant");
    }
    let mut deliveries = emit(sim, instance, name::MESSAGES_UPDATE, data);
    if chat_exists {
        let chat = json!([{ "remoteJid": jid, "instanceId": instance_id, "unreadMessages": 0 }]);
        deliveries.extend(emit(sim, instance, name::CHATS_UPSERT, chat));
    }
    Ok(Emitted {
        deliveries,
        skipped: None,
    })
}

/// The other side deleted a message for everyone: `messages.delete` with the
/// raw key, and a `DELETED` update row.
pub fn revoke(sim: &Arc<Sim>, instance: &str, key_id: &str) -> Result<Emitted, SimError> {
    let key = sim.with_instance(instance, |inst| {
        let msg = inst.message_by_key_mut(key_id)?;
        msg.status = "DELETED".to_owned();
        msg.updates.push("DELETED".to_owned());
        let mut key = json!({
            "remoteJid": msg.remote_jid(),
            "fromMe": msg.from_me(),
            "id": key_id,
        });
        if let Some(p) = msg.participant() {
            key["participant"] = json!(p);
        }
        Some(key)
    })?;
    let key =
        key.ok_or_else(|| SimError::NotFound(format!("no stored message with key.id {key_id:?}")))?;
    let deliveries = emit(sim, instance, name::MESSAGES_DELETE, key);
    Ok(Emitted {
        deliveries,
        skipped: None,
    })
}
