//! `POST /api/evolution/send/text` through the local server, against evosim
//! over real HTTP (API.md, Sending): validation, the send and the stored
//! outbound message with its status lifecycle, Evolution's failures, and
//! idempotency keys — replay, reuse, failures, races, expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nolose_evosim::DownMode;
use nolose_send::Patience;
use nolose_shared::evolution::HttpEvolution;
use nolose_shared::evolution::client::Timeouts;
use nolose_tests::app::error_code;
use nolose_tests::send::{
    EchoFirst, send, send_oneshot, send_router, settled_tenant, thread, wait_for_message,
};
use nolose_tests::wa::{PATIENCE, WaApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn hi(phone: &str) -> Value {
    json!({"phone_number": phone, "text": "Hi"})
}

fn sends(wa: &WaApp) -> Vec<nolose_evosim::CallRecord> {
    wa.sim.calls_to("message/sendText")
}

fn id_of(body: &Value) -> String {
    body["message_id"].as_str().expect("message_id").to_owned()
}

#[tokio::test]
async fn a_sent_text_answers_its_whatsapp_id_and_is_stored_as_sent() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send1@example.com").await;

    let (status, body) = send(
        &wa,
        &t,
        &json!({"phone_number": "+55 11 98888-7777", "text": "  Olá  "}),
        None,
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    let id = id_of(&body);
    let calls = sends(&wa);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["number"], "5511988887777",
        "normalised digits"
    );
    assert_eq!(calls[0].body["text"], "Olá", "trimmed text");
    let stored = thread(&wa, &t).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    let (message, contact) = &stored[0];
    assert_eq!(
        (
            &message["content"],
            &message["is_outbound"],
            &message["status"]
        ),
        (&json!("Olá"), &json!(true), &json!("sent"))
    );
    assert_eq!(
        contact["evolution_remote_jid"],
        "5511988887777@s.whatsapp.net"
    );
    assert_eq!(wa.messages(&t).await[0]["wa_message_id"], id.as_str());
}

#[tokio::test]
async fn the_message_belongs_to_the_jid_evolution_normalised_to() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send2@example.com").await;

    // createJid drops the Brazilian 9th digit outside area codes 11..=30.
    let (status, body) = send(&wa, &t, &hi("5531988887777"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(&wa, &t, &hi("553188887777@s.whatsapp.net"), None).await;
    assert_eq!(status, StatusCode::OK, "a full JID is accepted too: {body}");

    let stored = thread(&wa, &t).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    for (_, contact) in &stored {
        assert_eq!(
            contact["evolution_remote_jid"],
            "553188887777@s.whatsapp.net"
        );
        assert_eq!(contact["wa_id"], "553188887777");
    }
    assert_eq!(sends(&wa)[1].body["number"], "553188887777@s.whatsapp.net");
}

#[tokio::test]
async fn receipts_move_a_sent_message_forward_only() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send3@example.com").await;
    let (_, body) = send(&wa, &t, &hi("5511988887777"), None).await;
    let id = id_of(&body);

    wa.sim
        .update_status(&t.instance, &id, "DELIVERY_ACK")
        .expect("ack");
    wait_for_message(&wa, &t, &id, "delivered").await;
    wa.sim
        .update_status(&t.instance, &id, "READ")
        .expect("read");
    wait_for_message(&wa, &t, &id, "read").await;
    // evosim drops a repeated receipt, so the late one is posted as Evolution would.
    let late = json!({"event": "messages.update", "instance": t.instance,
        "data": {"keyId": id, "remoteJid": "5511988887777@s.whatsapp.net", "fromMe": true, "status": "DELIVERY_ACK"}});
    let (status, body) = wa
        .post_webhook(&late, Some(&wa.webhook_secret(&t)), "")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_for_message(&wa, &t, &id, "read").await;
}

