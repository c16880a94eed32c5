//! argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1).
//!
//! Each hash holds 19 MiB for tens of milliseconds on a blocking thread, so
//! the number at once is bounded: a burst of logins on a 1 GB VM must not
//! turn into hundreds of 19 MiB allocations.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so that an unknown
    /// address costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants that argon2 accepts; failing here is a bug.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    use argon2::PasswordHasher as _;
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("argon2 hashing failed: {e}"))
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl PasswordHasher {
    /// `concurrency` hashes may run at once (the CPU count is right).
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = hash_blocking("not a password anyone has: dummy for timing")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.blocking(move || hash_blocking(&password)).await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when
    /// there is no user, so both answers take about the same time.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> anyhow::Result<bool> {
        let (password, known) = (password.to_owned(), phc.is_some());
        let phc: Arc<str> = phc.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let ok = self
            .blocking(move || verify_blocking(&password, &phc))
            .await?;
        Ok(ok && known)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hasher closed")?;
        tokio::task::spawn_blocking(f)
            .await
            .context("password hashing task failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id_phc() {
        let hasher = PasswordHasher::new(2).expect("hasher");
        let pw = Password::parse("correct horse".into()).expect("valid");
        let phc = hasher.hash(&pw).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            hasher
                .verify("correct horse", Some(&phc))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse", Some(&phc))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn unknown_user_never_verifies_even_with_the_dummy_password() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let dummy_pw = "not a password anyone has: dummy for timing";
        assert!(!hasher.verify(dummy_pw, None).await.expect("verify"));
        assert!(
            !hasher
                .verify("x", Some("not a phc string"))
                .await
                .expect("garbage hash")
        );
    }
}
