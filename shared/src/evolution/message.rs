//! What an Evolution message record means to us, wherever it comes from: a
//! `messages.upsert` / `send.message` / `messages.set` webhook, a
//! `findMessages` record, or the `sendText` answer (EVOLUTION.md §3.1, §4.1,
//! §5.5). Only the top-level `messageTimestamp` is trusted to be a number;
//! `message` stays untyped JSON and we pick out the type and the text.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{Jid, JidKind, MessageStatus, MessageType, limits};

/// One message record, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// WhatsApp's message id (`key.id`): the dedup key, with the instance.
    pub key_id: String,
    /// `key.remoteJid` as sent (not yet known to be a person).
    pub remote_jid: String,
    /// `key.remoteJidAlt`: the other form (phone ↔ LID) when WhatsApp gave it.
    pub remote_jid_alt: Option<String>,
    pub from_me: bool,
    pub push_name: Option<String>,
    pub status: Option<MessageStatus>,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub timestamp: DateTime<Utc>,
}

/// Why a record is not one message we can store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("message record without {0}")]
    Missing(&'static str),
    /// No WhatsApp value is this long (API.md, Limits): skipped, not stored.
    #[error("message record whose {0} is beyond its limit")]
    TooLong(&'static str),
}

/// Parses one record. `now` stands in for a missing or unreadable timestamp
/// (a message is better kept with our arrival time than dropped). The
/// limits of [`limits`] apply here, so every path that stores a message
/// (webhook, sync, send) stores the same thing.
pub fn parse_record(record: &Value, now: DateTime<Utc>) -> Result<ParsedMessage, RecordError> {
    let key = record.get("key").ok_or(RecordError::Missing("key"))?;
    let key_id = non_empty(key.get("id")).ok_or(RecordError::Missing("key.id"))?;
    let remote_jid =
        non_empty(key.get("remoteJid")).ok_or(RecordError::Missing("key.remoteJid"))?;
    let remote_jid_alt = non_empty(key.get("remoteJidAlt"));
    within(&key_id, limits::MAX_KEY_ID_CHARS, "key.id")?;
    within(&remote_jid, limits::MAX_JID_CHARS, "key.remoteJid")?;
    if let Some(alt) = &remote_jid_alt {
        within(alt, limits::MAX_JID_CHARS, "key.remoteJidAlt")?;
    }
    let body = record.get("message").unwrap_or(&Value::Null);
    let (message_type, content) = classify(record.get("messageType").and_then(Value::as_str), body);
    Ok(ParsedMessage {
        key_id,
        remote_jid,
        remote_jid_alt,
        from_me: key.get("fromMe").and_then(Value::as_bool).unwrap_or(false),
        push_name: non_empty(record.get("pushName")).map(limits::cut_name),
        status: record
            .get("status")
            .and_then(Value::as_str)
            .and_then(MessageStatus::from_evolution),
        message_type,
        content: content.map(limits::cut_content),
        timestamp: record
            .get("messageTimestamp")
            .and_then(timestamp)
            .unwrap_or(now),
    })
}

/// The person a message belongs to, and the LID to remember for them. An
/// `@lid` chat with a phone `remoteJidAlt` is the phone's contact (one
/// conversation per person, API.md); groups, broadcast lists, status and
/// newsletters are `Err` (skipped).
pub fn person_identity(m: &ParsedMessage) -> Result<(Jid, Option<Jid>), Skipped> {
    let remote = Jid::parse(&m.remote_jid).map_err(|_| Skipped)?;
    let alt = m.remote_jid_alt.as_deref().and_then(|a| Jid::parse(a).ok());
    match (remote.kind(), alt) {
        (JidKind::Lid, Some(phone)) if phone.kind() == JidKind::Phone => Ok((phone, Some(remote))),
        (JidKind::Phone, Some(lid)) if lid.kind() == JidKind::Lid => Ok((remote, Some(lid))),
        (JidKind::Phone | JidKind::Lid, _) => Ok((remote, None)),
        _ => Err(Skipped),
    }
}

fn within(value: &str, max: usize, field: &'static str) -> Result<(), RecordError> {
    match limits::longer_than(value, max) {
        true => Err(RecordError::TooLong(field)),
        false => Ok(()),
    }
}

/// The message is not about a person (group, broadcast, status, newsletter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped;

fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Seconds since the epoch as a number, a numeric string, or protobuf's
/// `{low, high}` (EVOLUTION.md §3.4 typing caution).
fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let secs = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => {
            let low = o.get("low")?.as_i64()? & 0xFFFF_FFFF;
            let high = o.get("high").and_then(Value::as_i64).unwrap_or(0);
            Some((high << 32) | low)
        }
        _ => None,
    }?;
    // A millisecond value slipped in: anything past year 5138 in seconds is.
    let secs = if secs > 100_000_000_000 {
        secs / 1000
    } else {
        secs
    };
    DateTime::from_timestamp(secs, 0).filter(|_| secs > 0)
}

