//! The webhook through the local server: evosim delivers (with its real
//! envelope, headers and retries), or the test posts what Evolution would.

use std::time::Duration;

use futures::future::join_all;
use nolose_evosim::{Incoming, Kind, Outcome};
use nolose_tests::app::error_code;
use nolose_tests::wa::{PATIENCE, Tenant, WaApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GLOBAL: &str = "global-webhook-token-for-tests";

fn envelope(event: &str, instance: &str, data: Value) -> Value {
    json!({"event": event, "instance": instance, "data": data, "date_time": "2026-11-29T10:00:00.000Z",
        "server_url": "http://evolution", "apikey": null})
}

fn text_from(from: &str, text: &str) -> Incoming {
    Incoming {
        from: from.into(),
        text: Some(text.into()),
        push_name: Some("Maria".into()),
        ..Default::default()
    }
}

/// Waits until every delivery of `event` so far has an outcome.
async fn settled(wa: &WaApp, event: &str, count: usize) -> Vec<nolose_evosim::Delivery> {
    wa.sim
        .wait_for_deliveries(event, count, PATIENCE)
        .await
        .expect("deliveries settle")
}

async fn contacts(wa: &WaApp, t: &Tenant) -> Value {
    let (status, body) = wa.get(&t.token, "/api/evolution/contacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn checks_run_in_the_order_of_api_md_and_a_rejected_call_stores_nothing() {
    let wa = WaApp::spawn_with(nolose_evosim::SimConfig::fast(), Some(GLOBAL)).await;
    let t = wa.connected_tenant("ana@example.com").await;
    let secret = wa.webhook_secret(&t);
    let upsert = |instance: &str| {
        envelope(
            "messages.upsert",
            instance,
            json!({"key": {"id": "K1", "remoteJid": "5511988887777@s.whatsapp.net",
            "fromMe": false}, "message": {"conversation": "hi"}, "messageTimestamp": 1761047000}),
        )
    };
    let huge = json!({"instance": t.instance, "data": "x".repeat(5 * 1024 * 1024)});
    let cases: [(&str, Value, Option<&str>, &str, StatusCode); 8] = [
        (
            "over 4 MiB",
            huge,
            Some(&secret),
            "",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "no instance",
            json!({"event": "messages.upsert", "data": {}}),
            Some(&secret),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "instance not a string",
            json!({"instance": 5}),
            Some(&secret),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "no secret",
            upsert(&t.instance),
            None,
            "",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong secret",
            upsert(&t.instance),
            Some("nope"),
            "",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown instance, no token",
            upsert("user_999999"),
            Some(&secret),
            "",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown instance, wrong token",
            upsert("user_999999"),
            None,
            "?token=nope",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown instance, global token",
            upsert("user_999999"),
            None,
            "?token=global-webhook-token-for-tests",
            StatusCode::NOT_FOUND,
        ),
    ];
    for (case, body, secret, query, want) in cases {
        let (status, answer) = wa.post_webhook(&body, secret, query).await;
        assert_eq!(status, want, "case {case}: {answer}");
        error_code(&answer);
    }
    let (status, _) = call_raw(&wa, "not json", Some(&secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "case not JSON");
    assert!(
        wa.messages(&t).await.is_empty(),
        "nothing stored by a rejected call"
    );
    let (status, answer) = wa
        .post_webhook(&upsert(&t.instance), None, &format!("?token={GLOBAL}"))
        .await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::OK, &json!("ok")),
        "the global token is accepted"
    );
}

async fn call_raw(wa: &WaApp, body: &str, secret: Option<&str>) -> (StatusCode, Value) {
    let mut req = wa
        .app
        .request(reqwest::Method::POST, "/api/webhook/evolution")
        .body(body.to_owned());
    if let Some(secret) = secret {
        req = req.header("x-webhook-secret", secret);
    }
    nolose_tests::app::call(req.header("content-type", "application/json")).await
}

#[tokio::test]
async fn an_incoming_message_is_stored_with_its_contact_and_conversation() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let sent = wa
        .sim
        .inject(&t.instance, text_from("5511988887777", "Olá!"))
        .expect("inject");
    let messages = wa.wait_for_messages(&t, 1).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["wa_message_id"], sent.key_id.as_str());
    let body = contacts(&wa, &t).await;
    assert_eq!(body["total"], 1);
    let contact = &body["contacts"][0];
    assert_eq!(
        (&contact["wa_id"], &contact["profile_name"]),
        (&json!("5511988887777"), &json!("Maria"))
    );
    assert_eq!(
        contact["evolution_remote_jid"],
        "5511988887777@s.whatsapp.net"
    );
    let (_, thread) = wa
        .get(
            &t.token,
            &format!("/api/evolution/messages/{}", contact["id"]),
        )
        .await;
    let m = &thread["messages"][0];
    assert_eq!(
        (&m["type"], &m["content"], &m["is_outbound"]),
        (&json!("text"), &json!("Olá!"), &json!(false))
    );
    assert_eq!(
        (&m["status"], &m["source"]),
        (&json!("received"), &json!("evolution_api"))
    );
    let (_, stats) = wa.get(&t.token, "/api/stats").await;
    assert_eq!(
        stats,
        json!({"total_messages": 1, "total_contacts": 1, "total_conversations": 1,
        "inbound_messages": 1, "outbound_messages": 0})
    );
}

