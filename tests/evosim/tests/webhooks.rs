//! The webhook sender (EVOLUTION.md §5, §9.10): envelope, headers, filter,
//! byEvents, retry policy, concurrency, replay.

mod common;

use common::{WAIT, open_instance, settle, setup, setup_with, text};
use nolose_evosim::{Outcome, RetryPolicy, SimConfig};
use serde_json::json;

#[tokio::test]
async fn deliveries_carry_the_envelope_and_custom_headers() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    sim.inject("acme", text("5511988887777", "Olá!"))
        .expect("inject");
    sim.wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("delivered");
    let hit = rx
        .hits_of("messages.upsert")
        .pop()
        .expect("receiver got it");
    assert_eq!(hit.path, "/hooks/evolution");
    assert_eq!(hit.headers["x-webhook-secret"], "s3cr3t");
    assert_eq!(hit.headers["content-type"], "application/json");
    let body = &hit.body;
    assert_eq!(body["instance"], "acme");
    assert_eq!(body["destination"], json!(rx.url));
    assert_eq!(body["server_url"], json!(sim.base_url()));
    assert_eq!(body["apikey"], json!(null));
    assert!(body["date_time"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert!(
        body["sender"]
            .as_str()
            .is_some_and(|s| s.ends_with("@s.whatsapp.net"))
    );
    let data = &body["data"];
    assert_eq!(data["key"]["remoteJid"], "5511988887777@s.whatsapp.net");
    assert_eq!(data["message"], json!({"conversation": "Olá!"}));
    assert_eq!(data["status"], "DELIVERY_ACK");
    assert_eq!(data["pushName"], "Maria");
}

#[tokio::test]
async fn sender_is_absent_before_the_first_open() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let qr = sim
        .wait_for_deliveries("qrcode.updated", 1, WAIT)
        .await
        .expect("qr webhook");
    let body = &qr[0].body;
    assert!(body.get("sender").is_none(), "{body}");
    assert_eq!(body["data"]["qrcode"]["instance"], "acme");
    assert!(
        body["data"]["qrcode"].get("count").is_none(),
        "no count in the webhook"
    );
}

#[tokio::test]
async fn only_subscribed_events_are_sent_and_by_events_adds_a_suffix() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let hook = json!({"webhook": {"enabled": true, "url": rx.url, "byEvents": true, "events": ["MESSAGES_UPSERT"]}});
    let (status, row) = evo.post("/webhook/set/acme", hook).await;
    assert_eq!(status, 201, "{row}");
    assert_eq!(
        row["headers"],
        json!({"x-webhook-secret": "s3cr3t"}),
        "headers kept when omitted"
    );
    settle(&sim).await;
    sim.clear_logs();
    sim.scan_qr("acme", Default::default()).expect("scan");
    sim.inject("acme", text("5511988887777", "hi"))
        .expect("inject");
    let done = sim
        .wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("delivered");
    assert_eq!(done[0].url, format!("{}/messages-upsert", rx.url));
    assert_eq!(
        done[0].body["destination"],
        json!(rx.url),
        "destination has no suffix"
    );
    assert!(
        sim.deliveries_of("connection.update").is_empty(),
        "not subscribed"
    );
    assert!(
        sim.deliveries_of("contacts.upsert").is_empty(),
        "not subscribed"
    );
}

