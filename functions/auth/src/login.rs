//! Login: count the attempt (refused while the address is locked out),
//! verify (against a dummy hash when the address is unknown, so both
//! failures cost the same), clear the window on success, issue the token.
//!
//! The attempt is counted before the password is verified, atomically in
//! the store, so parallel guesses cannot get past the limit (counting after
//! verifying let all of 40 parallel guesses be checked).

use std::time::Duration;

use chrono::{DateTime, Utc};
use nolose_shared::domain::{Email, Password, User};
use nolose_shared::store::LoginAttempt;
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// 10 attempts within 15 minutes lock the address until the window passes.
pub const MAX_ATTEMPTS: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 86400)]
    pub expires_in: u64,
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        detail: "Incorrect email or password",
    }
}

/// Whole seconds from `now` until `until`, rounded up, at least 1.
fn retry_after_secs(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

pub async fn run(
    state: &AppState,
    raw_email: &str,
    password: &str,
) -> Result<TokenResponse, ApiError> {
    let now = state.clock.now();
    let email = Email::normalise(raw_email);
    let attempt = state
        .store
        .register_login_attempt(&email, now, WINDOW, MAX_ATTEMPTS)
        .await?;
    let attempt = match attempt {
        LoginAttempt::Allowed { attempt } => attempt,
        LoginAttempt::Locked { until } => {
            tracing::warn!("login refused: address locked out");
            let retry_after_secs = retry_after_secs(until, now);
            return Err(ApiError::TooManyAttempts { retry_after_secs });
        }
    };
    let Some(user) = verified_user(state, &email, password).await? else {
        tracing::info!(attempt, "login failed");
        return Err(invalid_credentials());
    };
    state.store.clear_login_failures(&email).await?;
    let access_token = state
        .tokens
        .issue(user.id, now)
        .map_err(ApiError::Internal)?;
    tracing::info!(user_id = %user.id, "login succeeded");
    Ok(TokenResponse {
        access_token,
        token_type: "bearer".into(),
        expires_in: state.tokens.ttl().as_secs(),
    })
}

/// The active user these credentials belong to, if any. Input no account
/// can have — an address over [`Email::MAX_CHARS`], a password over
/// [`Password::MAX_CHARS`] — fails without a lookup or a hash.
async fn verified_user(
    state: &AppState,
    email: &Email,
    password: &str,
) -> Result<Option<User>, ApiError> {
    let too_long = email.as_str().chars().count() > Email::MAX_CHARS
        || password.chars().count() > Password::MAX_CHARS;
    if too_long {
        return Ok(None);
    }
    let creds = state.store.user_by_email(email).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.as_str());
    let verified = state.passwords.verify(password, hash).await?;
    Ok(creds
        .filter(|c| verified && c.user.is_active)
        .map(|c| c.user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let ms = chrono::Duration::milliseconds;
        assert_eq!(
            retry_after_secs(now + ms(900_000), now),
            900,
            "a full window"
        );
        assert_eq!(
            retry_after_secs(now + ms(500), now),
            1,
            "half a second is 1 s"
        );
        assert_eq!(retry_after_secs(now + ms(1_001), now), 2, "rounded up");
        assert_eq!(retry_after_secs(now - ms(5), now), 1, "never 0");
    }
}
