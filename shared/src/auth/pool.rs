//! The threads that run argon2 for [`PasswordHasher`](super::PasswordHasher).
//!
//! Each hash needs 19 MiB of working memory. Letting the argon2 crate
//! allocate it per call grew the process by 19 MiB per allocator arena it
//! happened to land in (315 MiB after 16 logins, measured): glibc raises its
//! mmap threshold after the first free, then keeps the freed blocks. So the
//! hashes run on a few dedicated threads (one per core), each owning one
//! 19 MiB buffer, allocated on its first hash and reused for every later
//! one: memory stays at threads × 19 MiB however many logins come, and goes
//! back to the system after 30 idle seconds.
//!
//! Hashing is the costliest thing an anonymous caller can ask for, so the
//! queue in front of those threads is bounded: a burst beyond it gets
//! [`HashError::Busy`] (503 with `Retry-After`) at once instead of an ever
//! longer wait, and a job whose caller has hung up (a closed connection, a
//! dropped request future) is skipped, not hashed for nobody.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use argon2::Block;
use tokio::sync::oneshot;

/// Why a hash or a verification has no answer.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every thread is hashing and the queue is full: retry shortly.
    #[error("the password hasher is saturated")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Work for a hashing thread, given that thread's working memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// One thread's argon2 working memory, allocated on first use.
#[derive(Default)]
pub(super) struct Memory(Vec<Block>);

impl Memory {
    pub(super) fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() != count {
            self.0 = vec![Block::default(); count];
        }
        &mut self.0
    }
}

/// A fixed set of hashing threads behind a bounded queue.
#[derive(Clone)]
pub(super) struct Pool {
    jobs: mpsc::SyncSender<Job>,
    /// Read only by `saturate`, which exists for tests.
    #[cfg_attr(not(any(test, feature = "test-util")), allow(dead_code))]
    threads: usize,
    /// Jobs the threads actually ran (skipped ones are not counted).
    runs: Arc<AtomicU64>,
}

impl Pool {
    /// `threads` threads (at least one) with room for `queue` waiting jobs
    /// (0: a job is taken only by an idle thread).
    pub(super) fn new(threads: usize, queue: usize) -> anyhow::Result<Self> {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        let threads = threads.max(1);
        for n in 0..threads {
            let waiting = Arc::clone(&waiting);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || run_jobs(&waiting))
                .context("starting a password hashing thread")?;
        }
        Ok(Self {
            jobs,
            threads,
            runs: Arc::default(),
        })
    }

    pub(super) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `f` on a hashing thread, or refuses at once when the queue is
    /// full. If this future is dropped before its turn, `f` never runs.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let runs = Arc::clone(&self.runs);
        let job: Job = Box::new(move |memory| {
            if done.is_closed() {
                return;
            }
            runs.fetch_add(1, Ordering::Relaxed);
            let _ = done.send(f(memory));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => anyhow!("password hasher stopped").into(),
        })?;
        Ok(result.await.context("password hashing job failed")?)
    }

    /// Occupies every thread and fills the queue until the returned guard
    /// is dropped: what a flood of logins does, without the flood. Call it
    /// on an idle pool.
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn saturate(&self) -> Saturation {
        let (started, all_started) = mpsc::channel();
        let mut holds = Vec::new();
        for _ in 0..self.threads {
            let (hold, held) = mpsc::channel::<()>();
            let started = started.clone();
            let job: Job = Box::new(move |_| {
                let _ = started.send(());
                let _ = held.recv();
            });
            self.jobs.send(job).expect("the hashing threads run");
            holds.push(hold);
        }
        for _ in 0..self.threads {
            all_started
                .recv_timeout(SATURATION_DEADLINE)
                .expect("every hashing thread takes a hold");
        }
        let (ran, fillers_ran) = mpsc::channel();
        let mut fillers = 0;
        loop {
            let ran = ran.clone();
            let filler: Job = Box::new(move |_| {
                let _ = ran.send(());
            });
            if self.jobs.try_send(filler).is_err() {
                break;
            }
            fillers += 1;
        }
        Saturation {
            holds,
            fillers_ran,
            fillers,
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
const SATURATION_DEADLINE: Duration = Duration::from_secs(10);

/// Keeps a pool saturated; dropping it frees the threads and waits until
/// the queue has drained, so the next job is accepted.
#[cfg(any(test, feature = "test-util"))]
pub struct Saturation {
    holds: Vec<mpsc::Sender<()>>,
    fillers_ran: mpsc::Receiver<()>,
    fillers: usize,
}

#[cfg(any(test, feature = "test-util"))]
impl Drop for Saturation {
    fn drop(&mut self) {
        self.holds.clear();
        for _ in 0..self.fillers {
            let _ = self.fillers_ran.recv_timeout(SATURATION_DEADLINE);
        }
    }
}

/// How long a hashing thread keeps its 19 MiB after its last hash: a burst
/// of logins reuses it, an idle server gives it back.
const KEEP_MEMORY_FOR: Duration = Duration::from_secs(30);

/// A hashing thread: takes jobs until every `Pool` clone is gone.
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
