//! What the simulator saw and did, kept so tests can assert on it: every
//! Evolution API call received and every webhook delivery with each attempt's
//! outcome. A [`Notify`] wakes waiters whenever either log changes, so tests
//! poll without sleeping blindly.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

/// One request to the emulated Evolution API.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub id: u64,
    pub method: String,
    pub path: String,
    /// `<group>/<action>` (e.g. `message/sendText`), the unit faults target.
    pub endpoint: String,
    /// The `:instanceName` segment, when the path has one.
    pub instance: Option<String>,
    pub query: Option<String>,
    /// Parsed JSON body, a string when it was not JSON, null when empty.
    pub body: Value,
    pub apikey: Option<String>,
    /// Status answered; `None` while the call is still in flight.
    pub status: Option<u16>,
    /// True when an injected fault (or `down`) produced the answer.
    pub faulted: bool,
}

/// Result of one POST to a webhook URL.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// HTTP status, absent on a transport error or timeout.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// First 2 KiB of the response body.
    pub response_body: Option<String>,
    pub at: String,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Still trying (or waiting for the next retry).
    Pending,
    /// A 2xx was received.
    Delivered,
    /// A non-retryable status (400/401/403/404/422 by default) ended it.
    Rejected,
    /// Every attempt failed.
    Exhausted,
}

/// One webhook payload sent to one URL, with its retries.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: u64,
    pub event: String,
    pub instance: String,
    /// Final URL (with the `byEvents` suffix when it applies).
    pub url: String,
    /// Headers sent, custom ones included (JWT already minted).
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// True for the global webhook (`WEBHOOK_GLOBAL_URL`).
    pub global: bool,
    pub replay_of: Option<u64>,
    pub attempts: Vec<Attempt>,
    pub outcome: Outcome,
}

/// Both logs.
#[derive(Debug, Default)]
pub struct Logs {
    pub calls: Vec<CallRecord>,
    pub deliveries: Vec<Delivery>,
    next_call: u64,
    next_delivery: u64,
}

impl Logs {
    pub fn push_call(&mut self, mut call: CallRecord) -> u64 {
        self.next_call += 1;
        call.id = self.next_call;
        self.calls.push(call);
        self.next_call
    }

    pub fn call_mut(&mut self, id: u64) -> Option<&mut CallRecord> {
        self.calls.iter_mut().find(|c| c.id == id)
    }

    pub fn push_delivery(&mut self, mut delivery: Delivery) -> u64 {
        self.next_delivery += 1;
        delivery.id = self.next_delivery;
        self.deliveries.push(delivery);
        self.next_delivery
    }

    pub fn delivery(&self, id: u64) -> Option<&Delivery> {
        self.deliveries.iter().find(|d| d.id == id)
    }

    pub fn delivery_mut(&mut self, id: u64) -> Option<&mut Delivery> {
        self.deliveries.iter_mut().find(|d| d.id == id)
    }
}

/// The shared log with its change notification.
#[derive(Debug, Default)]
pub struct LogBook {
    pub inner: std::sync::Mutex<Logs>,
    pub changed: Notify,
}

impl LogBook {
    /// Runs `f` on the logs and wakes every waiter.
    pub fn update<R>(&self, f: impl FnOnce(&mut Logs) -> R) -> R {
        let out = f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_waiters();
        out
    }

    /// Reads the logs.
    pub fn read<R>(&self, f: impl FnOnce(&Logs) -> R) -> R {
        f(&self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