#[tokio::test]
async fn the_echo_of_a_send_is_stored_once_whichever_comes_first() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send4@example.com").await;

    // The answer first: evosim's echo is delivered after it.
    let (_, body) = send(&wa, &t, &hi("5511988887777"), None).await;
    wa.sim
        .wait_for_deliveries("send.message", 1, PATIENCE)
        .await
        .expect("echo delivered");
    let answer_first = id_of(&body);

    // The echo first (stored as Evolution's PENDING), then the answer.
    let echo_first = EchoFirst {
        inner: Arc::clone(&wa.app.state.evolution),
        webhook_url: wa.app.url("/api/webhook/evolution"),
        secret: wa.webhook_secret(&t),
    };
    let state = wa.app.state.clone().with_evolution(Arc::new(echo_first));
    let router = send_router(state, Patience::default());
    let (status, body) = send_oneshot(router, &t, &hi("5511988887777"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = id_of(&body);
    wa.sim
        .wait_for_deliveries("send.message", 2, PATIENCE)
        .await
        .expect("evosim's own echoes delivered");

    let stored = thread(&wa, &t).await;
    assert_eq!(stored.len(), 2, "one row per send: {stored:?}");
    for id in [answer_first, second] {
        wait_for_message(&wa, &t, &id, "sent").await;
    }
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send5@example.com").await;
    let long = "x".repeat(4097);
    let cases = [
        (
            json!({"phone_number": "1234567", "text": "Hi"}),
            None,
            "invalid_phone_number",
        ),
        (
            json!({"phone_number": "1@g.us", "text": "Hi"}),
            None,
            "invalid_phone_number",
        ),
        (json!({"text": "Hi"}), None, "invalid_phone_number"),
        (
            json!({"phone_number": "5511988887777", "text": "   "}),
            None,
            "invalid_text",
        ),
        (
            json!({"phone_number": "5511988887777", "text": long}),
            None,
            "invalid_text",
        ),
        (
            json!({"phone_number": "5511988887777", "text": "Hi", "client_message_id": "b"}),
            Some("a"),
            "idempotency_key_mismatch",
        ),
        (
            json!({"phone_number": "5511988887777", "text": "Hi"}),
            Some(&*"k".repeat(129)),
            "validation_error",
        ),
    ];
    for (body, key, want) in cases {
        let (status, answer) = send(&wa, &t, &body, key).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, want),
            "case {body} key {key:?}"
        );
    }
    assert!(sends(&wa).is_empty(), "nothing reached Evolution");
}

#[tokio::test]
async fn sending_without_a_connection_is_409_not_connected() {
    let wa = WaApp::spawn().await;
    let fresh = wa.tenant("send6a@example.com").await;
    let scanning = wa.created_tenant("send6b@example.com").await;
    for t in [&fresh, &scanning] {
        let (status, body) = send(&wa, t, &hi("5511988887777"), Some("k")).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::CONFLICT, "not_connected"),
            "{}",
            t.instance
        );
    }
    assert!(sends(&wa).is_empty());
}

#[tokio::test]
async fn evolution_failures_map_to_422_502_and_503() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send7@example.com").await;

    wa.sim.set_on_whatsapp("5511900000000", false);
    let (status, body) = send(&wa, &t, &hi("5511900000000"), None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_on_whatsapp")
    );

    wa.sim.fail_next(Some("message/sendText"), 1, 500);
    let (status, body) = send(&wa, &t, &hi("5511988887777"), None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_GATEWAY, "upstream_error")
    );

    for mode in [DownMode::Unavailable, DownMode::Refuse] {
        wa.sim.set_down(mode);
        let (status, body) = send(&wa, &t, &hi("5511988887777"), None).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            "{mode:?}"
        );
        wa.sim.set_down(DownMode::Up);
    }
    assert!(thread(&wa, &t).await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_send_that_times_out_is_503_within_the_client_timeout() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send8@example.com").await;
    let short = Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(300),
    };
    let client = HttpEvolution::new(wa.sim.base_url(), wa.sim.api_key(), short).expect("client");
    let state = wa.app.state.clone().with_evolution(Arc::new(client));
    wa.sim
        .add_latency(Some("message/sendText"), Duration::from_secs(3));

    let started = Instant::now();
    let (status, body) = send_oneshot(
        send_router(state, Patience::default()),
        &t,
        &hi("5511988887777"),
        None,
    )
    .await;

    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_repeated_key_replays_the_first_answer_without_sending_again() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send9@example.com").await;
    let (status, first) = send(&wa, &t, &hi("5511988887777"), Some("order-1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");

    let formatted = json!({"phone_number": "+55 (11) 98888-7777", "text": " Hi ", "client_message_id": "order-1"});
    for (body, key) in [(hi("5511988887777"), Some("order-1")), (formatted, None)] {
        let (status, again) = send(&wa, &t, &body, key).await;
        assert_eq!((status, &again), (StatusCode::OK, &first), "case {body}");
    }
    assert_eq!(sends(&wa).len(), 1, "sent once");
    assert_eq!(thread(&wa, &t).await.len(), 1, "stored once");
}

