//! Injected infrastructure trouble on the emulated API: "the next N calls to
//! this endpoint fail with 5xx", added latency, and "Evolution is down" —
//! and the hostile answers a client must not trust: a redirect elsewhere
//! (which must not be followed with the `apikey` header) and an answer too
//! big to buffer (streamed, so the simulator never holds it either).
//!
//! Down has two flavours because both happen in real deployments: behind a
//! reverse proxy a dead Evolution answers 502/503 from the proxy (we answer
//! 503 with a plain-text body, not Evolution's JSON envelope); without one the
//! client sees connection refused (we stop listening on the port). The control
//! API keeps working in `Unavailable` mode; in `Refuse` mode it is unreachable
//! too, so over HTTP refusal must come with a duration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One rule: the next `count` calls to `endpoint` answer `status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// `<group>/<action>` such as `message/sendText`; `None` or `"*"` = every endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// How many calls fail before the rule is used up.
    pub count: u32,
    /// Status to answer (default 500), with Evolution's error envelope.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Instead of an error: answer `status` (302 unless a 3xx is given)
    /// with this `Location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<String>,
    /// Instead of an error: a 200 JSON answer of this many bytes, streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
}

impl Fault {
    /// The next `count` calls to `endpoint` answer `status` with Evolution's envelope.
    pub fn status(endpoint: Option<&str>, count: u32, status: u16) -> Self {
        Self {
            endpoint: endpoint.map(str::to_owned),
            count,
            status,
            redirect_to: None,
            body_bytes: None,
        }
    }
}

fn default_status() -> u16 {
    500
}

/// Extra latency on an endpoint (or all), until cleared.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    #[serde(default)]
    pub endpoint: Option<String>,
    pub ms: u64,
}

/// How "down" behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DownMode {
    /// Serving normally.
    #[default]
    Up,
    /// Every Evolution route answers 503 `Service Unavailable` (text/plain).
    Unavailable,
    /// The listener is closed: connections are refused.
    Refuse,
}

/// Active fault rules.
#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<Fault>,
    pub latency: Vec<Latency>,
}

fn matches(rule: Option<&str>, endpoint: &str) -> bool {
    match rule {
        None | Some("*") | Some("") => true,
        Some(r) => r.trim_matches('/').eq_ignore_ascii_case(endpoint),
    }
}

impl Faults {
    /// Consumes one matching rule, returning it (to answer by).
    pub fn take(&mut self, endpoint: &str) -> Option<Fault> {
        let pos = self
            .rules
            .iter()
            .position(|r| r.count > 0 && matches(r.endpoint.as_deref(), endpoint))?;
        let rule = &mut self.rules[pos];
        rule.count -= 1;
        let taken = rule.clone();
        if rule.count == 0 {
            self.rules.remove(pos);
        }
        Some(taken)
    }

    /// Sum of the latencies that apply to `endpoint`.
    pub fn latency_for(&self, endpoint: &str) -> Duration {
        let ms = self
            .latency
            .iter()
            .filter(|l| matches(l.endpoint.as_deref(), endpoint))
            .map(|l| l.ms)
            .sum();
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_is_used_up_after_its_count() {
        let mut faults = Faults::default();
        faults
            .rules
            .push(Fault::status(Some("message/sendText"), 2, 503));
        let status = |f: Option<Fault>| f.map(|f| f.status);
        assert_eq!(
            status(faults.take("chat/findChats")),
            None,
            "other endpoint"
        );
        assert_eq!(status(faults.take("message/sendText")), Some(503), "first");
        assert_eq!(status(faults.take("message/sendText")), Some(503), "second");
        assert_eq!(status(faults.take("message/sendText")), None, "used up");
    }
}
