//! [`UserStore`] on DynamoDB. Registration writes the profile and the e-mail
//! guard in one `TransactWriteItems`, each refusing to overwrite, so a taken
//! address is a `Conflict` and a (rare) id collision a retry with a new id.
//! Reads are consistent: a user who just registered can log in at once.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::errors::{
    CONDITION_FAILED, backend, cancellation_codes, cancelled_transiently, classify,
};
use super::ids;
use super::keys::{self, EMAIL_GUARD, EXISTS, Item, PROFILE, mask_email};
use super::retry::{Step, retry};
use super::user_item::{EmailGuard, UserItem};
use crate::domain::{Email, User, UserCredentials, UserId, UserName};
use crate::store::{NewUser, StoreError, StoreResult, UserStore};

/// What one registration attempt ran into.
enum Attempt {
    Written,
    EmailTaken,
    /// The id was already someone's: mint another.
    IdTaken,
    /// Another transaction held one of the items, or DynamoDB throttled us.
    Contended(StoreError),
}

#[async_trait]
impl UserStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(email = %mask_email(&new.email)))]
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let new = &new;
        retry("registering a user", |_| async move {
            let user = User {
                id: UserId::new(ids::mint()),
                email: new.email.clone(),
                name: new.name.as_str().to_owned(),
                is_active: true,
                created_at: new.created_at,
            };
            match self.insert_user(&user, &new.password_hash).await? {
                Attempt::Written => Ok(Step::Done(user)),
                Attempt::EmailTaken => Err(StoreError::Conflict),
                Attempt::IdTaken => Ok(Step::Raced),
                Attempt::Contended(err) => Ok(Step::Contended(err)),
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(email = %mask_email(email)))]
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserCredentials>> {
        let guard = self
            .get_item(
                keys::key(keys::email_pk(email), EMAIL_GUARD),
                "reading an e-mail guard",
            )
            .await?;
        let Some(guard) = guard.map(EmailGuard::parse).transpose()? else {
            return Ok(None);
        };
        let profile = self
            .get_item(
                profile_key(UserId::new(guard.user_id)),
                "reading a user by e-mail",
            )
            .await?;
        profile
            .map(|item| UserItem::parse(item)?.into_credentials())
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let profile = self
            .get_item(profile_key(id), "reading a user by id")
            .await?;
        profile
            .map(|item| UserItem::parse(item)?.into_user())
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn rename_user(&self, id: UserId, name: &UserName) -> StoreResult<User> {
        self.set_profile_field(id, "name", keys::s(name.as_str()), "renaming a user")
            .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %id, active = active))]
    async fn set_user_active(&self, id: UserId, active: bool) -> StoreResult<User> {
        self.set_profile_field(
            id,
            "is_active",
            AttributeValue::Bool(active),
            "(de)activating a user",
        )
        .await
    }
}

impl DynamoStore {
    /// One registration attempt: profile first, guard second, so the
    /// cancellation reasons say which of the two was already there.
    async fn insert_user(&self, user: &User, password_hash: &str) -> StoreResult<Attempt> {
        let profile = self.put_new(UserItem::new(user, password_hash).to_item()?)?;
        let guard = self.put_new(EmailGuard::new(&user.email, user.id).to_item()?)?;
        let sent = self
            .client
            .transact_write_items()
            .transact_items(profile)
            .transact_items(guard)
            .send()
            .await;
        let Err(err) = sent else {
            return Ok(Attempt::Written);
        };
        let Some(codes) = cancellation_codes(&err) else {
            return Err(classify(err, "registering a user"));
        };
        if codes.get(1).is_some_and(|c| c == CONDITION_FAILED) {
            Ok(Attempt::EmailTaken)
        } else if codes.first().is_some_and(|c| c == CONDITION_FAILED) {
            Ok(Attempt::IdTaken)
        } else if cancelled_transiently(&codes) {
            let err = anyhow::Error::new(err)
                .context(format!("registering a user: cancelled ({codes:?})"));
            Ok(Attempt::Contended(StoreError::Unavailable(err)))
        } else {
            Err(backend(
                anyhow::Error::new(err).context(format!("cancelled ({codes:?})")),
                "registering a user",
            ))
        }
    }

    /// Sets one attribute of an existing profile and returns the profile
    /// after it; the `EXISTS` condition keeps an update from creating a
    /// half-made user and tells us when there is none.
    async fn set_profile_field(
        &self,
        id: UserId,
        attribute: &str,
        value: AttributeValue,
        doing: &'static str,
    ) -> StoreResult<User> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .update_expression("SET #attr = :value")
            .expression_attribute_names("#attr", attribute)
            .expression_attribute_values(":value", value)
            .condition_expression(EXISTS)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => UserItem::parse(out.attributes.unwrap_or_default())?.into_user(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(classify(e, doing)),
        }
    }
}

fn profile_key(id: UserId) -> Item {
    keys::key(keys::user_pk(id), PROFILE)
}