#[tokio::test]
async fn a_key_reused_for_another_body_is_409() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send10@example.com").await;
    send(&wa, &t, &hi("5511988887777"), Some("k")).await;
    let others = [
        json!({"phone_number": "5511988887777", "text": "Bye"}),
        hi("5511977776666"),
    ];
    for body in others {
        let (status, answer) = send(&wa, &t, &body, Some("k")).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::CONFLICT, "idempotency_key_reused"),
            "case {body}"
        );
    }
    assert_eq!(sends(&wa).len(), 1);
}

#[tokio::test]
async fn a_failed_send_does_not_consume_its_key() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send11@example.com").await;
    wa.sim.fail_next(Some("message/sendText"), 1, 500);
    let (status, _) = send(&wa, &t, &hi("5511988887777"), Some("retry-me")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);

    let (status, body) = send(&wa, &t, &hi("5511988887777"), Some("retry-me")).await;

    assert_eq!(status, StatusCode::OK, "the retry sends: {body}");
    let calls = sends(&wa);
    assert_eq!((calls.len(), calls[0].faulted), (2, true));
}

#[tokio::test]
async fn two_concurrent_requests_with_one_key_send_once() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send12@example.com").await;
    wa.sim
        .add_latency(Some("message/sendText"), Duration::from_millis(500));

    let body = hi("5511988887777");
    let (a, b) = tokio::join!(
        send(&wa, &t, &body, Some("race")),
        send(&wa, &t, &body, Some("race")),
    );

    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    assert_eq!(a.1, b.1, "both get the one answer");
    assert_eq!(sends(&wa).len(), 1, "one send at Evolution");
}

#[tokio::test]
async fn a_duplicate_that_waits_too_long_is_409_request_in_progress() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send13@example.com").await;
    wa.sim
        .add_latency(Some("message/sendText"), Duration::from_secs(1));
    let impatient = send_router(wa.app.state.clone(), Patience(Duration::from_millis(200)));

    let body = hi("5511988887777");
    let first = send(&wa, &t, &body, Some("slow"));
    let second = async {
        wa.sim
            .wait_for(PATIENCE, |sim| {
                (!sim.calls_to("message/sendText").is_empty()).then_some(())
            })
            .await
            .expect("the first request is at Evolution");
        send_oneshot(impatient, &t, &hi("5511988887777"), Some("slow")).await
    };
    let ((status, first), (late, answer)) = tokio::join!(first, second);

    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (late, error_code(&answer)),
        (StatusCode::CONFLICT, "request_in_progress")
    );
    let (status, again) = send(&wa, &t, &hi("5511988887777"), Some("slow")).await;
    assert_eq!(
        (status, again),
        (StatusCode::OK, first),
        "a later retry replays"
    );
    assert_eq!(sends(&wa).len(), 1);
}

#[tokio::test]
async fn keys_expire_after_24_hours_and_belong_to_their_user() {
    let wa = WaApp::spawn().await;
    let t = settled_tenant(&wa, "send14@example.com").await;
    let (_, first) = send(&wa, &t, &hi("5511988887777"), Some("daily")).await;

    wa.app
        .clock
        .advance(chrono::Duration::hours(24) - chrono::Duration::seconds(1));
    let (_, replayed) = send(&wa, &t, &hi("5511988887777"), Some("daily")).await;
    assert_eq!(replayed, first, "still within 24 hours");
    wa.app.clock.advance(chrono::Duration::seconds(1));
    let (status, fresh) = send(
        &wa,
        &t,
        &json!({"phone_number": "5511988887777", "text": "new day"}),
        Some("daily"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an expired key is free for any body: {fresh}"
    );
    assert_ne!(id_of(&fresh), id_of(&first));

    let other = settled_tenant(&wa, "send14b@example.com").await;
    let (status, theirs) = send(&wa, &other, &hi("5511988887777"), Some("daily")).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_ne!(
        id_of(&theirs),
        id_of(&fresh),
        "another user's key is another key"
    );
    assert_eq!(sends(&wa).len(), 3);
}
