//! argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1).
//!
//! Each hash needs 19 MiB of working memory. Letting the argon2 crate
//! allocate it per call grew the process by 19 MiB per allocator arena it
//! happened to land in (315 MiB after 16 logins, measured): glibc raises its
//! mmap threshold after the first free, then keeps the freed blocks. So the
//! hashes run on a few dedicated threads (one per core), each owning one
//! 19 MiB buffer, allocated on its first hash and reused for every later
//! one: memory stays at threads × 19 MiB however many logins come, and goes
//! back to the system after 30 idle seconds.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::domain::Password;

/// Work for a hashing thread, given that thread's working memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The parameters of every hash we make (memory in KiB = blocks).
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;
const PHC_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Verified against when the e-mail is unknown, so that an unknown
    /// address costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

/// One thread's argon2 working memory, allocated on first use.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    fn blocks(&mut self) -> &mut [Block] {
        if self.0.is_empty() {
            self.0 = vec![Block::default(); M_COST as usize];
        }
        &mut self.0
    }
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
        .hash_password_into_with_memory(password.as_bytes(), salt, out, memory.blocks())
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
    /// `concurrency` hashes may run at once (the CPU count is right).
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_jobs(&queue))
                .context("starting a password hashing thread")?;
        }
        // Verifying against random bytes costs exactly a real verification
        // and never succeeds; no hash (and no 19 MiB) is needed at start.
        let (salt, hash): ([u8; SALT_LEN], [u8; OUTPUT_LEN]) = (rand::random(), rand::random());
        let dummy = format!("{PHC_PREFIX}{}${}", B64.encode(salt), B64.encode(hash));
        Ok(Self {
            jobs,
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.blocking(move |memory| hash_with(memory, &password))
            .await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when
    /// there is no user, so both answers take about the same time.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> anyhow::Result<bool> {
        let (password, known) = (password.to_owned(), phc.is_some());
        let phc: Arc<str> = phc.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let ok = self
            .blocking(move |memory| verify_with(memory, &password, &phc))
            .await?;
        Ok(ok && known)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(f(memory));
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("password hasher stopped"))?;
        result.await.context("password hashing job failed")
    }
}

/// How long a hashing thread keeps its 19 MiB after its last hash: a burst
/// of logins reuses it, an idle server gives it back.
const KEEP_MEMORY_FOR: Duration = Duration::from_secs(30);

/// A hashing thread: takes jobs until every `PasswordHasher` clone is gone.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let next = {
            let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            match queue.recv_timeout(KEEP_MEMORY_FOR) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    memory = Memory::default();
                    queue.recv().map_err(|_| ())
                }
                other => other.map_err(|_| ()),
            }
        };
        match next {
            Ok(job) => job(&mut memory),
            Err(()) => return,
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
