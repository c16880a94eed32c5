//! Webhook envelopes (EVOLUTION.md §5.4) and what each event's `data` means
//! to us (§5.5). Parsing is tolerant where Evolution is inconsistent
//! (contacts as object or array, two `messages.delete` shapes, `@lid` keys)
//! and strict only where a retry could never help (no envelope → 400).

use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_json::value::RawValue;

pub use super::envelope::{Envelope, parse_envelope};
use super::message::{ParsedMessage, RecordError, is_protocol, parse_record};
use crate::domain::limits::{MAX_KEY_ID_CHARS, cut_name, longer_than};
use crate::domain::{Jid, MessageStatus};

/// Every event name Evolution v2 sends (§5.1 table).
const EVENTS: [&str; 30] = [
    "application.startup",
    "instance.create",
    "instance.delete",
    "qrcode.updated",
    "connection.update",
    "status.instance",
    "messages.set",
    "messages.upsert",
    "messages.edited",
    "messages.update",
    "messages.delete",
    "send.message",
    "send.message.update",
    "contacts.set",
    "contacts.upsert",
    "contacts.update",
    "presence.update",
    "chats.set",
    "chats.upsert",
    "chats.update",
    "chats.delete",
    "groups.upsert",
    "groups.update",
    "group-participants.update",
    "labels.edit",
    "labels.association",
    "call",
    "remove.instance",
    "logout.instance",
    "typebot.start",
];

/// The dotted event name of a `byEvents` path suffix (`messages-upsert` →
/// `messages.upsert`); unknown suffixes come back as they are.
pub fn normalise_event_name(suffix: &str) -> String {
    let suffix = suffix.trim_matches('/').to_ascii_lowercase();
    EVENTS
        .iter()
        .find(|e| e.replace(['.', '-'], "-") == suffix)
        .map_or(suffix, |e| (*e).to_owned())
}

/// `connection.update`'s `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Open,
    Connecting,
    Close,
    Refused,
}

/// A person Evolution told us about (`contacts.upsert` / `contacts.update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInfo {
    pub jid: Jid,
    pub push_name: Option<String>,
}

/// What an event asks of us.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    /// `messages.upsert`, `send.message` (one record), `messages.set` (many).
    Messages(Vec<ParsedMessage>),
    /// `messages.update`: receipts (key id, new status).
    StatusUpdate {
        key_id: String,
        status: MessageStatus,
    },
    /// `messages.delete`, either shape.
    Deleted {
        key_id: String,
    },
    Connection {
        state: ConnectionState,
        wuid_phone: Option<String>,
        profile_name: Option<String>,
    },
    /// `qrcode.updated`; `base64` is `None` for the "QR limit reached" form.
    QrUpdated {
        base64: Option<String>,
        pairing_code: Option<String>,
    },
    /// `logout.instance`, `remove.instance`.
    LoggedOut,
    Contacts(Vec<ContactInfo>),
    /// `chats.upsert` entries that carry a `remoteJid`.
    Chats(Vec<Jid>),
    /// An event we do not handle, or one that carries nothing for us.
    Ignored(String),
    /// The event's `data` cannot be what Evolution sends (400, not retried).
    Malformed(String),
}

/// Interprets an authorised envelope. `now` stands in for missing message
/// timestamps.
pub fn interpret(envelope: &Envelope<'_>, now: DateTime<Utc>) -> WebhookEvent {
    let event = envelope.event.as_str();
    if matches!(event, "messages.upsert" | "send.message" | "messages.set") {
        return match envelope.data_records() {
            Some(records) => messages(&records, now),
            None if event == "messages.set" && envelope.raw_data.get() == "null" => {
                WebhookEvent::Messages(Vec::new())
            }
            None if event == "messages.set" => {
                WebhookEvent::Malformed("messages.set data is not an array".into())
            }
            None => one_message(&envelope.data(), now),
        };
    }
    let data = envelope.data();
    match event {
        "messages.update" => status_update(&data),
        "messages.delete" => deleted(&data),
        "connection.update" => connection(&data),
        "qrcode.updated" => qr(&data),
        "logout.instance" | "remove.instance" => WebhookEvent::LoggedOut,
        "contacts.upsert" | "contacts.update" => contacts(&data),
        "chats.upsert" => chats(&data),
        other => WebhookEvent::Ignored(other.to_owned()),
    }
}

