//! The store port: one trait per family of access patterns, shaped so that
//! DynamoDB can serve each call with one `GetItem`, `Query`, conditional
//! `PutItem` or `TransactWriteItems`, and PostgreSQL with one statement or
//! one transaction. [`Store`] is what handlers hold, as `Arc<dyn Store>`.
//!
//! Adapters: [`postgres`] (feature `postgres`), [`dynamo`] (feature
//! `dynamodb`). Both pass the conformance suite in `crate::testing`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Email, User, UserCredentials, UserId, UserName};

#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "postgres")]
pub mod postgres;

/// Every store operation gives up after this long: a 503 well before a
/// Lambda's own timeout (API.md).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write (e.g. an e-mail already taken).
    #[error("conflict")]
    Conflict,
    /// The store could not be reached or did not answer in time: transient,
    /// the caller may retry (and the webhook answers 503 so Evolution does).
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug or a broken invariant.
    #[error("store error")]
    Backend(#[source] anyhow::Error),
}

/// What registration writes.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: UserName,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Failed logins of one address within the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginWindow {
    pub failures: u32,
    pub started_at: DateTime<Utc>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user; [`StoreError::Conflict`] when the e-mail is taken.
    /// Of two concurrent registrations of one address exactly one succeeds.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserCredentials>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// [`StoreError::NotFound`] when there is no such user.
    async fn rename_user(&self, id: UserId, name: &UserName) -> StoreResult<User>;
    /// [`StoreError::NotFound`] when there is no such user.
    async fn set_user_active(&self, id: UserId, active: bool) -> StoreResult<User>;
}

/// The failed-login window per e-mail, kept in the store so that it holds
/// across Lambda instances. A window starts at the first failure after the
/// previous one expired and lasts `window`.
#[async_trait]
pub trait LoginThrottleStore: Send + Sync {
    /// The window in force at `now`, if any (an expired one is `None`).
    async fn login_window(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<Option<LoginWindow>>;
    /// Counts one failure atomically (concurrent failures are all counted)
    /// and returns the window after it.
    async fn record_login_failure(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<LoginWindow>;
    async fn clear_login_failures(&self, email: &Email) -> StoreResult<()>;
}

#[async_trait]
pub trait Store: UserStore + LoginThrottleStore + Send + Sync + 'static {
    /// Answers when the store is reachable (readiness probe).
    async fn ping(&self) -> StoreResult<()>;
}

/// Whether a window that started at `started_at` still runs at `now`.
pub fn window_active(started_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    chrono::Duration::from_std(window).is_ok_and(|w| now < started_at + w)
}
