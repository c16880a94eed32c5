//! `evosim`: an Evolution API v2 (2.3.6) simulator that behaves the way
//! `spec/EVOLUTION.md` says the real one does — guard order, error envelope,
//! endpoint shapes and quirks, and a webhook sender with the real envelope,
//! custom headers, event filter, unordered concurrent dispatch and Evolution's
//! retry policy — so the No Lose backend can be tested (and demoed) without
//! WhatsApp. A control API under `/_sim` (and the same operations on the
//! in-process [`EvoSim`] handle) drives the "phone side": QR scans, incoming
//! messages, receipts, history, faults.
//!
//! Module map:
//! - [`config`]   — [`SimConfig`] / [`RetryPolicy`]: Evolution defaults, `fast()` for tests.
//! - [`handle`]   — [`EvoSim`]: spawn on port 0, base URL, key, stop; `handle_ops` adds
//!   the control operations and deadline-bounded waits.
//! - `server`     — binding, serving, closing the port for "down: refuse".
//! - `api`        — the emulated Evolution routes: guards, schema errors, instance
//!   lifecycle, webhook/settings config, `findMessages`/`findChats`/`findContacts`,
//!   `sendText`/`sendMedia`, plus the call-log/fault middleware.
//! - `control`    — the `/_sim` HTTP control API.
//! - [`ops`]      — what happens on the WhatsApp side: QRs, scans, drops, incoming
//!   messages, receipts, revokes, seeding.
//! - `webhook`    — envelope, headers (incl. `jwt_key`), filtering, concurrent
//!   delivery with retries, replay.
//! - [`state`]    — the in-memory "database" and its JSON views.
//! - [`log`]      — call and delivery logs tests assert on.
//! - [`faults`]   — 5xx-for-N-calls, latency, down modes.
//! - [`jid`]      — Evolution's `createJid` (Brazilian 9th digit, MX/AR).
//! - [`events`]   — event name conversions and the full event list.
//! - [`error`]    — Evolution's error envelope and the control API's errors.

pub mod config;
pub mod error;
pub mod events;
pub mod faults;
pub mod handle;
mod handle_ops;
pub mod jid;
pub mod log;
pub mod ops;
pub mod state;

mod api;
mod control;
mod server;
mod sim;
mod webhook;

pub use config::{GlobalWebhook, RetryPolicy, SimConfig};
pub use error::SimError;
pub use faults::{DownMode, Fault, Latency};
pub use handle::{EvoSim, InstanceInfo};
pub use handle_ops::WaitTimeout;
pub use log::{Attempt, CallRecord, Delivery, Outcome};
pub use ops::connection::{Disconnect, Scan};
pub use ops::content::Kind;
pub use ops::inbound::{Incoming, Injected};
pub use ops::qr::QrIssued;
pub use ops::receipts::{Emitted, StatusUpdate};
pub use ops::seed::{Seed, Seeded, seeded_jid, seeded_key_id};
pub use state::{ConnState, Owner};

/// Shorthand for [`EvoSim::spawn`].
pub async fn spawn(config: SimConfig) -> anyhow::Result<EvoSim> {
    EvoSim::spawn(config).await
}
