//! Whether the local worker is alive, as it last proved it to PostgreSQL.
//!
//! apalis tells us nothing when its worker stops working without ending (a
//! query that never answers keeps its heartbeat pending for ever), so the
//! worker's own heartbeats are the evidence: its supervisor restarts a worker
//! whose pulse stopped, and `/api/health/ready` answers 503 meanwhile.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::{Duration, Instant};

/// Until when the running worker counts as alive; shared by the worker,
/// which beats, its supervisor and the readiness check, which read it.
#[derive(Debug, Clone, Default)]
pub struct Pulse(Arc<Mutex<Option<Instant>>>);

impl Pulse {
    /// The worker registered, or PostgreSQL took a heartbeat: it is alive
    /// for `valid_for` more.
    pub fn beat(&self, valid_for: Duration) {
        *self.lock() = Some(Instant::now() + valid_for);
    }

    /// The worker ended (or a new one starts and has not registered yet).
    pub fn stop(&self) {
        *self.lock() = None;
    }

    /// Whether a beat is still valid.
    pub fn is_alive(&self) -> bool {
        self.alive_until()
            .is_some_and(|until| Instant::now() < until)
    }

    /// Until when the last beat holds, if there was one since [`stop`](Self::stop).
    pub fn alive_until(&self) -> Option<Instant> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Pulse;

    #[test]
    fn a_pulse_is_alive_from_a_beat_until_it_runs_out_or_stops() {
        let pulse = Pulse::default();
        assert!(!pulse.is_alive(), "no beat yet");
        pulse.beat(Duration::from_secs(60));
        assert!(pulse.is_alive(), "just beaten");
        pulse.stop();
        assert!(!pulse.is_alive(), "stopped");
        pulse.beat(Duration::ZERO);
        assert!(!pulse.is_alive(), "a beat that has run out");
    }
}