#[tokio::test]
async fn a_replayed_or_concurrently_repeated_webhook_stores_one_row() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    wa.sim
        .inject(&t.instance, text_from("5511988887777", "once"))
        .expect("inject");
    let first = settled(&wa, "messages.upsert", 1).await.remove(0);
    wa.sim.replay(first.id).expect("replay");
    let all = settled(&wa, "messages.upsert", 2).await;
    assert!(
        all.iter().all(|d| d.outcome == Outcome::Delivered),
        "both answered 2xx: {all:?}"
    );
    let posts =
        (0..8).map(|_| wa.post_webhook(&first.body, Some(&first.headers["x-webhook-secret"]), ""));
    for (status, body) in join_all(posts).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        wa.messages(&t).await.len(),
        1,
        "one row whatever the repeats"
    );
}

#[tokio::test]
async fn media_groups_and_lid_chats_are_handled_as_api_md_says() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let image = Incoming {
        kind: Kind::Image,
        ..text_from("5511988887777", "look")
    };
    wa.sim.inject(&t.instance, image).expect("image");
    let lid = Incoming {
        remote_jid_alt: Some("5511988887777@s.whatsapp.net".into()),
        ..text_from("123456789012345@lid", "from my lid")
    };
    wa.sim.inject(&t.instance, lid).expect("lid");
    let group = Incoming {
        participant: Some("5511977776666".into()),
        ..text_from("120363000000000001@g.us", "hi all")
    };
    wa.sim.inject(&t.instance, group).expect("group");
    let done = settled(&wa, "messages.upsert", 3).await;
    assert!(
        done.iter().all(|d| d.outcome == Outcome::Delivered),
        "{done:?}"
    );
    let messages = wa.wait_for_messages(&t, 2).await;
    assert_eq!(messages.len(), 2, "the group message is skipped");
    let body = contacts(&wa, &t).await;
    assert_eq!(
        body["total"], 1,
        "the @lid chat is the phone's contact: {body}"
    );
    let image = messages
        .iter()
        .find(|m| m["type"] == "image")
        .expect("image stored");
    assert_eq!(image["content"], "look", "the caption is the content");
    let group = envelope(
        "messages.upsert",
        &t.instance,
        json!({"key": {"id": "G1", "remoteJid": "1203630@g.us"}}),
    );
    let (_, answer) = wa
        .post_webhook(&group, Some(&wa.webhook_secret(&t)), "")
        .await;
    assert_eq!(answer["status"], "ignored");
}

#[tokio::test]
async fn receipts_move_the_status_forward_only_even_before_the_message_exists() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let secret = wa.webhook_secret(&t);
    let mine = Incoming {
        from_me: true,
        ..text_from("5511988887777", "from my phone")
    };
    let sent = wa.sim.inject(&t.instance, mine).expect("inject");
    wa.wait_for_messages(&t, 1).await;
    for status in ["DELIVERY_ACK", "READ"] {
        wa.sim
            .update_status(&t.instance, &sent.key_id, status)
            .expect("receipt");
    }
    settled(&wa, "messages.update", 2).await;
    let late = envelope(
        "messages.update",
        &t.instance,
        json!({"keyId": sent.key_id, "status": "DELIVERY_ACK"}),
    );
    assert_eq!(
        wa.post_webhook(&late, Some(&secret), "").await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&wa, &t, &sent.key_id).await,
        Some(json!("read")),
        "a late DELIVERY_ACK changes nothing"
    );
    let early = envelope(
        "messages.update",
        &t.instance,
        json!({"keyId": "3EB0EARLY", "status": "READ", "fromMe": true}),
    );
    assert_eq!(
        wa.post_webhook(&early, Some(&secret), "").await.0,
        StatusCode::OK,
        "kept for later"
    );
    let echo = envelope(
        "send.message",
        &t.instance,
        json!({"key": {"id": "3EB0EARLY", "remoteJid":
        "5511988887777@s.whatsapp.net", "fromMe": true}, "status": "PENDING", "message": {"conversation": "x"},
        "messageTimestamp": 1761047123}),
    );
    assert_eq!(
        wa.post_webhook(&echo, Some(&secret), "").await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&wa, &t, "3EB0EARLY").await,
        Some(json!("read")),
        "the stashed update applied on arrival"
    );
}

