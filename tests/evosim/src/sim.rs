//! The shared core every part of the simulator holds an `Arc` of: config,
//! state, logs, faults, the webhook HTTP client and the background tasks
//! (webhook deliveries, QR timers) that `stop` must abort.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::{DownMode, Faults};
use crate::log::LogBook;
use crate::state::{Instance, Store};

pub struct Sim {
    pub config: SimConfig,
    /// `http://host:port`, known once the listener is bound.
    pub base_url: String,
    store: Mutex<Store>,
    pub logs: LogBook,
    faults: Mutex<Faults>,
    /// Built once; per-request timeouts come from the config.
    pub http: reqwest::Client,
    tasks: Mutex<Vec<AbortHandle>>,
    pub down: watch::Sender<DownMode>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the data half-updated in a
    // way that matters for a simulator; keep serving rather than cascade.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    pub fn new(config: SimConfig, base_url: String) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .user_agent("axios/1.7.9")
            .build()?;
        let (down, _) = watch::channel(DownMode::Up);
        Ok(Arc::new(Self {
            config,
            base_url,
            store: Mutex::new(Store::default()),
            logs: LogBook::default(),
            faults: Mutex::new(Faults::default()),
            http,
            tasks: Mutex::new(Vec::new()),
            down,
        }))
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        relock(&self.store)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        relock(&self.faults)
    }

    /// `SERVER_URL` as echoed in webhook envelopes.
    pub fn server_url(&self) -> String {
        self.config
            .server_url
            .clone()
            .unwrap_or_else(|| self.base_url.clone())
    }

    /// Runs `f` on the named instance, or reports that it does not exist.
    pub fn with_instance<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Instance) -> R,
    ) -> Result<R, SimError> {
        let mut store = self.store();
        let inst = store
            .instances
            .get_mut(name)
            .ok_or_else(|| SimError::UnknownInstance(name.to_owned()))?;
        Ok(f(inst))
    }

    /// Spawns a background task that `stop` will abort.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut).abort_handle();
        let mut tasks = relock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Aborts every background task (pending retries, QR timers).
    pub fn abort_all(&self) {
        for task in relock(&self.tasks).drain(..) {
            task.abort();
        }
    }

    pub fn is_down(&self) -> bool {
        *self.down.borrow() == DownMode::Unavailable
    }
}
