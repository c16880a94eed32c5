//! WhatsApp identities and message vocabulary: JIDs (what they are, which we
//! skip), instance names, and the message type/status of API.md with the
//! one-way order in which a status may move.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ParseError, UserId};

/// A WhatsApp JID, lower-cased, with any `:<device>` suffix removed (the
/// same JID arrives with and without it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Jid(String);

/// What a JID names; API.md stores only persons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JidKind {
    /// `<digits>@s.whatsapp.net`: a phone number.
    Phone,
    /// `<digits>@lid`: WhatsApp's privacy id of a person.
    Lid,
    Group,
    /// `status@broadcast` and broadcast lists.
    Broadcast,
    Newsletter,
    Other,
}

impl Jid {
    /// Over [`MAX_JID_CHARS`](super::limits::MAX_JID_CHARS) is no JID.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if super::limits::longer_than(raw, super::limits::MAX_JID_CHARS) {
            return Err(ParseError::new("invalid_jid", "jid: too long"));
        }
        let raw = raw.to_lowercase();
        let Some((user, server)) = raw.split_once('@') else {
            return Err(ParseError::new(
                "invalid_jid",
                "jid: must look like <id>@<server>",
            ));
        };
        let user = user.split(':').next().unwrap_or_default();
        if user.is_empty() || server.is_empty() || server.contains('@') {
            return Err(ParseError::new(
                "invalid_jid",
                "jid: must look like <id>@<server>",
            ));
        }
        Ok(Self(format!("{user}@{server}")))
    }

    /// The phone JID of normalised digits.
    pub fn from_phone(phone: &PhoneNumber) -> Self {
        Self(format!("{}@s.whatsapp.net", phone.as_str()))
    }

    pub fn kind(&self) -> JidKind {
        match self.server() {
            "s.whatsapp.net" | "c.us" => JidKind::Phone,
            "lid" => JidKind::Lid,
            "g.us" => JidKind::Group,
            "broadcast" => JidKind::Broadcast,
            "newsletter" => JidKind::Newsletter,
            _ => JidKind::Other,
        }
    }

    /// Persons only: groups, broadcast lists, status and newsletters are skipped.
    pub fn is_person(&self) -> bool {
        matches!(self.kind(), JidKind::Phone | JidKind::Lid)
    }

    /// The part before `@` (the digits of a phone JID).
    pub fn user(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }

    fn server(&self) -> &str {
        self.0.split('@').nth(1).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Digits only, 8..=15 of them, after removing `+`, spaces, dots, dashes and
/// parentheses (API.md, Sending).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, '+' | ' ' | '.' | '-' | '(' | ')'))
            .collect();
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(ParseError::new(
                "invalid_phone_number",
                "phone_number: must be 8 to 15 digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: all but the last 4 digits masked.
    pub fn masked(&self) -> String {
        let keep = self.0.len().saturating_sub(4);
        format!("{}{}", "*".repeat(keep), &self.0[keep..])
    }
}

/// The Evolution instance of a user: always `user_<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceName(String);

impl InstanceName {
    pub fn for_user(user: UserId) -> Self {
        Self(format!("user_{user}"))
    }

    /// Names arriving in webhooks: only `user_<digits>` can be ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let id = raw.strip_prefix("user_")?;
        (!id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(raw.to_owned()))
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.0.strip_prefix("user_")?.parse().ok().map(UserId::new)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// API.md message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Text,
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contact,
    Reaction,
    Unknown,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contact => "contact",
            Self::Reaction => "reaction",
            Self::Unknown => "unknown",
        }
    }

    pub fn from_db(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(Self::Unknown)
    }
}

/// API.md message statuses. `received` is where inbound messages stay
/// unless read, played or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Received,
    Pending,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
    Deleted,
}

