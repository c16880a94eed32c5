//! Delivery with Evolution's retry policy (`WH.retryWebhookRequest`): any 2xx
//! succeeds; a non-retryable status (400/401/403/404/422) stops at once;
//! everything else — other statuses, timeouts, refused connections — waits
//! `delay_after(n)` and tries again, up to `max_attempts` in total.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{SecondsFormat, Utc};

use crate::error::SimError;
use crate::log::{Attempt, Delivery, Outcome};
use crate::sim::Sim;

const BODY_PREVIEW: usize = 2048;

fn header_map(headers: &BTreeMap<String, String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(n, v);
        }
    }
    map
}

/// One POST; never fails, the outcome is in the returned attempt.
async fn post_once(sim: &Sim, url: &str, headers: &HeaderMap, body: Vec<u8>) -> Attempt {
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let sent = sim
        .http
        .post(url)
        .headers(headers.clone())
        .timeout(sim.config.webhook_timeout)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let preview: String = text.chars().take(BODY_PREVIEW).collect();
            Attempt {
                status: Some(status),
                error: None,
                response_body: Some(preview),
                at,
            }
        }
        Err(err) => Attempt {
            status: None,
            error: Some(error_chain(&err)),
            response_body: None,
            at,
        },
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runs delivery `id` to completion, recording every attempt.
pub async fn deliver(sim: Arc<Sim>, id: u64) {
    let Some((url, headers, body)) = sim.logs.read(|l| {
        l.delivery(id)
            .map(|d| (d.url.clone(), header_map(&d.headers), d.body.clone()))
    }) else {
        return;
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let policy = sim.config.retry.clone();
    let mut failures = 0u32;
    loop {
        let attempt = post_once(&sim, &url, &headers, bytes.clone()).await;
        let outcome = match attempt.status {
            Some(s) if (200..300).contains(&s) => Some(Outcome::Delivered),
            Some(s) if policy.is_non_retryable(s) => Some(Outcome::Rejected),
            _ => {
                failures += 1;
                (failures >= policy.max_attempts).then_some(Outcome::Exhausted)
            }
        };
        sim.logs.update(|l| {
            if let Some(d) = l.delivery_mut(id) {
                d.attempts.push(attempt);
                if let Some(o) = outcome {
                    d.outcome = o;
                }
            }
        });
        if outcome.is_some() {
            return;
        }
        tokio::time::sleep(policy.delay_after(failures)).await;
    }
}

/// Sends a recorded delivery's exact payload and headers again, as a new
/// delivery (`replayOf` = the original), with the same retry policy.
pub fn replay(sim: &Arc<Sim>, id: u64) -> Result<u64, SimError> {
    let original = sim
        .logs
        .read(|l| l.delivery(id).cloned())
        .ok_or_else(|| SimError::NotFound(format!("no webhook delivery with id {id}")))?;
    let new_id = sim.logs.update(|l| {
        l.push_delivery(Delivery {
            replay_of: Some(id),
            attempts: Vec::new(),
            outcome: Outcome::Pending,
            ..original
        })
    });
    let task_sim = Arc::clone(sim);
    sim.spawn(async move { deliver(task_sim, new_id).await });
    Ok(new_id)
}

/// Waits until none of `ids` is still pending.
pub async fn wait_done(sim: &Sim, ids: &[u64]) {
    loop {
        let notified = sim.logs.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let pending = sim.logs.read(|l| {
            ids.iter().any(|id| {
                l.delivery(*id)
                    .is_some_and(|d| d.outcome == Outcome::Pending)
            })
        });
        if !pending {
            return;
        }
        notified.await;
    }
}
