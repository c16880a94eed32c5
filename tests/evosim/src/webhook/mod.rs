//! Webhook emission, shaped after `WH.emit` (EVOLUTION.md §5): the instance's
//! webhook row is re-read for every event, filtered by its UPPER_SNAKE event
//! list, suffixed when `byEvents` is on, skipped silently when the URL is not
//! `http(s)://`, and sent with the instance's custom headers. The global
//! webhook (if configured) gets the same envelope without custom headers.
//! Each emitted event becomes one background task — events are therefore
//! dispatched concurrently and can arrive in any order, as with Evolution's
//! un-awaited `sendDataWebhook` calls.

mod envelope;
mod sender;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::events::{NOT_GLOBAL, filter_name, path_suffix};
use crate::log::{Delivery, Outcome};
use crate::sim::Sim;

pub use sender::{replay, wait_done};

/// One URL a payload goes to.
struct Target {
    url: String,
    headers: BTreeMap<String, String>,
    global: bool,
}

/// Emits `event` for `instance`; returns the ids of the deliveries it started
/// (empty when no webhook wants the event).
pub fn emit(sim: &Arc<Sim>, instance: &str, event: &str, data: Value) -> Vec<u64> {
    let Some((body, targets)) = plan(sim, instance, event, data) else {
        return Vec::new();
    };
    let ids: Vec<u64> = targets
        .into_iter()
        .map(|t| {
            sim.logs.update(|l| {
                l.push_delivery(Delivery {
                    id: 0,
                    event: event.to_owned(),
                    instance: instance.to_owned(),
                    url: t.url,
                    headers: t.headers,
                    body: body.clone(),
                    global: t.global,
                    replay_of: None,
                    attempts: Vec::new(),
                    outcome: Outcome::Pending,
                })
            })
        })
        .collect();
    if !ids.is_empty() {
        // Local then global, one after the other, like the awaited calls in WH.emit.
        let task_sim = Arc::clone(sim);
        let task_ids = ids.clone();
        sim.spawn(async move {
            for id in task_ids {
                sender::deliver(Arc::clone(&task_sim), id).await;
            }
        });
    }
    ids
}

/// `<url>/<suffix>` when `byEvents` is on (a trailing `/` in `url` yields `//`).
fn with_suffix(url: &str, by_events: bool, suffix: &str) -> String {
    if by_events {
        format!("{url}/{suffix}")
    } else {
        url.to_owned()
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Decides the envelope and the target URLs while holding the store lock once.
fn plan(sim: &Sim, instance: &str, event: &str, data: Value) -> Option<(Value, Vec<Target>)> {
    let store = sim.store();
    let inst = store.instances.get(instance)?;
    let we = filter_name(event);
    let suffix = path_suffix(event);
    let global = sim.config.global_webhook.as_ref();
    let hook = inst.webhook.as_ref().filter(|h| !h.url.is_empty());
    let destination = hook
        .map(|h| h.url.clone())
        .or_else(|| global.map(|g| format!("{}/{suffix}", g.url)))
        .unwrap_or_default();
    let api_key = sim.config.expose_token.then(|| inst.token.clone());
    let body = envelope::body(envelope::Envelope {
        event,
        instance,
        data,
        destination,
        sender: inst.sender(),
        server_url: sim.server_url(),
        api_key,
    });
    let mut targets = Vec::new();
    if let Some(h) = inst.webhook.as_ref()
        && h.enabled
        && h.events.contains(&we)
        && is_http(&h.url)
    {
        let url = with_suffix(&h.url, h.by_events, &suffix);
        let headers = envelope::headers(h.headers.as_ref());
        targets.push(Target {
            url,
            headers,
            global: false,
        });
    }
    if let Some(g) = global
        && g.events.contains(&we)
        && !NOT_GLOBAL.contains(&we.as_str())
    {
        let url = with_suffix(&g.url, g.by_events, &suffix);
        if is_http(&url) {
            targets.push(Target {
                url,
                headers: envelope::headers(None),
                global: true,
            });
        }
    }
    Some((body, targets))
}
