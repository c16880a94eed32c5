//! argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1).
//!
//! Each hash holds 19 MiB for tens of milliseconds. Hashes run on a few
//! dedicated threads (one per core), never on tokio's blocking pool: the
//! allocator keeps a freed 19 MiB block in the arena of the thread that
//! used it, so hashing on whichever blocking thread is free grew the
//! process by 19 MiB per thread (218 MiB after 50 logins, measured), while a
//! fixed set of threads reuses its blocks and stays at threads × 19 MiB.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

use crate::domain::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
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
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_jobs(&queue))
                .context("starting a password hashing thread")?;
        }
        Ok(Self {
            jobs,
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
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("password hasher stopped"))?;
        result.await.context("password hashing job failed")
    }
}

/// A hashing thread: takes jobs until every `PasswordHasher` clone is gone.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
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
