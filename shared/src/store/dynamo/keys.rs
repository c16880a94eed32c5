//! Key shapes of the single table (ARCHITECTURE.md, Stores) and the small
//! attribute helpers every item module shares. Keeping every `PK`/`SK`
//! format here makes the table's layout readable in one place:
//!
//! | item | PK | SK | GSI1PK / GSI1SK |
//! | --- | --- | --- | --- |
//! | profile | `USER#<uid>` | `PROFILE` | |
//! | e-mail guard | `EMAIL#<email>` | `EMAIL` | |
//! | login window | `THROTTLE#<email>` | `W` | |
//! | instance | `USER#<uid>` | `INSTANCE` | |
//! | stats counters | `USER#<uid>` | `STATS` | |
//! | contact | `USER#<uid>` | `CONTACT#<jid>` | `USER#<uid>#CONTACTS` / `<id>` |
//! | contact id → JID | `USER#<uid>` | `CONTACTID#<id>` | |
//! | LID → JID | `USER#<uid>` | `LID#<lid>` | |
//! | conversation | `USER#<uid>` | `CONV#<contact id>` | `USER#<uid>#CONVS` / `<last ms>#<id>` |
//! | message | `USER#<uid>#C#<contact id>` | `M#<ts ms>#<id>` | `USER#<uid>#MSGS` / same as SK |
//! | key id: dedup guard or stash | `USER#<uid>` | `KEY#<key id>` | |
//! | message id → message | `USER#<uid>` | `MSGID#<id>` | |
//!
//! Numbers inside sort keys are zero-padded so that string order is numeric
//! order. The dedup guard and the stashed status of one WhatsApp key id are
//! one item (ARCHITECTURE.md suggests a separate `PST#`): a status update
//! that arrives first and the insert that arrives later then meet on one
//! item, whose conditions make them serialise, instead of on two items that
//! a race could slip between.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use chrono::{DateTime, SecondsFormat, Utc};

use super::errors::backend;
use crate::domain::{Email, Jid, UserId};
use crate::store::SyncId;
use crate::store::{ContactId, ConversationId, MessageId, StoreResult};

/// One item's attributes, as the SDK takes and returns them.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The sort key of a user's profile item (`PK = USER#<uid>`).
pub(super) const PROFILE: &str = "PROFILE";
/// The sort key of an e-mail guard (`PK = EMAIL#<email>`).
pub(super) const EMAIL_GUARD: &str = "EMAIL";
/// The sort key of a login window (`PK = THROTTLE#<email>`).
pub(super) const LOGIN_WINDOW: &str = "W";
/// The sort key of a user's instance (`PK = USER#<uid>`): one per user, and
/// its name (`user_<uid>`) leads back to the user, so no routing item.
pub(super) const INSTANCE: &str = "INSTANCE";
/// The sort key of a user's counters (`PK = USER#<uid>`).
pub(super) const STATS: &str = "STATS";
/// Every message sort key starts with this; `MESSAGES_END` sorts after all.
pub(super) const MESSAGE_PREFIX: &str = "M#";
pub(super) const MESSAGES_END: &str = "M$";

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
    format!("THROTTLE#{}", crate::store::throttle_key(email))
}

pub(super) fn contact_sk(jid: &Jid) -> String {
    format!("CONTACT#{jid}")
}

pub(super) fn contact_id_sk(id: ContactId) -> String {
    format!("CONTACTID#{}", id.get())
}

pub(super) fn lid_sk(lid: &Jid) -> String {
    format!("LID#{lid}")
}

pub(super) fn conversation_sk(contact: ContactId) -> String {
    format!("CONV#{}", contact.get())
}

/// The sort key of a key item is this followed by the WhatsApp key id.
pub(super) const KEY_ID_PREFIX: &str = "KEY#";

pub(super) fn key_id_sk(key_id: &str) -> String {
    format!("{KEY_ID_PREFIX}{key_id}")
}

pub(super) fn message_id_sk(id: MessageId) -> String {
    format!("MSGID#{}", id.get())
}

