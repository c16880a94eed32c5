//! The control operations on [`EvoSim`], plus waiting helpers that poll with
//! a deadline (woken early whenever a log changes) so tests never sleep blindly.

use std::time::Duration;

use crate::error::SimError;
use crate::faults::{Fault, Latency};
use crate::handle::EvoSim;
use crate::log::{CallRecord, Delivery, Outcome};
use crate::ops::connection::{self, Disconnect, Scan};
use crate::ops::inbound::{self, Incoming, Injected};
use crate::ops::qr::{self, QrIssued};
use crate::ops::receipts::{self, Emitted, StatusUpdate};
use crate::ops::seed::{self, Seed, Seeded};
use crate::state::Owner;
use crate::webhook;

/// A waited-for condition did not hold before the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    pub waited: Duration,
}

impl std::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "condition not met within {:?}", self.waited)
    }
}

impl std::error::Error for WaitTimeout {}

impl EvoSim {
    /// The phone scans the current QR: `open` + `connection.update`.
    pub fn scan_qr(&self, instance: &str, scan: Scan) -> Result<Owner, SimError> {
        connection::scan(&self.sim, instance, scan)
    }

    /// Issues the next QR (`qrcode.updated`), as Baileys does every ~45 s.
    pub fn emit_qr(&self, instance: &str) -> Result<QrIssued, SimError> {
        qr::issue(&self.sim, instance)
    }

    /// A drop from WhatsApp (final for 401/402/403/406, silent reconnect otherwise).
    pub fn disconnect(&self, instance: &str, req: Disconnect) -> Result<(), SimError> {
        connection::disconnect(&self.sim, instance, req)
    }

    /// Deterministic history without webhooks (see [`crate::ops::seed`]).
    pub fn seed(&self, instance: &str, req: Seed) -> Result<Seeded, SimError> {
        seed::seed(&self.sim, instance, req)
    }

    /// A message arriving from WhatsApp (`messages.upsert` and companions).
    pub fn inject(&self, instance: &str, req: Incoming) -> Result<Injected, SimError> {
        inbound::inject(&self.sim, instance, req)
    }

    /// A receipt (`messages.update`) for a stored message.
    pub fn update_status(
        &self,
        instance: &str,
        key_id: &str,
        status: &str,
    ) -> Result<Emitted, SimError> {
        let req = StatusUpdate {
            key_id: key_id.to_owned(),
            status: status.to_owned(),
            participant: None,
        };
        receipts::update_status(&self.sim, instance, req)
    }

    /// The other side deleted a message for everyone (`messages.delete`).
    pub fn revoke(&self, instance: &str, key_id: &str) -> Result<Emitted, SimError> {
        receipts::revoke(&self.sim, instance, key_id)
    }

    /// Sends a recorded delivery again; returns the new delivery id.
    pub fn replay(&self, delivery_id: u64) -> Result<u64, SimError> {
        webhook::replay(&self.sim, delivery_id)
    }

    /// The next `count` calls to `endpoint` (`None` = any) answer `status`.
    pub fn fail_next(&self, endpoint: Option<&str>, count: u32, status: u16) {
        self.sim
            .faults()
            .rules
            .push(Fault::status(endpoint, count, status));
    }

    /// The next call to `endpoint` answers a 302 to `location`.
    pub fn redirect_next(&self, endpoint: Option<&str>, location: &str) {
        let mut fault = Fault::status(endpoint, 1, 302);
        fault.redirect_to = Some(location.to_owned());
        self.sim.faults().rules.push(fault);
    }

    /// The next call to `endpoint` answers 200 with a JSON body of `bytes`
    /// bytes, streamed.
    pub fn oversize_next(&self, endpoint: Option<&str>, bytes: u64) {
        let mut fault = Fault::status(endpoint, 1, 200);
        fault.body_bytes = Some(bytes);
        self.sim.faults().rules.push(fault);
    }

    /// Adds latency to `endpoint` (`None` = every Evolution call) until cleared.
    pub fn add_latency(&self, endpoint: Option<&str>, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.sim.faults().latency.push(Latency {
            endpoint: endpoint.map(str::to_owned),
            ms,
        });
    }

    pub fn clear_faults(&self) {
        let mut faults = self.sim.faults();
        faults.rules.clear();
        faults.latency.clear();
    }

    /// Every Evolution API call received so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.sim.logs.read(|l| l.calls.clone())
    }

    /// Calls to one endpoint, e.g. `"message/sendText"`.
    pub fn calls_to(&self, endpoint: &str) -> Vec<CallRecord> {
        self.sim.logs.read(|l| {
            l.calls
                .iter()
                .filter(|c| c.endpoint == endpoint)
                .cloned()
                .collect()
        })
    }

    /// Every webhook delivery so far (with attempts).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.sim.logs.read(|l| l.deliveries.clone())
    }

    /// Deliveries of one event (`"messages.upsert"`).
    pub fn deliveries_of(&self, event: &str) -> Vec<Delivery> {
        self.sim.logs.read(|l| {
            l.deliveries
                .iter()
                .filter(|d| d.event == event)
                .cloned()
                .collect()
        })
    }

    pub fn clear_logs(&self) {
        self.sim.logs.update(|l| {
            l.calls.clear();
            l.deliveries.clear();
        });
    }

    /// Polls `probe` until it returns `Some`, or fails after `timeout`.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut probe: impl FnMut(&EvoSim) -> Option<T>,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.sim.logs.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = probe(self) {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WaitTimeout { waited: timeout });
            }
            let tick = tokio::time::sleep(Duration::from_millis(10));
            tokio::select! {
                () = &mut changed => {}
                () = tick => {}
            }
        }
    }

    /// Waits until at least `count` deliveries of `event` are finished
    /// (delivered, rejected or exhausted) and returns all finished ones.
    pub async fn wait_for_deliveries(
        &self,
        event: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Delivery>, WaitTimeout> {
        self.wait_for(timeout, |sim| {
            let done: Vec<Delivery> = sim
                .deliveries_of(event)
                .into_iter()
                .filter(|d| d.outcome != Outcome::Pending)
                .collect();
            (done.len() >= count).then_some(done)
        })
        .await
    }
}