/// Wrappers whose inner `message` is the real content.
const WRAPPERS: [&str; 6] = [
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "editedMessage",
    "documentWithCaptionMessage",
];

/// The API.md type and the text (text, caption, or file name) of a message.
fn classify(declared: Option<&str>, body: &Value) -> (MessageType, Option<String>) {
    let body = unwrap(body);
    // The declared type names a key of the (unwrapped) content; when it does
    // not (a wrapper, or a v1 record), the content's first key decides.
    let kind = declared
        .filter(|d| body.get(*d).is_some())
        .map(str::to_owned)
        .or_else(|| first_content_key(body))
        .unwrap_or_default();
    let part = body.get(&kind).unwrap_or(&Value::Null);
    let text = |field: &str| non_empty(part.get(field));
    match kind.as_str() {
        "conversation" => (MessageType::Text, non_empty(body.get("conversation"))),
        "extendedTextMessage" => (MessageType::Text, text("text")),
        "imageMessage" => (MessageType::Image, text("caption")),
        "videoMessage" | "ptvMessage" => (MessageType::Video, text("caption")),
        "audioMessage" => (MessageType::Audio, None),
        "documentMessage" => (
            MessageType::Document,
            text("caption").or_else(|| text("fileName")),
        ),
        "stickerMessage" => (MessageType::Sticker, None),
        "locationMessage" | "liveLocationMessage" => (
            MessageType::Location,
            text("name").or_else(|| text("address")),
        ),
        "contactMessage" | "contactsArrayMessage" => (MessageType::Contact, text("displayName")),
        "reactionMessage" => (MessageType::Reaction, text("text")),
        _ => (MessageType::Unknown, None),
    }
}

fn unwrap(mut body: &Value) -> &Value {
    for _ in 0..4 {
        match WRAPPERS
            .iter()
            .find_map(|w| body.get(*w).and_then(|x| x.get("message")))
        {
            Some(inner) => body = inner,
            None => break,
        }
    }
    body
}

/// Evolution's extras inside `message` that are not content.
const NOT_CONTENT: [&str; 5] = [
    "messageContextInfo",
    "base64",
    "mediaUrl",
    "speechToText",
    "contextInfo",
];

fn first_content_key(body: &Value) -> Option<String> {
    let obj = body.as_object()?;
    if obj.contains_key("conversation") {
        return Some("conversation".into());
    }
    obj.keys()
        .find(|k| !NOT_CONTENT.contains(&k.as_str()))
        .cloned()
}

