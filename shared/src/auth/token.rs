//! HS256 access tokens: `sub` is the user id, `exp` now + the configured TTL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::domain::UserId;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// Keys derived from `SECRET_KEY` once at start.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user: UserId, now: DateTime<Utc>) -> anyhow::Result<String> {
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl,
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The user id of a token that is well formed, signed with our key and
    /// not expired; `None` for anything else (the caller answers 401).
    pub fn verify(&self, token: &str) -> Option<UserId> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        data.claims.sub.parse::<i64>().ok().map(UserId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify_to_their_user() {
        let keys = TokenKeys::new(SECRET, Duration::from_secs(60));
        let token = keys.issue(UserId::new(42), Utc::now()).expect("issue");
        assert_eq!(keys.verify(&token), Some(UserId::new(42)));
    }

    #[test]
    fn expired_forged_and_garbage_tokens_are_refused() {
        let keys = TokenKeys::new(SECRET, Duration::from_secs(60));
        let old = keys
            .issue(UserId::new(1), Utc::now() - chrono::Duration::hours(2))
            .expect("issue");
        assert_eq!(keys.verify(&old), None, "expired");
        let other = TokenKeys::new(b"another-secret-another-secret-xx", Duration::from_secs(60));
        let forged = other.issue(UserId::new(1), Utc::now()).expect("issue");
        assert_eq!(keys.verify(&forged), None, "signed with another key");
        assert_eq!(keys.verify("not.a.jwt"), None, "garbage");
        assert_eq!(keys.verify(""), None, "empty");
    }
}
