use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ParseError;

/// Our own row id of a user. JSON-safe (≤ 2^53 − 1) in both stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    /// Ids come from our own stores or from a verified token, never from a
    /// client field, so construction does not validate.
    pub const fn new(raw: i64) -> Self {
        Self(raw)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A trimmed, lower-cased e-mail address that looks like one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest address there can be (RFC 5321's 254, counted here in
    /// characters as API.md does).
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let email = Self::normalise(raw);
        if looks_like_address(&email.0) {
            Ok(email)
        } else {
            Err(ParseError::new(
                "invalid_email",
                "email: must be a valid e-mail address",
            ))
        }
    }

    /// Trim and lower-case without judging the shape: login looks an address
    /// up (and counts its failures) whatever it looks like, so a malformed one
    /// answers exactly as an unknown one does.
    pub fn normalise(raw: &str) -> Self {
        Self(raw.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn looks_like_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-'));
    s.chars().count() <= Email::MAX_CHARS
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && labels_ok
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
        && !s.contains(['<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']'])
}

/// A password as typed: 8..=128 characters. Never stored, never logged.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: String) -> Result<Self, ParseError> {
        let n = raw.chars().count();
        if (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            Ok(Self(raw))
        } else {
            Err(ParseError::new(
                "weak_password",
                format!(
                    "password: must be between {} and {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: 1..=100 characters after trimming, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        let n = name.chars().count();
        if (1..=Self::MAX_CHARS).contains(&n) {
            Ok(Self(name.to_owned()))
        } else {
            Err(ParseError::new(
                "invalid_name",
                format!("name: must be between 1 and {} characters", Self::MAX_CHARS),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as every route shows it (API.md `User`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = i64, example = 1)]
    pub id: UserId,
    #[schema(value_type = String, example = "ana@example.com")]
    pub email: Email,
    #[schema(example = "Ana")]
    pub name: String,
    pub is_active: bool,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, example = "2026-11-21T10:30:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A user with the PHC string of its password, only for login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_shape_checked() {
        let cases = [
            ("  Ana@Example.COM ", Some("ana@example.com")),
            ("a.b+tag@sub.example.org", Some("a.b+tag@sub.example.org")),
            ("no-at-sign.example.com", None),
            ("two@@example.com", None),
            ("a@b@example.com", None),
            ("nodot@localhost", None),
            ("sp ace@example.com", None),
            ("@example.com", None),
            ("ana@.com", None),
            ("ana@example..com", None),
            ("", None),
        ];
        for (raw, want) in cases {
            let got = Email::parse(raw).ok();
            assert_eq!(got.as_ref().map(Email::as_str), want, "case {raw:?}");
        }
    }

    #[test]
    fn passwords_are_counted_in_characters() {
        assert!(
            Password::parse("1234567".into()).is_err(),
            "7 chars is too short"
        );
        assert!(
            Password::parse("12345678".into()).is_ok(),
            "8 chars is enough"
        );
        assert!(
            Password::parse("é".repeat(128)).is_ok(),
            "128 two-byte chars is allowed"
        );
        assert!(
            Password::parse("a".repeat(129)).is_err(),
            "129 chars is too long"
        );
        assert_eq!(
            Password::parse("short".into()).err().map(|e| e.code),
            Some("weak_password")
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            UserName::parse("  Zoë R ").map(|n| n.as_str().to_owned()),
            Ok("Zoë R".into())
        );
        assert!(UserName::parse("   ").is_err(), "blank");
        assert!(UserName::parse(&"x".repeat(101)).is_err(), "101 chars");
        assert!(UserName::parse(&"ü".repeat(100)).is_ok(), "100 chars");
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let p = Password::parse("hunter2hunter2".into()).expect("valid");
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
