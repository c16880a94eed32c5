//! argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1), run on the
//! bounded thread pool of [`super::pool`].

use std::sync::Arc;

use anyhow::anyhow;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use subtle::ConstantTimeEq;

pub use super::pool::HashError;
#[cfg(any(test, feature = "test-util"))]
pub use super::pool::Saturation;
use super::pool::{Memory, Pool};
use crate::domain::Password;

/// The parameters of every hash we make (memory in KiB = blocks).
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;
const PHC_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Jobs that may wait per hashing thread: a burst of logins queues briefly
/// (each hash takes tens of milliseconds), a flood is refused.
pub const QUEUE_PER_THREAD: usize = 4;

#[derive(Clone)]
pub struct PasswordHasher {
    pool: Pool,
    /// Verified against when the e-mail is unknown, so that an unknown
    /// address costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(|e| anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn raw_hash(
    memory: &mut Memory,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    argon2()?
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            out,
            memory.blocks(M_COST as usize),
        )
        .map_err(|e| anyhow!("argon2 hashing failed: {e}"))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
fn hash_with(memory: &mut Memory, password: &str) -> anyhow::Result<String> {
    let salt: [u8; SALT_LEN] = rand::random();
    let mut out = [0u8; OUTPUT_LEN];
    raw_hash(memory, password, &salt, &mut out)?;
    Ok(format!(
        "{PHC_PREFIX}{}${}",
        B64.encode(salt),
        B64.encode(out)
    ))
}

/// Verifies against a PHC string of our parameters; anything else (another
/// cost, a garbled string) never verifies.
fn verify_with(memory: &mut Memory, password: &str, phc: &str) -> bool {
    let Some((salt, expected)) = phc
        .strip_prefix(PHC_PREFIX)
        .and_then(|rest| rest.split_once('$'))
    else {
        return false;
    };
    let (Ok(salt), Ok(expected)) = (B64.decode(salt), B64.decode(expected)) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    raw_hash(memory, password, &salt, &mut out).is_ok() && bool::from(out.ct_eq(&expected))
}

impl PasswordHasher {
    /// `concurrency` hashes may run at once (the CPU count is right), and
    /// [`QUEUE_PER_THREAD`] times as many may wait.
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let threads = concurrency.max(1);
        Self::with_queue(threads, threads * QUEUE_PER_THREAD)
    }

    /// `concurrency` hashing threads with room for `queue` waiting jobs;
    /// beyond that, [`HashError::Busy`].
    pub fn with_queue(concurrency: usize, queue: usize) -> anyhow::Result<Self> {
        let pool = Pool::new(concurrency, queue)?;
        // Verifying against random bytes costs exactly a real verification
        // and never succeeds; no hash (and no 19 MiB) is needed at start.
        let (salt, hash): ([u8; SALT_LEN], [u8; OUTPUT_LEN]) = (rand::random(), rand::random());
        let dummy = format!("{PHC_PREFIX}{}${}", B64.encode(salt), B64.encode(hash));
        Ok(Self {
            pool,
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes and verifications run so far (skipped, abandoned jobs are
    /// not counted): what a test reads to know how many guesses were checked.
    pub fn hashes_run(&self) -> u64 {
        self.pool.runs()
    }

    /// Occupies every hashing thread and fills the queue until the guard
    /// is dropped (tests of the saturated answer).
    #[cfg(any(test, feature = "test-util"))]
    pub fn saturate(&self) -> Saturation {
        self.pool.saturate()
    }

    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        Ok(self
            .pool
            .run(move |memory| hash_with(memory, &password))
            .await??)
    }

    /// Verifies `password` against `phc`, or against the dummy hash when
    /// there is no user, so both answers take about the same time.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, HashError> {
        let (password, known) = (password.to_owned(), phc.is_some());
        let phc: Arc<str> = phc.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let ok = self
            .pool
            .run(move |memory| verify_with(memory, &password, &phc))
            .await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_waiting() {
        let hasher = PasswordHasher::with_queue(1, 1).expect("hasher");
        let saturated = hasher.saturate();
        let refused = hasher.verify("a guess", None).now_or_never();
        assert!(
            matches!(refused, Some(Err(HashError::Busy))),
            "busy at the first poll, not queued: {refused:?}"
        );
        drop(saturated);
        let answer = hasher.verify("a guess", None).await;
        assert!(matches!(answer, Ok(false)), "room again: {answer:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_whose_caller_hung_up_are_skipped() {
        let hasher = PasswordHasher::with_queue(1, 8).expect("hasher");
        let (started, thread_held) = std::sync::mpsc::channel();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = hasher.clone();
        let holding = tokio::spawn(async move {
            holder
                .pool
                .run(move |_| {
                    let _ = started.send(());
                    let _ = held.recv();
                })
                .await
        });
        thread_held.recv().expect("the only thread is held");
        for _ in 0..3 {
            let abandoned = hasher.verify("a guess", None).now_or_never();
            assert!(abandoned.is_none(), "queued behind the held thread");
        }
        drop(release);
        holding.await.expect("task").expect("held job");
        let pw = Password::parse("correct horse".into()).expect("valid");
        hasher.hash(&pw).await.expect("hash");
        assert_eq!(
            hasher.hashes_run(),
            2,
            "the held job and the last hash ran; the three abandoned ones did not"
        );
    }

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
    async fn hashes_interoperate_with_the_argon2_crates_own_phc_strings() {
        use argon2::password_hash::phc::PasswordHash;
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(1).expect("hasher");
        let theirs = argon2()
            .expect("params")
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        assert!(
            hasher
                .verify("correct horse", Some(&theirs))
                .await
                .expect("verify"),
            "theirs verifies here"
        );
        let pw = Password::parse("correct horse".into()).expect("valid");
        let ours = hasher.hash(&pw).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("ours is PHC");
        assert!(
            argon2()
                .expect("params")
                .verify_password(b"correct horse", &parsed)
                .is_ok(),
            "ours verifies there"
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
