//! Key shapes of the single table (ARCHITECTURE.md, Stores) and the small
//! attribute helpers every item module shares. Keeping every `PK`/`SK`
//! format here makes the table's layout readable in one place.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{Email, UserId};
use crate::store::{ContactId, SyncId};

/// One item's attributes, as the SDK takes and returns them.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The sort key of a user's profile item (`PK = USER#<uid>`).
pub(super) const PROFILE: &str = "PROFILE";
/// The sort key of an e-mail guard (`PK = EMAIL#<email>`).
pub(super) const EMAIL_GUARD: &str = "EMAIL";
/// The sort key of a login window (`PK = THROTTLE#<email>`).
pub(super) const LOGIN_WINDOW: &str = "W";

/// Refuses a write over an existing item: used by every insert, so an id
/// collision or a taken address is detected instead of overwritten.
pub(super) const IS_NEW: &str = "attribute_not_exists(PK)";
/// Refuses an update of a missing item, so that an update never creates one.
pub(super) const EXISTS: &str = "attribute_exists(PK)";

pub(super) fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

/// The sort key of the pointer to a user's latest sync run (`PK = USER#<uid>`).
pub(super) const SYNC_LATEST: &str = "SYNC";

/// A sync run (`PK = USER#<uid>`).
pub(super) fn sync_sk(run: SyncId) -> String {
    format!("SYNC#{run}")
}

/// The marker of one finished chat of a run (`PK = USER#<uid>`).
pub(super) fn sync_chat_sk(run: SyncId, contact: ContactId) -> String {
    format!("SYNC#{run}#C#{contact}")
}

/// E-mails are stored normalised (trimmed, lower-cased), so one address has
/// exactly one guard however it was typed.
pub(super) fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

pub(super) fn throttle_pk(email: &Email) -> String {
    format!("THROTTLE#{}", email.as_str())
}

/// The primary key attributes of one item.
pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An address as it may appear in logs: the first character and the domain
/// (`a***@example.com`), enough to correlate without naming the person.
pub(super) fn mask_email(email: &Email) -> String {
    let raw = email.as_str();
    let (local, domain) = raw.rsplit_once('@').unwrap_or((raw, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}***@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let email = Email::normalise(" Ana@Example.com ");
        assert_eq!(user_pk(UserId::new(42)), "USER#42");
        assert_eq!(email_pk(&email), "EMAIL#ana@example.com");
        assert_eq!(throttle_pk(&email), "THROTTLE#ana@example.com");
        let k = key(user_pk(UserId::new(7)), PROFILE);
        assert_eq!(k.get("PK"), Some(&s("USER#7")));
        assert_eq!(k.get("SK"), Some(&s("PROFILE")));
    }

    #[test]
    fn masked_emails_keep_only_the_first_letter_and_the_domain() {
        let cases = [
            ("ana.maria@example.com", "a***@example.com"),
            ("x@y.org", "x***@y.org"),
            ("not-an-address", "n***@"),
            ("", "***@"),
        ];
        for (raw, want) in cases {
            assert_eq!(mask_email(&Email::normalise(raw)), want, "case {raw:?}");
        }
    }
}