fn str_at<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `messages.upsert` / `send.message` with one record: a record without a
/// key cannot be what Evolution sends (400); one beyond the limits is
/// skipped.
fn one_message(record: &Value, now: DateTime<Utc>) -> WebhookEvent {
    if is_protocol(record) {
        return WebhookEvent::Messages(Vec::new());
    }
    match parse_record(record, now) {
        Ok(m) => WebhookEvent::Messages(vec![m]),
        Err(e @ RecordError::Missing(_)) => WebhookEvent::Malformed(e.to_string()),
        Err(e) => WebhookEvent::Ignored(e.to_string()),
    }
}

/// An array of records, each parsed on its own: a malformed one or one
/// beyond the limits is skipped, the others are kept (Evolution never
/// retries a 400, so one bad record must not lose the batch).
fn messages(records: &[&RawValue], now: DateTime<Utc>) -> WebhookEvent {
    let mut out = Vec::with_capacity(records.len());
    let mut skipped = 0usize;
    for raw in records {
        let record: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        if is_protocol(&record) {
            continue;
        }
        match parse_record(&record, now) {
            Ok(m) => out.push(m),
            Err(_) => skipped += 1,
        }
    }
    if out.is_empty() && skipped > 0 {
        return WebhookEvent::Ignored(format!("{skipped} message records skipped"));
    }
    WebhookEvent::Messages(out)
}

fn status_update(data: &Value) -> WebhookEvent {
    let Some(key_id) =
        str_at(data, "keyId").or_else(|| data.get("key").and_then(|k| str_at(k, "id")))
    else {
        return WebhookEvent::Malformed("messages.update without keyId".into());
    };
    if longer_than(key_id, MAX_KEY_ID_CHARS) {
        return WebhookEvent::Ignored("messages.update of a key id beyond the limit".into());
    }
    // Receipts of group, broadcast and newsletter messages are for messages
    // we never store: stashing them would only wait for nothing.
    let chat = str_at(data, "remoteJid").and_then(|j| Jid::parse(j).ok());
    if chat.is_some_and(|jid| !jid.is_person()) {
        return WebhookEvent::Ignored("messages.update of a chat we do not keep".into());
    }
    // An update without a status is Evolution's "DELETED" (§5.5).
    let raw = str_at(data, "status").unwrap_or("DELETED");
    match MessageStatus::from_evolution(raw) {
        Some(status) => WebhookEvent::StatusUpdate {
            key_id: key_id.to_owned(),
            status,
        },
        None => WebhookEvent::Ignored(format!("messages.update status {raw}")),
    }
}

/// A remote revoke carries the raw key (`{remoteJid, fromMe, id}`); a delete
/// through the API carries the stored record (`{key: {id}}`).
fn deleted(data: &Value) -> WebhookEvent {
    let from_record = data.get("key").and_then(|k| str_at(k, "id"));
    match from_record.or_else(|| str_at(data, "id")) {
        Some(id) if longer_than(id, MAX_KEY_ID_CHARS) => {
            WebhookEvent::Ignored("messages.delete of a key id beyond the limit".into())
        }
        Some(id) => WebhookEvent::Deleted {
            key_id: id.to_owned(),
        },
        None => WebhookEvent::Malformed("messages.delete without a key id".into()),
    }
}

fn connection(data: &Value) -> WebhookEvent {
    let state = match str_at(data, "state") {
        Some("open") => ConnectionState::Open,
        Some("connecting") => ConnectionState::Connecting,
        Some("close") => ConnectionState::Close,
        Some("refused") => ConnectionState::Refused,
        other => {
            return WebhookEvent::Ignored(format!(
                "connection.update state {}",
                other.unwrap_or("absent")
            ));
        }
    };
    WebhookEvent::Connection {
        state,
        wuid_phone: str_at(data, "wuid").and_then(phone_of_wuid),
        profile_name: str_at(data, "profileName").map(|n| cut_name(n.to_owned())),
    }
}

