//! The instance routes through the local server, against evosim over HTTP.

use nolose_evosim::DownMode;
use nolose_tests::app::error_code;
use nolose_tests::wa::WaApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn status_without_an_instance_is_disconnected_with_nulls() {
    let wa = WaApp::spawn().await;
    let t = wa.tenant("ana@example.com").await;
    let (status, body) = wa.get(&t.token, "/api/evolution/instance/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["instance_name"], t.instance.as_str());
    assert_eq!(body["status"], "disconnected");
    for field in [
        "phone_number",
        "profile_name",
        "qr_code",
        "pairing_code",
        "last_connected_at",
        "chats_count",
    ] {
        assert!(body[field].is_null(), "{field} is null: {body}");
    }
}

#[tokio::test]
async fn create_shows_a_qr_and_configures_the_webhook_with_a_secret() {
    let wa = WaApp::spawn().await;
    let t = wa.tenant("ana@example.com").await;
    let (status, body) = wa
        .send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "qr");
    assert!(
        body["qr_code"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/png;base64,")),
        "{body}"
    );
    assert!(body["chats_count"].is_null(), "no chat sync yet");
    let webhook = wa
        .sim
        .instance(&t.instance)
        .expect("created at evosim")
        .webhook
        .expect("webhook");
    assert_eq!(
        webhook["url"],
        format!("{}/api/webhook/evolution", wa.app.base)
    );
    assert_eq!(webhook["webhookByEvents"], false);
    let events = webhook["events"].as_array().expect("events");
    assert_eq!(events.len(), 11, "the events API.md lists: {events:?}");
    assert!(wa.webhook_secret(&t).len() >= 32, "a long random secret");
}

#[tokio::test]
async fn create_is_idempotent_keeps_the_secret_and_reapplies_the_webhook() {
    let wa = WaApp::spawn().await;
    let t = wa.created_tenant("ana@example.com").await;
    let secret = wa.webhook_secret(&t);
    let (status, body) = wa
        .send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    assert_eq!(status, StatusCode::OK, "a second create is fine: {body}");
    assert_eq!(wa.webhook_secret(&t), secret, "the secret never changes");
    assert_eq!(
        wa.sim.calls_to("webhook/set").len(),
        1,
        "the existing instance's webhook is re-applied"
    );
}

#[tokio::test]
async fn scanning_the_qr_connects_with_the_phone_number_in_digits() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let body = wa.wait_for_status(&t, "connected").await;
    assert_eq!(body["phone_number"], "5511999990000");
    assert_eq!(body["profile_name"], "Ana");
    assert!(body["qr_code"].is_null(), "the QR is cleared");
    assert!(
        body["last_connected_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
}

#[tokio::test]
async fn qrcode_answers_404_before_create_the_qr_after_and_409_once_connected() {
    let wa = WaApp::spawn().await;
    let t = wa.tenant("ana@example.com").await;
    let (status, body) = wa.get(&t.token, "/api/evolution/instance/qrcode").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "instance_not_found")
    );
    wa.send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    let (status, body) = wa.get(&t.token, "/api/evolution/instance/qrcode").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["qr_code"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/png"))
    );
    assert_eq!(body["instance_name"], t.instance.as_str());
    wa.sim
        .scan_qr(&t.instance, Default::default())
        .expect("scan");
    wa.wait_for_status(&t, "connected").await;
    let (status, body) = wa.get(&t.token, "/api/evolution/instance/qrcode").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "already_connected")
    );
}

#[tokio::test]
async fn disconnect_logs_out_deletes_at_evolution_and_keeps_the_data() {
    let wa = WaApp::spawn().await;
    let t = wa.tenant("ana@example.com").await;
    let (status, body) = wa
        .send(&t, Method::DELETE, "/api/evolution/instance/disconnect")
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "instance_not_found")
    );
    let t = wa.connected_tenant("bea@example.com").await;
    let (status, body) = wa
        .send(&t, Method::DELETE, "/api/evolution/instance/disconnect")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].is_string());
    assert!(
        wa.sim.instance(&t.instance).is_none(),
        "deleted at Evolution"
    );
    let (_, body) = wa.get(&t.token, "/api/evolution/instance/status").await;
    assert_eq!(
        body["status"], "disconnected",
        "Evolution's 404 means disconnected"
    );
    assert_eq!(body["phone_number"], "5511999990000", "synced data stays");
}

#[tokio::test]
async fn status_answers_the_stored_status_while_evolution_is_down() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    wa.sim.set_down(DownMode::Unavailable);
    let (status, body) = wa.get(&t.token, "/api/evolution/instance/status").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &"connected".into()),
        "{body}"
    );
}

#[tokio::test]
async fn create_answers_503_when_evolution_is_down_and_502_when_it_errs() {
    let wa = WaApp::spawn().await;
    let t = wa.tenant("ana@example.com").await;
    wa.sim.set_down(DownMode::Unavailable);
    let (status, body) = wa
        .send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        "{body}"
    );
    wa.sim.set_down(DownMode::Up);
    wa.sim.fail_next(Some("instance/create"), 1, 500);
    let (status, body) = wa
        .send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_GATEWAY, "upstream_error"),
        "{body}"
    );
    assert!(
        !body["detail"].as_str().unwrap_or_default().contains("500"),
        "no upstream detail leaks: {body}"
    );
    let (status, _) = wa
        .send(&t, Method::POST, "/api/evolution/instance/create")
        .await;
    assert_eq!(status, StatusCode::OK, "and a retry succeeds");
}