/// One partition per contact, so its messages are one `Query`.
pub(super) fn contact_messages_pk(user: UserId, contact: ContactId) -> String {
    format!("USER#{user}#C#{}", contact.get())
}

/// Newest last in string order: timestamp, then id (the port's order).
/// Times before 1970 count as 1970; WhatsApp has none.
pub(super) fn message_sk(timestamp: DateTime<Utc>, id: MessageId) -> String {
    format!(
        "{MESSAGE_PREFIX}{}#{}",
        padded(timestamp.timestamp_millis()),
        padded(id.get())
    )
}

pub(super) fn contacts_gsi_pk(user: UserId) -> String {
    format!("USER#{user}#CONTACTS")
}

/// Ids grow with the time they were minted, so id order is creation order.
pub(super) fn contacts_gsi_sk(id: ContactId) -> String {
    padded(id.get())
}

pub(super) fn conversations_gsi_pk(user: UserId) -> String {
    format!("USER#{user}#CONVS")
}

/// Most recently active last in string order; never active sorts first.
pub(super) fn conversations_gsi_sk(last: Option<DateTime<Utc>>, id: ConversationId) -> String {
    let ms = last.map_or(0, |at| at.timestamp_millis());
    format!("{}#{}", padded(ms), padded(id.get()))
}

pub(super) fn messages_gsi_pk(user: UserId) -> String {
    format!("USER#{user}#MSGS")
}

/// 16 digits hold every id (< 2^53) and every millisecond until year 318857.
fn padded(n: i64) -> String {
    format!("{:016}", n.max(0))
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

/// An instant as stored: RFC 3339 with as many fractional digits as it
/// has, so it reads back exactly equal.
pub(super) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(super) fn parse_stamp(raw: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| backend(e, "decoding a stored instant"))
}

/// An address as it may appear in logs: the first character and the domain
/// (`a***@example.com`), enough to correlate without naming the person.
pub(super) fn mask_email(email: &Email) -> String {
    let raw = email.as_str();
    let (local, domain) = raw.rsplit_once('@').unwrap_or((raw, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}***@{domain}")
}

/// The sort key of an idempotency key (`PK = USER#<uid>`).
pub(super) fn idempotency_sk(key: &crate::store::IdempotencyKey) -> String {
    format!("IDEM#{}", key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let email = Email::normalise(" Ana@Example.com ");
        assert_eq!(user_pk(UserId::new(42)), "USER#42");
        assert_eq!(email_pk(&email), "EMAIL#ana@example.com");
        assert_eq!(
            throttle_pk(&email),
            "THROTTLE#8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11"
        );
        let idem = crate::store::IdempotencyKey::parse("order-17").expect("valid key");
        assert_eq!(idempotency_sk(&idem), "IDEM#order-17");
        let k = key(user_pk(UserId::new(7)), PROFILE);
        assert_eq!(k.get("PK"), Some(&s("USER#7")));
        assert_eq!(k.get("SK"), Some(&s("PROFILE")));
    }

    #[test]
    fn message_sort_keys_order_by_time_then_id() {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let cases = [
            ((at(1_000), 9), (at(2_000), 1), "earlier time first"),
            (
                (at(1_000), 2),
                (at(1_000), 10),
                "same time: smaller id first",
            ),
            ((at(-5), 7), (at(0), 8), "times before 1970 count as 1970"),
        ];
        for ((t1, id1), (t2, id2), case) in cases {
            let (a, b) = (
                message_sk(t1, MessageId::new(id1)),
                message_sk(t2, MessageId::new(id2)),
            );
            assert!(a < b && b.as_str() < MESSAGES_END, "{case}: {a} < {b}");
            assert!(a.starts_with(MESSAGE_PREFIX), "{case}");
        }
    }

    #[test]
    fn never_active_conversations_sort_before_active_ones() {
        let id = ConversationId::new(5);
        let never = conversations_gsi_sk(None, id);
        let active = conversations_gsi_sk(DateTime::from_timestamp(1, 0), id);
        assert!(never < active, "{never} < {active}");
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