/// `5511999999999:12@s.whatsapp.net` → `5511999999999` (API.md: digits only).
pub fn phone_of_wuid(wuid: &str) -> Option<String> {
    let user = wuid.split('@').next()?.split(':').next()?;
    (!user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())).then(|| user.to_owned())
}

fn qr(data: &Value) -> WebhookEvent {
    let qr = data.get("qrcode").unwrap_or(&Value::Null);
    WebhookEvent::QrUpdated {
        base64: str_at(qr, "base64").map(str::to_owned),
        pairing_code: str_at(qr, "pairingCode").map(str::to_owned),
    }
}

/// One object (from a message) or an array (from contact sync).
fn each(data: &Value) -> &[Value] {
    match data {
        Value::Array(items) => items,
        Value::Null => &[],
        one => std::slice::from_ref(one),
    }
}

fn contacts(data: &Value) -> WebhookEvent {
    let found: Vec<ContactInfo> = each(data)
        .iter()
        .filter_map(|c| {
            let jid = Jid::parse(str_at(c, "remoteJid").or_else(|| str_at(c, "id"))?).ok()?;
            Some(ContactInfo {
                jid,
                push_name: str_at(c, "pushName").map(|n| cut_name(n.to_owned())),
            })
        })
        .collect();
    WebhookEvent::Contacts(found)
}