impl MessageStatus {
    /// Evolution's status names (EVOLUTION.md §5.5).
    pub fn from_evolution(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "SERVER_ACK" => Self::Sent,
            "DELIVERY_ACK" => Self::Delivered,
            "READ" => Self::Read,
            "PLAYED" => Self::Played,
            "ERROR" => Self::Failed,
            "DELETED" => Self::Deleted,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    pub fn from_db(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(Self::Received)
    }

    fn is_terminal(self) -> bool {
        matches!(self, Self::Failed | Self::Deleted)
    }

    /// Rank on the forward path `pending < sent < delivered < read < played`
    /// (`received` sits with `delivered`: an inbound message has arrived).
    fn rank(self) -> u8 {
        match self {
            Self::Pending => 1,
            Self::Sent => 2,
            Self::Received | Self::Delivered => 3,
            Self::Read => 4,
            Self::Played => 5,
            Self::Failed | Self::Deleted => 6,
        }
    }

    /// The status after applying `update`, or `None` when it changes
    /// nothing: statuses only move forward, terminal ones never move, and
    /// inbound messages only take `read`, `played` and `deleted`.
    pub fn advance(self, update: Self, inbound: bool) -> Option<Self> {
        if self.is_terminal() || self == update {
            return None;
        }
        if inbound && !matches!(update, Self::Read | Self::Played | Self::Deleted) {
            return None;
        }
        (update.is_terminal() || update.rank() > self.rank()).then_some(update)
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;
    use super::*;

    #[test]
    fn jids_are_normalised_and_classified() {
        let cases = [
            (
                "5511988887777@s.whatsapp.net",
                "5511988887777@s.whatsapp.net",
                JidKind::Phone,
            ),
            (
                "5511988887777:12@S.WhatsApp.net",
                "5511988887777@s.whatsapp.net",
                JidKind::Phone,
            ),
            ("123456789012345@lid", "123456789012345@lid", JidKind::Lid),
            (
                "120363025246125888@g.us",
                "120363025246125888@g.us",
                JidKind::Group,
            ),
            ("status@broadcast", "status@broadcast", JidKind::Broadcast),
            ("1234@newsletter", "1234@newsletter", JidKind::Newsletter),
        ];
        for (raw, want, kind) in cases {
            let jid = Jid::parse(raw).expect(raw);
            assert_eq!((jid.as_str(), jid.kind()), (want, kind), "case {raw}");
        }
        assert!(Jid::parse("no-at").is_err());
        assert!(Jid::parse("@s.whatsapp.net").is_err());
        assert!(Jid::parse("5511@s.whatsapp.net").is_ok_and(|j| j.is_person()));
        assert!(!Jid::parse("1@g.us").is_ok_and(|j| j.is_person()));
        let at_limit = format!("{}@lid", "1".repeat(96));
        assert!(Jid::parse(&at_limit).is_ok(), "100 characters is a JID");
        assert!(Jid::parse(&format!("1{at_limit}")).is_err(), "101 is not");
    }

    #[test]
    fn phone_numbers_keep_digits_only() {
        let ok = [
            ("+55 11 98888-7777", "5511988887777"),
            ("(11) 9888.7777", "1198887777"),
            ("12345678", "12345678"),
        ];
        for (raw, want) in ok {
            assert_eq!(
                PhoneNumber::parse(raw).map(|p| p.as_str().to_owned()),
                Ok(want.into()),
                "case {raw}"
            );
        }
        for bad in ["1234567", "1234567890123456", "55 11 abc", "", "+55/11"] {
            assert!(PhoneNumber::parse(bad).is_err(), "case {bad:?}");
        }
        assert_eq!(
            PhoneNumber::parse("5511988887777").expect("valid").masked(),
            "*********7777"
        );
    }

    #[test]
    fn instance_names_belong_to_users() {
        let name = InstanceName::for_user(UserId::new(42));
        assert_eq!(name.as_str(), "user_42");
        assert_eq!(name.user_id(), Some(UserId::new(42)));
        assert!(InstanceName::parse("user_42").is_some());
        for bad in ["acme-1", "user_", "user_4x", "USER_1"] {
            assert!(InstanceName::parse(bad).is_none(), "case {bad}");
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        let cases = [
            (Sent, Delivered, false, Some(Delivered)),
            (Read, Delivered, false, None),
            (Pending, Read, false, Some(Read)),
            (Played, Read, false, None),
            (Delivered, Failed, false, Some(Failed)),
            (Failed, Read, false, None),
            (Deleted, Read, false, None),
            (Read, Deleted, false, Some(Deleted)),
            (Received, Delivered, true, None),
            (Received, Sent, true, None),
            (Received, Read, true, Some(Read)),
            (Received, Played, true, Some(Played)),
            (Received, Deleted, true, Some(Deleted)),
            (Received, Failed, true, None),
            (Sent, Sent, false, None),
        ];
        for (from, update, inbound, want) in cases {
            assert_eq!(
                from.advance(update, inbound),
                want,
                "{from:?} + {update:?} (inbound {inbound})"
            );
        }
    }

    #[test]
    fn evolution_statuses_map_as_api_md_says() {
        let cases = [
            ("PENDING", Pending),
            ("SERVER_ACK", Sent),
            ("DELIVERY_ACK", Delivered),
            ("READ", Read),
            ("PLAYED", Played),
            ("ERROR", Failed),
            ("DELETED", Deleted),
        ];
        for (raw, want) in cases {
            assert_eq!(MessageStatus::from_evolution(raw), Some(want), "case {raw}");
        }
        assert_eq!(MessageStatus::from_evolution("weird"), None);
    }
}
