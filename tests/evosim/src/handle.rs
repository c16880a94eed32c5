//! [`EvoSim`], the handle tests hold: where the simulator listens, and the
//! same operations as the control API, called in-process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::DownMode;
use crate::jid::create_jid;
use crate::server::{Running, start};
use crate::sim::Sim;
use crate::state::{ConnState, Owner, Settings};

/// A running simulator. Dropping it stops the server too (without waiting);
/// prefer [`EvoSim::stop`] for a graceful end.
pub struct EvoSim {
    pub(crate) sim: Arc<Sim>,
    addr: SocketAddr,
    stop_tx: tokio::sync::watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// A summary of one instance, for assertions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceInfo {
    pub name: String,
    pub id: String,
    /// The instance token (`hash` at creation).
    pub token: String,
    pub state: ConnState,
    pub qr_count: u32,
    pub qr_code: Option<String>,
    pub owner: Option<Owner>,
    /// The webhook row as `/webhook/find` shows it.
    pub webhook: Option<Value>,
    pub settings: Settings,
    pub contacts: usize,
    pub chats: usize,
    pub messages: usize,
}

pub(crate) fn instance_info(sim: &Sim, name: &str) -> Option<InstanceInfo> {
    sim.with_instance(name, |i| InstanceInfo {
        name: i.name.clone(),
        id: i.id.clone(),
        token: i.token.clone(),
        state: i.state,
        qr_count: i.qr.count,
        qr_code: i.qr.code.clone(),
        owner: i.owner.clone(),
        webhook: i.webhook.as_ref().map(|w| w.to_json(&i.id)),
        settings: i.settings.clone(),
        contacts: i.contacts.len(),
        chats: i.chats.len(),
        messages: i.messages.len(),
    })
    .ok()
}

/// Every stored message of an instance as `prepareMessage` JSON, oldest first.
pub(crate) fn stored_messages(sim: &Sim, name: &str) -> Result<Vec<Value>, SimError> {
    sim.with_instance(name, |i| {
        let mut all: Vec<_> = i.messages.iter().collect();
        all.sort_by_key(|m| (m.timestamp, m.seq));
        all.iter().map(|m| m.webhook_json(&i.id)).collect()
    })
}

/// Records whether `number` is on WhatsApp; returns the JID it maps to.
pub(crate) fn set_on_whatsapp(sim: &Sim, number: &str, exists: bool) -> String {
    let jid = create_jid(number);
    let mut store = sim.store();
    if exists {
        store.not_on_whatsapp.remove(&jid);
    } else {
        store.not_on_whatsapp.insert(jid.clone());
    }
    jid
}

/// Switches "down" mode, optionally back to `Up` after `duration`.
pub(crate) fn set_down_for(sim: &Arc<Sim>, mode: DownMode, duration: Option<Duration>) {
    sim.down.send_replace(mode);
    if let (Some(d), true) = (duration, mode != DownMode::Up) {
        let sim2 = Arc::clone(sim);
        sim.spawn(async move {
            tokio::time::sleep(d).await;
            sim2.down.send_if_modified(|m| {
                let still = *m == mode;
                if still {
                    *m = DownMode::Up;
                }
                still
            });
        });
    }
}

impl EvoSim {
    /// Binds `config.host:config.port` (port 0 = any free port) and serves.
    pub async fn spawn(config: SimConfig) -> anyhow::Result<Self> {
        let Running {
            sim,
            addr,
            stop,
            server,
        } = start(config).await?;
        Ok(Self {
            sim,
            addr,
            stop_tx: stop,
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:<port>`, what `EVOLUTION_API_URL` should be.
    pub fn base_url(&self) -> &str {
        &self.sim.base_url
    }

    /// The global key (`AUTHENTICATION_API_KEY`).
    pub fn api_key(&self) -> &str {
        &self.sim.config.api_key
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &SimConfig {
        &self.sim.config
    }

    /// Stops serving, waits for the server to finish and aborts pending
    /// webhook retries and QR timers.
    pub async fn stop(mut self) {
        self.stop_tx.send_replace(true);
        self.sim.abort_all();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn instance(&self, name: &str) -> Option<InstanceInfo> {
        instance_info(&self.sim, name)
    }

    pub fn instance_names(&self) -> Vec<String> {
        self.sim.store().instances.keys().cloned().collect()
    }

    /// Stored messages of `name` (`prepareMessage` JSON), oldest first.
    pub fn messages(&self, name: &str) -> Result<Vec<Value>, SimError> {
        stored_messages(&self.sim, name)
    }

    /// Marks `number` as not on WhatsApp (`exists: false`) or back on it.
    pub fn set_on_whatsapp(&self, number: &str, exists: bool) -> String {
        set_on_whatsapp(&self.sim, number, exists)
    }

    /// `Unavailable` (503 from a "proxy") or `Refuse` (port closed) until set `Up`.
    pub fn set_down(&self, mode: DownMode) {
        set_down_for(&self.sim, mode, None);
    }
}

impl Drop for EvoSim {
    fn drop(&mut self) {
        self.stop_tx.send_replace(true);
        self.sim.abort_all();
    }
}
