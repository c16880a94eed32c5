//! Hostile and oversized webhook input through the local server (API.md,
//! "Limits and hostile input"): the caller is judged on the envelope alone,
//! one bad record never costs the batch, and what can never be stored is
//! skipped (200 `ignored`), never a 400/5xx that would lose the others.

use nolose_tests::app::{call, error_code};
use nolose_tests::wa::{Tenant, WaApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GLOBAL: &str = "global-webhook-token-for-tests";

fn envelope(event: &str, instance: &str, data: Value) -> Value {
    json!({"event": event, "instance": instance, "data": data, "apikey": null})
}

fn record(id: &str, jid: &str, text: &str) -> Value {
    json!({"key": {"id": id, "remoteJid": jid, "fromMe": false}, "pushName": "Maria",
        "message": {"conversation": text}, "messageTimestamp": 1761047000})
}

async fn post(wa: &WaApp, t: &Tenant, body: &Value) -> (StatusCode, Value) {
    let secret = wa.webhook_secret(t);
    wa.post_webhook(body, Some(&secret), "").await
}

async fn post_raw(wa: &WaApp, body: String, query: &str) -> (StatusCode, Value) {
    let req = wa
        .app
        .request(
            reqwest::Method::POST,
            &format!("/api/webhook/evolution{query}"),
        )
        .header("content-type", "application/json")
        .body(body);
    call(req).await
}

#[tokio::test]
async fn an_anonymous_caller_is_judged_on_the_envelope_alone() {
    let wa = WaApp::spawn_with(nolose_evosim::SimConfig::fast(), Some(GLOBAL)).await;
    let t = wa.connected_tenant("ana@example.com").await;
    let zeros = "0,".repeat(1_900_000);
    let cases = [
        (
            "a huge data array",
            format!(r#"{{"instance":"{}","data":[{zeros}0]}}"#, t.instance),
            "",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a bare array",
            format!("[{zeros}0]"),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "data nested 200 levels",
            format!(
                r#"{{"instance":"x","data":{}{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
            "",
            StatusCode::BAD_REQUEST,
        ),
        (
            "an instance over 100 characters, even with the global token",
            format!(r#"{{"instance":"user_{}","data":{{}}}}"#, "1".repeat(100)),
            "?token=global-webhook-token-for-tests",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (case, body, query, want) in cases {
        let (status, answer) = post_raw(&wa, body, query).await;
        assert_eq!(status, want, "case {case}: {answer}");
        error_code(&answer);
    }
    assert!(wa.messages(&t).await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn one_malformed_record_does_not_lose_the_batch() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let jid = "5511988887777@s.whatsapp.net";
    let batch = json!([record("A1", jid, "one"), {"key": {}}, 7, "x", record("A2", jid, "two")]);
    let (status, answer) = post(&wa, &t, &envelope("messages.set", &t.instance, batch)).await;
    assert_eq!(
        (status, &answer["status"]),
        (StatusCode::OK, &json!("ok")),
        "{answer}"
    );
    let upsert = json!([{"key": null}, record("A3", jid, "three")]);
    let (status, answer) = post(&wa, &t, &envelope("messages.upsert", &t.instance, upsert)).await;
    assert_eq!(status, StatusCode::OK, "an upsert array too: {answer}");
    let contacts =
        json!([{"remoteJid": 5}, {"remoteJid": "5511977776666@s.whatsapp.net", "pushName": "Rui"}]);
    let (status, _) = post(&wa, &t, &envelope("contacts.upsert", &t.instance, contacts)).await;
    assert_eq!(status, StatusCode::OK, "contacts");
    let (_, listed) = wa.get(&t.token, "/api/evolution/contacts").await;
    assert_eq!(listed["total"], 2, "{listed}");
    assert_eq!(
        wa.messages(&t).await.len(),
        3,
        "the good records are stored"
    );
}

#[tokio::test]
async fn ids_and_jids_beyond_the_limits_are_ignored_and_long_text_is_cut() {
    let wa = WaApp::spawn().await;
    let t = wa.connected_tenant("ana@example.com").await;
    let (long_id, jid) = ("K".repeat(2_000), "5511988887777@s.whatsapp.net");
    let long_jid = format!("{}@s.whatsapp.net", "1".repeat(2_000));
    for (case, r) in [
        ("a 2,000-character key id", record(&long_id, jid, "hi")),
        ("a 2,000-character remoteJid", record("K1", &long_jid, "hi")),
    ] {
        let (status, answer) = post(&wa, &t, &envelope("messages.upsert", &t.instance, r)).await;
        assert_eq!(
            (status, &answer["status"]),
            (StatusCode::OK, &json!("ignored")),
            "case {case}"
        );
    }
    let mut long = record("K2", jid, &"é".repeat(200_000));
    long["pushName"] = "M".repeat(300).into();
    let (status, answer) = post(&wa, &t, &envelope("messages.upsert", &t.instance, long)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let messages = wa.messages(&t).await;
    assert_eq!(messages.len(), 1, "only the long text is stored");
    let content = messages[0]["content"].as_str().expect("content");
    assert_eq!(
        content.chars().count(),
        65_536,
        "stored cut at 65,536 characters"
    );
    let (_, listed) = wa.get(&t.token, "/api/evolution/contacts").await;
    let name = listed["contacts"][0]["profile_name"]
        .as_str()
        .expect("name");
    assert_eq!(name.chars().count(), 256, "push name cut at 256");
}