fn chats(data: &Value) -> WebhookEvent {
    let jids = each(data)
        .iter()
        .filter_map(|c| Jid::parse(str_at(c, "remoteJid")?).ok())
        .collect();
    WebhookEvent::Chats(jids)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(event: &str, data: Value) -> WebhookEvent {
        let body = json!({"event": event, "instance": "user_1", "data": data}).to_string();
        interpret(
            &parse_envelope(body.as_bytes()).expect("envelope"),
            Utc::now(),
        )
    }

    #[test]
    fn by_events_suffixes_map_back_to_event_names() {
        let cases = [
            ("messages-upsert", "messages.upsert"),
            ("send-message", "send.message"),
            ("send-message-update", "send.message.update"),
            ("group-participants-update", "group-participants.update"),
            ("QRCODE-UPDATED", "qrcode.updated"),
            ("whatever", "whatever"),
        ];
        for (suffix, want) in cases {
            assert_eq!(normalise_event_name(suffix), want, "case {suffix}");
        }
    }

    #[test]
    fn receipts_deletes_and_connection_reports_are_understood() {
        assert_eq!(
            event("messages.update", json!({"keyId": "K", "status": "READ"})),
            WebhookEvent::StatusUpdate {
                key_id: "K".into(),
                status: MessageStatus::Read
            }
        );
        assert_eq!(
            event("messages.update", json!({"keyId": "K"})),
            WebhookEvent::StatusUpdate {
                key_id: "K".into(),
                status: MessageStatus::Deleted
            },
            "no status means DELETED"
        );
        assert_eq!(
            event(
                "messages.delete",
                json!({"remoteJid": "1@s.whatsapp.net", "id": "K"})
            ),
            WebhookEvent::Deleted { key_id: "K".into() }
        );
        assert_eq!(
            event("messages.delete", json!({"id": "cm2", "key": {"id": "K"}})),
            WebhookEvent::Deleted { key_id: "K".into() }
        );
        assert_eq!(
            event(
                "connection.update",
                json!({"state": "open", "wuid": "5511999999999:3@s.whatsapp.net", "profileName": "Ana"})
            ),
            WebhookEvent::Connection {
                state: ConnectionState::Open,
                wuid_phone: Some("5511999999999".into()),
                profile_name: Some("Ana".into())
            }
        );
        assert!(
            matches!(
                event(
                    "messages.update",
                    json!({"keyId": "K", "remoteJid": "1203630@g.us", "status": "READ"})
                ),
                WebhookEvent::Ignored(_)
            ),
            "a group receipt is not kept"
        );
        assert!(matches!(
            event("messages.update", json!({"status": "READ"})),
            WebhookEvent::Malformed(_)
        ));
    }

    #[test]
    fn contacts_come_as_object_or_array_and_chats_need_a_jid() {
        let one = event(
            "contacts.update",
            json!({"remoteJid": "5511@s.whatsapp.net", "pushName": "Maria"}),
        );
        let many = event(
            "contacts.upsert",
            json!([{"remoteJid": "5511@s.whatsapp.net", "pushName": "Maria"}]),
        );
        assert_eq!(one, many);
        let WebhookEvent::Chats(jids) = event(
            "chats.upsert",
            json!([{"id": "cm2", "name": "x"}, {"remoteJid": "1@lid"}]),
        ) else {
            panic!("chats")
        };
        assert_eq!(jids.len(), 1, "entries without remoteJid are ignored");
    }

    #[test]
    fn message_events_carry_records_and_skip_protocol_messages() {
        let record = json!({"key": {"id": "K", "remoteJid": "1@s.whatsapp.net"}, "message": {"conversation": "hi"}});
        let protocol = json!({"key": {"id": "P", "remoteJid": "1@s.whatsapp.net"}, "messageType": "protocolMessage"});
        let WebhookEvent::Messages(ms) = event("messages.set", json!([record, protocol])) else {
            panic!("messages")
        };
        assert_eq!(ms.len(), 1);
        assert!(matches!(
            event("messages.upsert", json!({"key": {}})),
            WebhookEvent::Malformed(_)
        ));
        assert!(matches!(
            event("presence.update", json!({})),
            WebhookEvent::Ignored(_)
        ));
    }

    #[test]
    fn a_bad_record_in_an_array_is_skipped_alone() {
        let good = json!({"key": {"id": "K", "remoteJid": "1@s.whatsapp.net"}});
        let long_id = json!({"key": {"id": "x".repeat(129), "remoteJid": "1@s.whatsapp.net"}});
        for name in ["messages.set", "messages.upsert"] {
            let batch = json!([good, {"key": {}}, 7, "x", long_id]);
            let WebhookEvent::Messages(ms) = event(name, batch) else {
                panic!("{name}: the good record is kept")
            };
            assert_eq!(ms.len(), 1, "case {name}");
        }
        assert!(matches!(
            event("messages.set", json!([{"key": {}}, 7])),
            WebhookEvent::Ignored(_)
        ));
    }

    #[test]
    fn ids_and_jids_beyond_the_limits_are_ignored() {
        let long_id = "x".repeat(2_000);
        let long_jid = format!("{}@s.whatsapp.net", "1".repeat(2_000));
        let upsert = |id: &str, jid: &str| {
            event(
                "messages.upsert",
                json!({"key": {"id": id, "remoteJid": jid}}),
            )
        };
        assert!(matches!(
            upsert(&long_id, "1@lid"),
            WebhookEvent::Ignored(_)
        ));
        assert!(matches!(upsert("K", &long_jid), WebhookEvent::Ignored(_)));
        assert!(matches!(
            event(
                "messages.update",
                json!({"keyId": long_id, "status": "READ"})
            ),
            WebhookEvent::Ignored(_)
        ));
        assert!(matches!(
            event("messages.delete", json!({"id": long_id})),
            WebhookEvent::Ignored(_)
        ));
        let contacts = event(
            "contacts.upsert",
            json!([{"remoteJid": long_jid}, {"remoteJid": "1@lid", "pushName": "n".repeat(300)}]),
        );
        let WebhookEvent::Contacts(found) = contacts else {
            panic!("contacts")
        };
        assert_eq!(found.len(), 1, "the long JID is skipped");
        assert_eq!(found[0].push_name.as_ref().map(String::len), Some(256));
    }
}