/// The status of the message with WhatsApp id `key`: `/api/messages` rows
/// carry the WhatsApp id, the contact's thread carries the status.
async fn status_of(wa: &WaApp, t: &Tenant, key: &str) -> Option<Value> {
    let rows = wa.messages(t).await;
    let row = rows.iter().find(|r| r["wa_message_id"] == key)?;
    let (_, thread) = wa
        .get(
            &t.token,
            &format!("/api/evolution/messages/{}", row["contact_id"]),
        )
        .await;
    let list = thread["messages"].as_array()?;
    list.iter()
        .find(|m| m["id"] == row["id"])
        .map(|m| m["status"].clone())
}

#[tokio::test]
async fn a_revoked_message_is_marked_deleted_and_keeps_its_content() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let sent = wa
        .sim
        .inject(&t.instance, text_from("5511988887777", "oops"))
        .expect("inject");
    wa.wait_for_messages(&t, 1).await;
    wa.sim.revoke(&t.instance, &sent.key_id).expect("revoke");
    settled(&wa, "messages.delete", 1).await;
    let body = contacts(&wa, &t).await;
    let (_, thread) = wa
        .get(
            &t.token,
            &format!("/api/evolution/messages/{}", body["contacts"][0]["id"]),
        )
        .await;
    assert_eq!(
        (
            &thread["messages"][0]["status"],
            &thread["messages"][0]["content"]
        ),
        (&json!("deleted"), &json!("oops"))
    );
}

#[tokio::test]
async fn connection_and_qr_events_drive_the_instance_status() {
    let wa = WaApp::spawn().await;
    let t = wa.created_tenant("ana@example.com").await;
    let secret = wa.webhook_secret(&t);
    let post = |event: &str, data: Value| {
        let body = envelope(event, &t.instance, data);
        let (wa, secret) = (&wa, secret.clone());
        async move { wa.post_webhook(&body, Some(&secret), "").await }
    };
    let stored = |wa: &WaApp| {
        let state = wa.app.state.clone();
        let user = nolose_shared::domain::UserId::new(t.user_id);
        async move {
            state
                .store
                .instance_by_user(user)
                .await
                .expect("read")
                .expect("instance")
        }
    };
    post(
        "connection.update",
        json!({"state": "close", "statusReason": 401}),
    )
    .await;
    assert_eq!(stored(&wa).await.status.as_str(), "disconnected");
    post(
        "qrcode.updated",
        json!({"qrcode": {"base64": "data:image/png;base64,NEW", "code": "2@x"}}),
    )
    .await;
    let i = stored(&wa).await;
    assert_eq!(
        (i.status.as_str(), i.qr_code.as_deref()),
        ("qr", Some("data:image/png;base64,NEW"))
    );
    post(
        "connection.update",
        json!({"state": "connecting", "statusReason": 200}),
    )
    .await;
    assert_eq!(
        stored(&wa).await.status.as_str(),
        "qr",
        "a fresh QR survives connecting"
    );
    post(
        "connection.update",
        json!({"state": "open", "wuid": "5511977770000@s.whatsapp.net", "profileName": "Zoë"}),
    )
    .await;
    let i = stored(&wa).await;
    assert_eq!(
        (i.status.as_str(), i.phone_number.as_deref(), i.qr_code),
        ("connected", Some("5511977770000"), None)
    );
    let (status, body) = post("logout.instance", Value::Null).await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
    assert_eq!(stored(&wa).await.status.as_str(), "disconnected");
}

