//! The items behind a user: the profile (`USER#<uid>` / `PROFILE`) and the
//! e-mail guard (`EMAIL#<email>` / `EMAIL`) that makes an address unique and
//! finds the profile from it. Both go through serde_dynamo, so an attribute
//! name is spelled once, in the struct.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::errors::backend;
use super::keys::{self, EMAIL_GUARD, Item, PROFILE};
use crate::domain::{Email, User, UserCredentials, UserId};
use crate::store::StoreResult;

/// No `Debug`: it holds the password hash, which must never reach a log.
#[derive(Serialize, Deserialize)]
pub(super) struct UserItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    id: i64,
    email: String,
    name: String,
    password_hash: String,
    is_active: bool,
    /// RFC 3339 with as many fractional digits as the instant has, so it
    /// reads back exactly equal (the API shows whole seconds anyway).
    created_at: String,
}

impl UserItem {
    pub(super) fn new(user: &User, password_hash: &str) -> Self {
        Self {
            pk: keys::user_pk(user.id),
            sk: PROFILE.to_owned(),
            id: user.id.get(),
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            password_hash: password_hash.to_owned(),
            is_active: user.is_active,
            created_at: user.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        }
    }

    pub(super) fn parse(item: Item) -> StoreResult<Self> {
        serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding a user item"))
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding a user item"))
    }

    pub(super) fn into_user(self) -> StoreResult<User> {
        let created_at = DateTime::parse_from_rfc3339(&self.created_at)
            .map_err(|e| backend(e, "decoding a user's created_at"))?
            .with_timezone(&Utc);
        Ok(User {
            id: UserId::new(self.id),
            email: Email::normalise(&self.email),
            name: self.name,
            is_active: self.is_active,
            created_at,
        })
    }

    pub(super) fn into_credentials(mut self) -> StoreResult<UserCredentials> {
        let password_hash = std::mem::take(&mut self.password_hash);
        Ok(UserCredentials {
            user: self.into_user()?,
            password_hash,
        })
    }
}

/// Holds an address for one user. Written in the same transaction as the
/// profile, with `attribute_not_exists(PK)`, so of two registrations of one
/// address exactly one commits.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EmailGuard {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub(super) user_id: i64,
}

impl EmailGuard {
    pub(super) fn new(email: &Email, id: UserId) -> Self {
        Self {
            pk: keys::email_pk(email),
            sk: EMAIL_GUARD.to_owned(),
            user_id: id.get(),
        }
    }

    pub(super) fn parse(item: Item) -> StoreResult<Self> {
        serde_dynamo::from_item(item).map_err(|e| backend(e, "decoding an e-mail guard"))
    }

    pub(super) fn to_item(&self) -> StoreResult<Item> {
        serde_dynamo::to_item(self).map_err(|e| backend(e, "encoding an e-mail guard"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_user_item_round_trips_to_the_nanosecond() {
        let created_at = Utc
            .timestamp_opt(1_795_000_000, 123_456_789)
            .single()
            .unwrap_or_default();
        let user = User {
            id: UserId::new(99),
            email: Email::normalise("ana@example.com"),
            name: "Ana".to_owned(),
            is_active: false,
            created_at,
        };
        let item = UserItem::new(&user, "$argon2id$x")
            .to_item()
            .expect("encode");
        assert_eq!(item.get("PK"), Some(&keys::s("USER#99")));
        let creds = UserItem::parse(item)
            .and_then(UserItem::into_credentials)
            .expect("decode");
        assert_eq!(creds.user, user);
        assert_eq!(creds.password_hash, "$argon2id$x");
    }
}