/// Subscribes `acme` to `MESSAGES_UPSERT` only, so scripted answers hit it alone.
async fn upserts_only(evo: &common::Evo, url: &str) {
    let hook = json!({"webhook": {"enabled": true, "url": url, "events": ["MESSAGES_UPSERT"]}});
    let (status, _) = evo.post("/webhook/set/acme", hook).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_500_is_retried_until_success() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    upserts_only(&evo, &rx.url).await;
    sim.scan_qr("acme", Default::default()).expect("scan");
    settle(&sim).await;
    rx.respond_with(&[500, 503]);
    sim.inject("acme", text("5511988887777", "retry me"))
        .expect("inject");
    let done = sim
        .wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("finished");
    let statuses: Vec<Option<u16>> = done[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(done[0].outcome, Outcome::Delivered);
    assert_eq!(statuses, vec![Some(500), Some(503), Some(200)]);
    assert_eq!(
        rx.hits_of("messages.upsert").len(),
        3,
        "each attempt reached the receiver"
    );
}

#[tokio::test]
async fn a_401_is_not_retried() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    settle(&sim).await;
    rx.respond_with(&[401]);
    sim.emit_qr("acme").expect("qr");
    let done = sim
        .wait_for(WAIT, |s| {
            s.deliveries_of("qrcode.updated")
                .into_iter()
                .find(|d| d.outcome == Outcome::Rejected)
        })
        .await
        .expect("rejected");
    assert_eq!(done.attempts.len(), 1);
    assert_eq!(done.attempts[0].status, Some(401));
}

#[tokio::test]
async fn every_attempt_failing_ends_exhausted_after_max_attempts() {
    let mut config = SimConfig::fast();
    config.retry = RetryPolicy {
        max_attempts: 3,
        ..config.retry
    };
    let (sim, _rx, evo) = setup_with(config).await;
    // Nothing listens on port 9 (discard): connection refused, which is retried.
    evo.create("acme", "http://127.0.0.1:9/hook").await;
    let done = sim
        .wait_for_deliveries("qrcode.updated", 1, WAIT)
        .await
        .expect("finished");
    assert_eq!(done[0].outcome, Outcome::Exhausted);
    assert_eq!(done[0].attempts.len(), 3);
    assert!(
        done[0]
            .attempts
            .iter()
            .all(|a| a.status.is_none() && a.error.is_some())
    );
}

#[tokio::test]
async fn events_are_dispatched_concurrently() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    settle(&sim).await;
    rx.hold("messages.upsert");
    let injected = sim
        .inject("acme", text("5511988887777", "stuck"))
        .expect("inject");
    sim.update_status("acme", &injected.key_id, "READ")
        .expect("receipt");
    // The receipt is delivered while the upsert is still held by the receiver.
    let update = sim
        .wait_for_deliveries("messages.update", 1, WAIT)
        .await
        .expect("update delivered");
    assert_eq!(update[0].outcome, Outcome::Delivered);
    assert_eq!(
        sim.deliveries_of("messages.upsert")[0].outcome,
        Outcome::Pending
    );
    rx.release();
    sim.wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("upsert delivered");
}

#[tokio::test]
async fn a_delivery_can_be_replayed_verbatim() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    sim.inject("acme", text("5511988887777", "once"))
        .expect("inject");
    let first = sim
        .wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("delivered");
    let replay_id = sim.replay(first[0].id).expect("replay");
    let both = sim
        .wait_for_deliveries("messages.upsert", 2, WAIT)
        .await
        .expect("replayed");
    let replayed = both
        .iter()
        .find(|d| d.id == replay_id)
        .expect("replay recorded");
    assert_eq!(replayed.replay_of, Some(first[0].id));
    assert_eq!(replayed.body, first[0].body);
    let hits = rx.hits_of("messages.upsert");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body);
}

#[tokio::test]
async fn jwt_key_becomes_a_bearer_token() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let hook = json!({"webhook": {"enabled": true, "url": rx.url, "headers": {"jwt_key": "k"}, "events": ["QRCODE_UPDATED"]}});
    evo.post("/webhook/set/acme", hook).await;
    sim.clear_logs();
    sim.emit_qr("acme").expect("qr");
    let done = sim
        .wait_for_deliveries("qrcode.updated", 1, WAIT)
        .await
        .expect("delivered");
    let auth = done[0]
        .headers
        .get("authorization")
        .expect("authorization header");
    assert!(auth.starts_with("Bearer ey"), "{auth}");
    assert!(!done[0].headers.contains_key("jwt_key"));
}
