//! Login: refuse while the address is locked out, verify (against a dummy
//! hash when the address is unknown, so both failures cost the same), count
//! the failure or clear the window, issue the token.

use std::time::Duration;

use nolose_shared::domain::Email;
use nolose_shared::store::LoginWindow;
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// 10 failures within 15 minutes lock the address until the window passes.
pub const MAX_FAILURES: u32 = 10;
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

/// Seconds until `window` ends, if it is a lockout.
fn lockout(window: Option<LoginWindow>, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let window = window.filter(|w| w.failures >= MAX_FAILURES)?;
    let ends = window.started_at + chrono::Duration::from_std(WINDOW).unwrap_or_default();
    let secs = (ends - now).num_milliseconds().max(0) as u64;
    Some(secs.div_ceil(1000).max(1))
}

pub async fn run(
    state: &AppState,
    email: &Email,
    password: &str,
) -> Result<TokenResponse, ApiError> {
    let now = state.clock.now();
    let window = state.store.login_window(email, now, WINDOW).await?;
    if let Some(retry_after_secs) = lockout(window, now) {
        tracing::warn!("login refused: address locked out");
        return Err(ApiError::TooManyAttempts { retry_after_secs });
    }

    let creds = state.store.user_by_email(email).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.as_str());
    let verified = state
        .passwords
        .verify(password, hash)
        .await
        .map_err(ApiError::Internal)?;
    let user = match creds {
        Some(c) if verified && c.user.is_active => c.user,
        _ => {
            let after = state.store.record_login_failure(email, now, WINDOW).await?;
            tracing::info!(failures = after.failures, "login failed");
            return Err(invalid_credentials());
        }
    };

    if window.is_some() {
        state.store.clear_login_failures(email).await?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn lockout_starts_at_the_tenth_failure_and_rounds_up() {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let w = |failures| {
            Some(LoginWindow {
                failures,
                started_at: start,
            })
        };
        assert_eq!(lockout(w(9), start), None, "9 failures do not lock");
        assert_eq!(
            lockout(w(10), start),
            Some(900),
            "10 failures lock for the window"
        );
        let later = start + chrono::Duration::milliseconds(899_500);
        assert_eq!(lockout(w(12), later), Some(1), "half a second left is 1 s");
        assert_eq!(lockout(None, start), None);
    }
}
