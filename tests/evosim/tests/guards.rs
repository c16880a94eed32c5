//! Evolution's guard order and error envelope (EVOLUTION.md §1.2–§1.3, §9.1).

mod common;

use common::{Evo, setup};
use serde_json::json;

#[tokio::test]
async fn unknown_instance_is_404_even_without_a_key() {
    let (_sim, _rx, evo) = setup().await;
    let (status, body) = evo
        .call("GET", "/instance/connectionState/ghost", None, Some(""))
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"status":404,"error":"Not Found","response":{"message":["The \"ghost\" instance does not exist"]}})
    );
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_with_a_string_message() {
    let (_sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let expected =
        json!({"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}});
    for (case, key) in [("no key", ""), ("wrong key", "nope")] {
        let (status, body) = evo
            .call("GET", "/instance/connectionState/acme", None, Some(key))
            .await;
        assert_eq!((status, &body), (401, &expected), "{case}");
    }
}

#[tokio::test]
async fn instance_token_opens_only_its_own_instance() {
    let (_sim, rx, evo) = setup().await;
    let acme = evo.create("acme", &rx.url).await;
    evo.create("other", &rx.url).await;
    let token = acme["hash"].as_str().expect("hash is the token string");
    let (own, _) = evo
        .call("GET", "/instance/connectionState/acme", None, Some(token))
        .await;
    let (foreign, _) = evo
        .call("GET", "/instance/connectionState/other", None, Some(token))
        .await;
    let create = json!({"instanceName": "x", "integration": "WHATSAPP-BAILEYS"});
    let (create_status, _) = evo
        .call("POST", "/instance/create", Some(create), Some(token))
        .await;
    assert_eq!((own, foreign, create_status), (200, 401, 401));
}

#[tokio::test]
async fn a_taken_name_is_403_before_the_key_is_checked() {
    let (_sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let body = json!({"instanceName": "acme", "integration": "WHATSAPP-BAILEYS"});
    let (status, out) = evo
        .call("POST", "/instance/create", Some(body), Some(""))
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        out["response"]["message"],
        json!(["This name \"acme\" is already in use."])
    );
}

#[tokio::test]
async fn create_requires_a_known_integration() {
    let (_sim, _rx, evo) = setup().await;
    let (status, out) = evo
        .post("/instance/create", json!({"instanceName": "acme"}))
        .await;
    assert_eq!(
        (status, out["response"]["message"].clone()),
        (400, json!(["Invalid integration"]))
    );
}

#[tokio::test]
async fn schema_errors_are_arrays_of_arrays() {
    let (_sim, _rx, evo) = setup().await;
    let body = json!({"instanceName": "acme", "integration": "WHATSAPP-BAILEYS", "qrcode": "yes"});
    let (status, out) = evo.post("/instance/create", body).await;
    assert_eq!(status, 400);
    assert_eq!(
        out["response"]["message"],
        json!([["qrcode is not of type \"boolean\""]])
    );
}

#[tokio::test]
async fn create_without_webhook_events_fails_and_leaves_no_instance() {
    let (sim, rx, evo) = setup().await;
    let body = json!({"instanceName": "acme", "integration": "WHATSAPP-BAILEYS",
                      "webhook": {"url": rx.url, "byEvents": false}});
    let (status, out) = evo.post("/instance/create", body).await;
    assert_eq!(status, 400);
    assert_eq!(
        out["response"]["message"],
        json!(["Cannot read properties of undefined (reading 'length')"])
    );
    assert!(
        sim.instance("acme").is_none(),
        "the half-created instance is removed"
    );
}

#[tokio::test]
async fn webhook_set_rejects_the_flat_body_and_crashes_without_events() {
    let (_sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let (flat, flat_out) = evo
        .post("/webhook/set/acme", json!({"url": rx.url, "enabled": true}))
        .await;
    assert_eq!(flat, 400);
    assert_eq!(
        flat_out["response"]["message"],
        json!([["instance requires property \"webhook\""]])
    );
    let no_events = json!({"webhook": {"enabled": true, "url": rx.url}});
    let (status, out) = evo.post("/webhook/set/acme", no_events).await;
    assert_eq!(status, 500);
    assert_eq!(
        out["response"]["message"],
        json!("Cannot read properties of undefined (reading 'length')")
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_get_express_404() {
    let (_sim, _rx, evo) = setup().await;
    let cases = [
        ("POST", "/nope", "Cannot POST /nope"),
        ("GET", "/instance/create", "Cannot GET /instance/create"),
    ];
    for (method, path, message) in cases {
        let (status, out) = evo.call(method, path, None, None).await;
        assert_eq!(
            (status, out["response"]["message"].clone()),
            (404, json!([message])),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn the_control_api_needs_the_global_key() {
    let (sim, _rx, _evo) = setup().await;
    let evo = Evo::new(&sim);
    let (status, out) = evo.call("GET", "/_sim/instances", None, Some("nope")).await;
    assert_eq!(status, 401, "{out}");
    let (status, _) = evo.get("/_sim/instances").await;
    assert_eq!(status, 200);
}
