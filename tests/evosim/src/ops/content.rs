//! Message bodies as they look after `W.prepareMessage` (EVOLUTION.md §3.4):
//! text always lands in `conversation`, a captioned document is already
//! unwrapped to `documentMessage`, and nested protobuf numbers keep their odd
//! encodings (64-bit `fileLength` as a string) so parsers meet real shapes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Kinds of message the simulator can produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    #[default]
    Text,
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Reaction,
}

impl Kind {
    pub fn is_media(self) -> bool {
        matches!(
            self,
            Self::Image | Self::Video | Self::Audio | Self::Document | Self::Sticker
        )
    }
}

/// What goes into a message body.
#[derive(Debug, Default)]
pub struct Body<'a> {
    pub kind: Kind,
    pub text: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub mimetype: Option<&'a str>,
    /// Target of a reaction (`reactionMessage.key`).
    pub reaction_key: Option<Value>,
}

const MEDIA_URL: &str = "https://mmg.whatsapp.net/v/t62.7118-24/evosim.enc";

/// Returns `(messageType, message)`.
pub fn build(body: &Body<'_>) -> (&'static str, Value) {
    let text = body.text.unwrap_or_default();
    let caption = body.text.map(|t| json!(t)).unwrap_or(Value::Null);
    let mime = |default: &str| json!(body.mimetype.unwrap_or(default));
    let media = |mimetype: Value| {
        json!({
            "url": MEDIA_URL,
            "mimetype": mimetype,
            "fileSha256": "n0x6cQ9Q0V8FvV3k9Z5xq2b6q7Y0m8b1c2d3e4f5g6h=",
            "fileLength": "48213",
            "mediaKey": "b3Zvc2ltLW1lZGlhLWtleS0wMDAwMDAwMDAwMDA=",
            "directPath": "/v/t62.7118-24/evosim.enc",
            "mediaKeyTimestamp": "1761047000",
        })
    };
    match body.kind {
        Kind::Text => ("conversation", json!({ "conversation": text })),
        Kind::Image => {
            let mut m = media(mime("image/jpeg"));
            m["caption"] = caption;
            m["height"] = json!(1280);
            m["width"] = json!(960);
            ("imageMessage", json!({ "imageMessage": m }))
        }
        Kind::Video => {
            let mut m = media(mime("video/mp4"));
            m["caption"] = caption;
            m["seconds"] = json!(12);
            ("videoMessage", json!({ "videoMessage": m }))
        }
        Kind::Audio => {
            let mut m = media(mime("audio/ogg; codecs=opus"));
            m["seconds"] = json!(7);
            m["ptt"] = json!(true);
            ("audioMessage", json!({ "audioMessage": m }))
        }
        Kind::Document => {
            let name = body.file_name.unwrap_or("document.pdf");
            let mut m = media(mime("application/pdf"));
            m["fileName"] = json!(name);
            m["title"] = json!(name);
            m["caption"] = caption;
            ("documentMessage", json!({ "documentMessage": m }))
        }
        Kind::Sticker => {
            let m = media(mime("image/webp"));
            ("stickerMessage", json!({ "stickerMessage": m }))
        }
        Kind::Location => (
            "locationMessage",
            json!({ "locationMessage": {
                "degreesLatitude": -23.5505,
                "degreesLongitude": -46.6333,
                "name": body.text,
            }}),
        ),
        Kind::Reaction => (
            "reactionMessage",
            json!({ "reactionMessage": {
                "key": body.reaction_key.clone().unwrap_or(Value::Null),
                "text": text,
                "senderTimestampMs": "1761047000000",
            }}),
        ),
    }
}

/// Drops `null` captions so absent fields are absent, as in the real JSON.
pub fn prune_nulls(message: &mut Value) {
    if let Some(obj) = message.as_object_mut() {
        for inner in obj.values_mut() {
            if let Some(fields) = inner.as_object_mut() {
                fields.retain(|_, v| !v.is_null());
            }
        }
    }
}