/// Is this record a protocol message (edit/revoke) rather than a message?
pub fn is_protocol(record: &Value) -> bool {
    record.get("messageType").and_then(Value::as_str) == Some("protocolMessage")
        || record
            .get("message")
            .is_some_and(|m| m.get("protocolMessage").is_some())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> ParsedMessage {
        parse_record(&v, Utc::now()).expect("parses")
    }

    #[test]
    fn types_and_text_come_from_the_content() {
        let cases = [
            (
                json!({"conversation": "Olá!"}),
                "conversation",
                MessageType::Text,
                Some("Olá!"),
            ),
            (
                json!({"extendedTextMessage": {"text": "link"}}),
                "extendedTextMessage",
                MessageType::Text,
                Some("link"),
            ),
            (
                json!({"imageMessage": {"caption": "look"}}),
                "imageMessage",
                MessageType::Image,
                Some("look"),
            ),
            (
                json!({"documentMessage": {"fileName": "a.pdf"}}),
                "documentMessage",
                MessageType::Document,
                Some("a.pdf"),
            ),
            (
                json!({"audioMessage": {"ptt": true}}),
                "audioMessage",
                MessageType::Audio,
                None,
            ),
            (
                json!({"reactionMessage": {"text": "👍"}}),
                "reactionMessage",
                MessageType::Reaction,
                Some("👍"),
            ),
            (
                json!({"ephemeralMessage": {"message": {"videoMessage": {"caption": "v"}}}}),
                "ephemeralMessage",
                MessageType::Video,
                Some("v"),
            ),
            (
                json!({"pollCreationMessageV3": {}}),
                "pollCreationMessageV3",
                MessageType::Unknown,
                None,
            ),
        ];
        for (message, declared, kind, text) in cases {
            let m = parse(
                json!({"key": {"id": "K", "remoteJid": "1@s.whatsapp.net"}, "messageType": declared,
                "message": message, "messageTimestamp": 1761047000}),
            );
            assert_eq!(
                (m.message_type, m.content.as_deref()),
                (kind, text),
                "case {declared}"
            );
        }
    }

    #[test]
    fn timestamps_are_tolerant() {
        let at = |v: Value| {
            parse(json!({"key": {"id": "K", "remoteJid": "1@lid"}, "messageTimestamp": v}))
                .timestamp
                .timestamp()
        };
        assert_eq!(at(json!(1761047000)), 1761047000);
        assert_eq!(at(json!("1761047000")), 1761047000);
        assert_eq!(
            at(json!({"low": 1761047000, "high": 0, "unsigned": true})),
            1761047000
        );
        assert_eq!(at(json!(1761047000123_i64)), 1761047000, "milliseconds");
    }

    #[test]
    fn a_record_needs_a_key_id_and_a_chat() {
        assert!(parse_record(&json!({"key": {"remoteJid": "1@lid"}}), Utc::now()).is_err());
        assert!(parse_record(&json!({"key": {"id": "K"}}), Utc::now()).is_err());
        assert!(parse_record(&json!({"data": 1}), Utc::now()).is_err());
    }

    #[test]
    fn limits_skip_long_ids_and_cut_long_text() {
        let record = |id: &str, jid: &str, alt: &str| json!({"key": {"id": id, "remoteJid": jid, "remoteJidAlt": alt}});
        let (long_id, long_jid) = ("k".repeat(129), format!("{}@lid", "1".repeat(97)));
        let cases = [
            (record(&long_id, "1@lid", "2@s.whatsapp.net"), "key.id"),
            (record("K", &long_jid, "2@s.whatsapp.net"), "key.remoteJid"),
            (record("K", "1@lid", &long_jid), "key.remoteJidAlt"),
        ];
        for (r, field) in cases {
            assert_eq!(
                parse_record(&r, Utc::now()),
                Err(RecordError::TooLong(field))
            );
        }
        let m = parse(json!({"key": {"id": "k".repeat(128), "remoteJid": "1@lid"},
            "pushName": "p".repeat(257), "message": {"conversation": "é".repeat(200_000)}}));
        assert_eq!(m.content.map(|c| c.chars().count()), Some(65_536));
        assert_eq!(m.push_name.map(|n| n.chars().count()), Some(256));
    }

    #[test]
    fn a_lid_with_a_phone_alt_is_the_phone_contact() {
        let m = parse(
            json!({"key": {"id": "K", "remoteJid": "123456789012345@lid",
            "remoteJidAlt": "5511988887777@s.whatsapp.net", "fromMe": false}}),
        );
        let (person, lid) = person_identity(&m).expect("person");
        assert_eq!(
            (person.as_str(), lid.map(|l| l.as_str().to_owned())),
            (
                "5511988887777@s.whatsapp.net",
                Some("123456789012345@lid".to_owned())
            )
        );
        for skipped in [
            "1203630@g.us",
            "status@broadcast",
            "1@newsletter",
            "garbage",
        ] {
            let m = parse(json!({"key": {"id": "K", "remoteJid": skipped}}));
            assert_eq!(person_identity(&m), Err(Skipped), "case {skipped}");
        }
    }
}