#[tokio::test]
async fn contact_events_come_as_object_or_array_and_skip_groups() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let secret = wa.webhook_secret(&t);
    let array = envelope(
        "contacts.upsert",
        &t.instance,
        json!([
        {"remoteJid": "5511911110000@s.whatsapp.net", "pushName": "Maria"},
        {"remoteJid": "120363000000000001@g.us", "pushName": "A group"}]),
    );
    let object = envelope(
        "contacts.update",
        &t.instance,
        json!({"remoteJid": "5511922220000@s.whatsapp.net", "pushName": "João"}),
    );
    let chats = envelope(
        "chats.upsert",
        &t.instance,
        json!([{"remoteJid": "5511922220000@s.whatsapp.net"}, {"id": "x", "name": "y"}]),
    );
    for body in [array, object, chats] {
        let (status, answer) = wa.post_webhook(&body, Some(&secret), "").await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let body = contacts(&wa, &t).await;
    assert_eq!(body["total"], 2, "{body}");
    let names: Vec<_> = body["contacts"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["profile_name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Maria"), json!("João")]);
    let (_, conversations) = wa.get(&t.token, "/api/conversations").await;
    assert_eq!(
        conversations["conversations"].as_array().map(Vec::len),
        Some(1),
        "chats.upsert made one"
    );
}

#[tokio::test]
async fn the_by_events_path_is_served_like_the_plain_one() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let mut body = envelope(
        "messages.upsert",
        &t.instance,
        json!({"key": {"id": "BYEV1", "remoteJid":
        "5511988887777@s.whatsapp.net"}, "message": {"conversation": "x"}, "messageTimestamp": 1761047000}),
    );
    body.as_object_mut().expect("object").remove("event");
    let (status, answer) = nolose_tests::app::call(
        wa.app
            .request(
                reqwest::Method::POST,
                "/api/webhook/evolution/messages-upsert",
            )
            .header("x-webhook-secret", wa.webhook_secret(&t))
            .json(&body),
    )
    .await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::OK, &json!("ok")),
        "{answer}"
    );
    assert_eq!(wa.messages(&t).await.len(), 1);
}

#[tokio::test]
async fn a_store_outage_during_a_burst_loses_nothing_and_doubles_nothing() {
    let wa = WaApp::spawn_with(WaApp::patient_retries(), None).await;
    let t = wa.connected_tenant("ana@example.com").await;
    let inject = |n: usize| {
        let from = format!("55119{:08}", n % 5);
        wa.sim
            .inject(&t.instance, text_from(&from, &format!("message {n}")))
            .expect("inject");
    };
    (0..10).for_each(inject);
    settled(&wa, "messages.upsert", 10).await;
    wa.app.db.go_down().await;
    (10..30).for_each(inject);
    // Evolution's retries meet 503s for a while; then the store is back.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !wa
        .sim
        .deliveries_of("messages.upsert")
        .iter()
        .any(|d| d.attempts.len() > 1)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery was retried during the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wa.app.db.come_back().await;
    let done = settled(&wa, "messages.upsert", 30).await;
    assert!(
        done.iter().all(|d| d.outcome == Outcome::Delivered),
        "every webhook ended 2xx: {done:?}"
    );
    let retried_on_503 = done
        .iter()
        .flat_map(|d| &d.attempts)
        .any(|a| a.status == Some(503));
    assert!(
        retried_on_503,
        "the outage was answered 503, so Evolution retried"
    );
    let messages = wa.wait_for_messages(&t, 30).await;
    let mut keys: Vec<_> = messages
        .iter()
        .map(|m| m["wa_message_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (messages.len(), keys.len()),
        (30, 30),
        "none lost, none doubled"
    );
}

#[tokio::test]
async fn a_second_user_sees_none_of_the_first_users_data() {
    let wa = WaApp::spawn().await;
    let a = wa.connected_tenant("ana@example.com").await;
    wa.sim
        .inject(&a.instance, text_from("5511988887777", "private"))
        .expect("inject");
    wa.wait_for_messages(&a, 1).await;
    let contact_id = contacts(&wa, &a).await["contacts"][0]["id"].clone();
    let b = wa.tenant("bea@example.com").await;
    for path in ["/api/messages", "/api/contacts", "/api/conversations"] {
        let (status, body) = wa.get(&b.token, path).await;
        let list = body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_array)
            .map(Vec::len);
        assert_eq!(
            (status, list),
            (StatusCode::OK, Some(0)),
            "case {path}: {body}"
        );
    }
    assert_eq!(contacts(&wa, &b).await["total"], 0);
    let (_, stats) = wa.get(&b.token, "/api/stats").await;
    assert_eq!(stats["total_messages"], 0);
    let (status, body) = wa
        .get(&b.token, &format!("/api/evolution/messages/{contact_id}"))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "contact_not_found")
    );
    let (_, body) = wa
        .get(&b.token, &format!("/api/messages?contact_id={contact_id}"))
        .await;
    assert_eq!(body["messages"], json!([]));
    let (status, _) = wa.get("", "/api/messages").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "anonymous callers get nothing"
    );
}
