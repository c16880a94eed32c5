//! The send request, parsed at the edge (API.md, Sending): the recipient
//! (digits, or a full `@s.whatsapp.net` JID), the trimmed text, and the
//! idempotency key from the `Idempotency-Key` header or `client_message_id`.
//! Past this module nothing handles the raw body.

use axum::http::HeaderMap;
use nolose_shared::ApiError;
use nolose_shared::domain::{ParseError, PhoneNumber};
use nolose_shared::store::{Fingerprint, IdempotencyKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The header API.md names; `client_message_id` is its body twin.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Texts longer than this (in characters, after trimming) are refused.
pub const MAX_TEXT_CHARS: usize = 4096;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendTextBody {
    /// Digits, with `+`, spaces, dots, dashes and parentheses allowed, or a
    /// full `…@s.whatsapp.net` JID.
    #[serde(default)]
    #[schema(example = "+55 11 98888-7777")]
    pub phone_number: String,
    /// 1..=4096 characters after trimming.
    #[serde(default)]
    #[schema(example = "Hi")]
    pub text: String,
    /// The idempotency key, when the client cannot set the header.
    #[serde(default)]
    pub client_message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SendTextResponse {
    pub success: bool,
    /// The WhatsApp message id (`key.id`).
    #[schema(example = "3EB0A1B2C3D4E5F6A7B8C9")]
    pub message_id: String,
}

/// Whom to send to, as Evolution will get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// Digits: Evolution normalises them (`createJid`), e.g. Brazilian ones.
    Phone(PhoneNumber),
    /// A full phone JID, lower-cased: Evolution takes it as it is.
    Jid(String),
}

impl Recipient {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let Some((user, server)) = raw.trim().split_once('@') else {
            return PhoneNumber::parse(raw).map(Self::Phone);
        };
        let digits = (8..=15).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_digit());
        if digits && server.eq_ignore_ascii_case("s.whatsapp.net") {
            Ok(Self::Jid(format!("{user}@s.whatsapp.net")))
        } else {
            Err(ParseError::new(
                "invalid_phone_number",
                "phone_number: must be 8 to 15 digits or a full …@s.whatsapp.net JID",
            ))
        }
    }

    /// The `number` of Evolution's `sendText`.
    pub fn number(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::Jid(j) => j,
        }
    }

    /// For logs: all but the last 4 digits masked.
    pub fn masked(&self) -> String {
        let digits = self.number().split('@').next().unwrap_or_default();
        let keep = digits.len().saturating_sub(4);
        format!("{}{}", "*".repeat(keep), &digits[keep..])
    }
}

/// A valid send request.
#[derive(Debug, Clone)]
pub struct SendText {
    pub recipient: Recipient,
    /// Trimmed.
    pub text: String,
    pub key: Option<IdempotencyKey>,
}

impl SendText {
    pub fn parse(headers: &HeaderMap, body: SendTextBody) -> Result<Self, ApiError> {
        let recipient = Recipient::parse(&body.phone_number)?;
        let text = body.text.trim();
        if !(1..=MAX_TEXT_CHARS).contains(&text.chars().count()) {
            return Err(
                ParseError::new("invalid_text", "text: must be 1 to 4096 characters").into(),
            );
        }
        let key = idempotency_key(headers, body.client_message_id)?;
        Ok(Self {
            recipient,
            text: text.to_owned(),
            key,
        })
    }

    /// "The same body" for the idempotency key: the normalised number and
    /// the trimmed text.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&[self.recipient.number(), &self.text])
    }
}

fn idempotency_key(
    headers: &HeaderMap,
    body: Option<String>,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let header = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::validation("Idempotency-Key: must be visible ASCII characters")
        })?),
    };
    let raw = match (header, body.as_deref()) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::Validation {
                code: "idempotency_key_mismatch",
                detail: "client_message_id: differs from the Idempotency-Key header".into(),
            });
        }
        (Some(raw), _) | (None, Some(raw)) => raw,
        (None, None) => return Ok(None),
    };
    Ok(Some(IdempotencyKey::parse(raw)?))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn body(phone: &str, text: &str, id: Option<&str>) -> SendTextBody {
        SendTextBody {
            phone_number: phone.into(),
            text: text.into(),
            client_message_id: id.map(str::to_owned),
        }
    }

    fn code(r: Result<SendText, ApiError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    fn with_key(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            IDEMPOTENCY_HEADER,
            HeaderValue::from_str(key).expect("ascii"),
        );
        h
    }

    #[test]
    fn recipients_are_digits_or_a_phone_jid() {
        let cases = [
            ("+55 (11) 98888-7777", "5511988887777"),
            ("55.11.98888.7777", "5511988887777"),
            (
                "5511988887777@S.WhatsApp.net",
                "5511988887777@s.whatsapp.net",
            ),
        ];
        for (raw, want) in cases {
            let r = Recipient::parse(raw).unwrap_or_else(|e| panic!("case {raw}: {e}"));
            assert_eq!(r.number(), want, "case {raw}");
        }
        for bad in [
            "1234567",
            "1234567890123456",
            "55 11 abc",
            "",
            "1@g.us",
            "12345678@lid",
        ] {
            let err = Recipient::parse(bad).expect_err(bad);
            assert_eq!(err.code, "invalid_phone_number", "case {bad:?}");
        }
        let masked = Recipient::parse("5511988887777@s.whatsapp.net").map(|r| r.masked());
        assert_eq!(masked.as_deref(), Ok("*********7777"));
    }

    #[test]
    fn texts_are_trimmed_and_bounded_in_characters() {
        let h = HeaderMap::new();
        let ok = SendText::parse(&h, body("5511988887777", "  Hi \n", None));
        assert_eq!(ok.map(|s| s.text).ok().as_deref(), Some("Hi"));
        let longest = "é".repeat(MAX_TEXT_CHARS);
        let too_long = "é".repeat(MAX_TEXT_CHARS + 1);
        let cases = [
            ("", "invalid_text"),
            ("  \t ", "invalid_text"),
            (&longest, "ok"),
            (&too_long, "invalid_text"),
        ];
        for (text, want) in cases {
            let got = code(SendText::parse(&h, body("5511988887777", text, None)));
            assert_eq!(got, want, "case of {} chars", text.chars().count());
        }
    }

    #[test]
    fn the_key_comes_from_the_header_or_the_body_but_they_must_agree() {
        let cases = [
            (with_key("k1"), Some("k1"), "ok"),
            (with_key("k1"), None, "ok"),
            (HeaderMap::new(), Some("k1"), "ok"),
            (with_key("k1"), Some("k2"), "idempotency_key_mismatch"),
            (HeaderMap::new(), Some(""), "validation_error"),
            (with_key(&"k".repeat(129)), None, "validation_error"),
        ];
        for (headers, id, want) in cases {
            let got = code(SendText::parse(&headers, body("5511988887777", "Hi", id)));
            assert_eq!(
                got,
                want,
                "case header {:?} body {id:?}",
                headers.get(IDEMPOTENCY_HEADER)
            );
        }
    }

    #[test]
    fn the_fingerprint_ignores_formatting_but_not_content() {
        let h = HeaderMap::new();
        let fp = |phone: &str, text: &str| {
            SendText::parse(&h, body(phone, text, None))
                .map(|s| s.fingerprint())
                .ok()
        };
        assert_eq!(fp("+55 11 98888-7777", " Hi "), fp("5511988887777", "Hi"));
        assert_ne!(fp("5511988887777", "Hi"), fp("5511988887777", "Hi!"));
        assert_ne!(fp("5511988887777", "Hi"), fp("5511988887778", "Hi"));
    }
}
