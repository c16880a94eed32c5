//! Messages arriving from WhatsApp (the `messages.upsert` path of
//! `W.messageHandle`): Evolution's ignore rules, its 5-minute duplicate cache,
//! storage, and the companion `contacts.*` / `chats.upsert` events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::content::{self, Body, Kind};
use super::store_ops::{self, Companion};
use crate::error::SimError;
use crate::events::name;
use crate::jid::{create_jid, is_group, is_lid};
use crate::sim::Sim;
use crate::webhook::emit;

const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// A message to inject as if WhatsApp delivered it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Incoming {
    /// Chat: digits (`createJid` applies) or a JID (`…@g.us`, `…@lid`, …).
    pub from: String,
    pub kind: Kind,
    /// The text, or the caption of image/video/document, or the reaction emoji.
    pub text: Option<String>,
    pub file_name: Option<String>,
    pub mimetype: Option<String>,
    /// Sender display name (default `"Contact <last 4 digits>"`).
    pub push_name: Option<String>,
    /// Group author (`key.participant`); required in practice for `@g.us`.
    pub participant: Option<String>,
    /// The author's other identity (`key.participantAlt`).
    pub participant_alt: Option<String>,
    /// For a `@lid` chat, the phone JID (`key.remoteJidAlt`), or vice versa.
    pub remote_jid_alt: Option<String>,
    /// `key.id` of the message a reaction points at.
    pub reaction_to: Option<String>,
    /// WhatsApp id; default a random iOS-looking `3A…` id.
    pub id: Option<String>,
    /// Seconds; default now.
    pub timestamp: Option<i64>,
    /// Sent from the phone itself (arrives as `messages.upsert` with `fromMe`).
    pub from_me: bool,
    /// Default `DELIVERY_ACK` (received) / `SERVER_ACK` (`fromMe`).
    pub status: Option<String>,
    /// Store only, emit nothing: history that Evolution already holds.
    pub silent: bool,
}

/// What an injection did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub key_id: String,
    pub remote_jid: String,
    /// The `messages.upsert` data (`None` when ignored).
    pub message: Option<Value>,
    /// Why Evolution would drop it (group with `groupsIgnore`, duplicate, …).
    pub ignored: Option<String>,
    pub deliveries: Vec<u64>,
}

fn random_key_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("3A{}", &hex[..18])
}

fn build_key(req: &Incoming, jid: &str, id: &str) -> Value {
    let mut key = json!({ "remoteJid": jid, "fromMe": req.from_me, "id": id });
    if let Some(alt) = &req.remote_jid_alt {
        key["remoteJidAlt"] = json!(create_jid(alt));
    }
    if let Some(p) = &req.participant {
        key["participant"] = json!(create_jid(p));
    }
    if let Some(p) = &req.participant_alt {
        key["participantAlt"] = json!(create_jid(p));
    }
    let addressed_by = if is_group(jid) {
        req.participant.as_deref().map(create_jid)
    } else {
        Some(jid.to_owned())
    };
    let has_alt = req.remote_jid_alt.is_some() || req.participant_alt.is_some();
    match addressed_by {
        Some(a) if is_lid(&a) => key["addressingMode"] = json!("lid"),
        Some(_) if has_alt => key["addressingMode"] = json!("pn"),
        _ => {}
    }
    key
}

fn default_push_name(jid: &str) -> String {
    let user: Vec<char> = crate::jid::user_part(jid).chars().collect();
    let tail: String = user[user.len().saturating_sub(4)..].iter().collect();
    format!("Contact {tail}")
}

/// Injects one message; see [`Incoming`].
pub fn inject(sim: &Arc<Sim>, instance: &str, req: Incoming) -> Result<Injected, SimError> {
    if req.from.trim().is_empty() {
        return Err(SimError::Invalid("`from` is required".into()));
    }
    let jid = create_jid(&req.from);
    let id = req.id.clone().unwrap_or_else(random_key_id);
    let mut out = Injected {
        key_id: id.clone(),
        remote_jid: jid.clone(),
        message: None,
        ignored: None,
        deliveries: Vec::new(),
    };
    let (settings, hook_base64) = sim.with_instance(instance, |i| {
        (
            i.settings.clone(),
            i.webhook.as_ref().is_some_and(|h| h.base64),
        )
    })?;
    out.ignored = if jid.ends_with("@newsletter") {
        Some("newsletters are always ignored".into())
    } else if jid == "status@broadcast" && !settings.read_status {
        Some("status@broadcast ignored (readStatus is off)".into())
    } else if is_group(&jid) && settings.groups_ignore {
        Some("group ignored (groupsIgnore is on)".into())
    } else {
        None
    };
    if out.ignored.is_some() {
        return Ok(out);
    }
    let reaction_key = req
        .reaction_to
        .as_ref()
        .map(|target| json!({ "remoteJid": jid, "fromMe": !req.from_me, "id": target }));
    let (message_type, mut message) = content::build(&Body {
        kind: req.kind,
        text: req.text.as_deref(),
        file_name: req.file_name.as_deref(),
        mimetype: req.mimetype.as_deref(),
        reaction_key,
    });
    content::prune_nulls(&mut message);
    let push_name = req
        .push_name
        .clone()
        .unwrap_or_else(|| default_push_name(&jid));
    let status = req.status.clone().unwrap_or_else(|| {
        if req.from_me {
            "SERVER_ACK"
        } else {
            "DELIVERY_ACK"
        }
        .to_owned()
    });
    let key = build_key(&req, &jid, &id);
    let timestamp = req.timestamp.unwrap_or_else(|| Utc::now().timestamp());
    let duplicate = sim.with_instance(instance, |inst| {
        let now = Instant::now();
        inst.seen_keys
            .retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
        !req.silent && inst.seen_keys.insert(id.clone(), now).is_some()
    })?;
    if duplicate {
        out.ignored = Some("Message duplicated ignored (same key.id within 5 minutes)".into());
        return Ok(out);
    }
    let stored = store_ops::store_message(
        sim,
        instance,
        store_ops::NewMessage {
            key,
            push_name: push_name.clone(),
            message_type: message_type.to_owned(),
            message,
            context_info: Value::Null,
            timestamp,
            status,
        },
    )?;
    let companions =
        store_ops::touch_contact_and_chat(sim, instance, &jid, &push_name, req.from_me)?;
    if req.silent {
        out.message = Some(stored);
        return Ok(out);
    }
    let mut data = stored.clone();
    if hook_base64 && req.kind.is_media() {
        data["message"]["base64"] = json!("ZXZvc2ltIHBsYWNlaG9sZGVyIG1lZGlh");
    }
    out.deliveries = emit(sim, instance, name::MESSAGES_UPSERT, data);
    for companion in companions {
        let (event, data) = match companion {
            Companion::ContactUpsert(d) => (name::CONTACTS_UPSERT, d),
            Companion::ContactUpdate(d) => (name::CONTACTS_UPDATE, d),
            Companion::ChatsUpsert(d) => (name::CHATS_UPSERT, d),
        };
        out.deliveries.extend(emit(sim, instance, event, data));
    }
    out.message = Some(stored);
    Ok(out)
}
