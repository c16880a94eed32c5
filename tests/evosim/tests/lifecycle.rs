//! Instance lifecycle shapes (EVOLUTION.md §2, §9.2–§9.6).

mod common;

use common::{WAIT, open_instance, setup, setup_with};
use nolose_evosim::{ConnState, Outcome, Scan, SimConfig};
use serde_json::json;

#[tokio::test]
async fn create_answers_201_with_token_echoed_webhook_and_a_qr() {
    let (sim, rx, evo) = setup().await;
    let out = evo.create("acme", &rx.url).await;
    assert_eq!(out["instance"]["instanceName"], "acme");
    assert_eq!(out["instance"]["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(out["instance"]["status"], "connecting");
    let info = sim.instance("acme").expect("instance exists");
    assert_eq!(
        out["hash"],
        json!(info.token),
        "hash is the plain token string"
    );
    assert_eq!(out["webhook"]["webhookUrl"], json!(rx.url));
    assert_eq!(
        out["webhook"]["webhookHeaders"],
        json!({"x-webhook-secret": "s3cr3t"})
    );
    assert_eq!(out["qrcode"]["count"], 1);
    assert_eq!(out["qrcode"]["pairingCode"], json!(null));
    assert!(
        out["qrcode"]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("2@"))
    );
    assert!(
        out["qrcode"]["base64"]
            .as_str()
            .is_some_and(|b| b.starts_with("data:image/png;base64,"))
    );
    assert_eq!(out["settings"]["groupsIgnore"], false);
    assert_eq!(out["websocket"], json!({}));
}

#[tokio::test]
async fn create_without_qrcode_is_close_and_has_no_qrcode_field() {
    let (_sim, _rx, evo) = setup().await;
    let body = json!({"instanceName": "acme", "integration": "WHATSAPP-BAILEYS", "token": "tok-1"});
    let (status, out) = evo.post("/instance/create", body).await;
    assert_eq!(status, 201);
    assert_eq!(out["instance"]["status"], "close");
    assert_eq!(out["hash"], "tok-1");
    assert!(out.get("qrcode").is_none(), "{out}");
    assert_eq!(out["webhook"], json!({}));
}

#[tokio::test]
async fn connect_answers_count_zero_until_a_qr_exists() {
    let config = SimConfig {
        qr_delay: None,
        ..SimConfig::fast()
    };
    let (sim, _rx, evo) = setup_with(config).await;
    let body = json!({"instanceName": "acme", "integration": "WHATSAPP-BAILEYS"});
    evo.post("/instance/create", body).await;
    let (status, first) = evo.get("/instance/connect/acme").await;
    assert_eq!((status, first), (200, json!({"count": 0})));
    sim.emit_qr("acme").expect("qr");
    let (_, second) = evo.get("/instance/connect/acme").await;
    assert_eq!(second["count"], 1);
    assert!(second["code"].is_string());
}

#[tokio::test]
async fn connect_and_state_follow_the_scan() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let (_, state) = evo.get("/instance/connectionState/acme").await;
    assert_eq!(
        state,
        json!({"instance": {"instanceName": "acme", "state": "connecting"}})
    );
    let owner = sim
        .scan_qr(
            "acme",
            Scan {
                wuid: Some("5511999999999".into()),
                profile_name: Some("Acme".into()),
                ..Default::default()
            },
        )
        .expect("scan");
    assert_eq!(owner.wuid, "5511999999999@s.whatsapp.net");
    let (_, connect) = evo.get("/instance/connect/acme").await;
    assert_eq!(
        connect,
        json!({"instance": {"instanceName": "acme", "state": "open"}})
    );
    let (_, state) = evo.get("/instance/connectionState/acme").await;
    assert_eq!(state["instance"]["state"], "open");
    let opened = sim
        .wait_for(WAIT, |s| {
            s.deliveries_of("connection.update")
                .into_iter()
                .find(|d| d.body["data"]["state"] == "open" && d.outcome == Outcome::Delivered)
        })
        .await
        .expect("open is delivered");
    let data = &opened.body["data"];
    assert_eq!(data["wuid"], "5511999999999@s.whatsapp.net");
    assert_eq!(data["profileName"], "Acme");
    assert_eq!(data["statusReason"], 200);
    assert_eq!(opened.body["sender"], "5511999999999@s.whatsapp.net");
}

#[tokio::test]
async fn logout_succeeds_once_then_says_not_connected() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let (status, out) = evo
        .call("DELETE", "/instance/logout/acme", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        out,
        json!({"status":"SUCCESS","error":false,"response":{"message":"Instance logged out"}})
    );
    assert_eq!(sim.instance("acme").expect("kept").state, ConnState::Close);
    let (again, again_out) = evo
        .call("DELETE", "/instance/logout/acme", None, None)
        .await;
    assert_eq!(again, 400);
    assert_eq!(
        again_out["response"]["message"],
        json!(["The \"acme\" instance is not connected"])
    );
    let logout = sim
        .wait_for_deliveries("logout.instance", 1, WAIT)
        .await
        .expect("logout webhook");
    assert_eq!(logout[0].body["data"], json!(null));
}

#[tokio::test]
async fn delete_removes_the_instance_and_announces_it() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let (status, out) = evo
        .call("DELETE", "/instance/delete/acme", None, None)
        .await;
    assert_eq!(
        (status, out["response"]["message"].clone()),
        (200, json!("Instance deleted"))
    );
    let (after, _) = evo.get("/instance/connectionState/acme").await;
    assert_eq!(after, 404);
    let removed = sim
        .wait_for_deliveries("remove.instance", 1, WAIT)
        .await
        .expect("remove webhook");
    assert_eq!(removed[0].outcome, Outcome::Delivered);
}

#[tokio::test]
async fn fetch_instances_lists_rows_for_the_caller() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    evo.create("other", &rx.url).await;
    let (_, all) = evo.get("/instance/fetchInstances").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let token = sim.instance("acme").expect("acme").token;
    let (_, mine) = evo
        .call("GET", "/instance/fetchInstances", None, Some(&token))
        .await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["connectionStatus"], "open");
    assert_eq!(
        mine[0]["ownerJid"],
        json!(sim.instance("acme").and_then(|i| i.owner).map(|o| o.wuid))
    );
    let (missing, _) = evo.get("/instance/fetchInstances?instanceName=ghost").await;
    assert_eq!(missing, 404);
}

#[tokio::test]
async fn the_qr_limit_ends_in_refused_and_close() {
    let config = SimConfig {
        qr_limit: 2,
        ..SimConfig::fast()
    };
    let (sim, rx, evo) = setup_with(config).await;
    evo.create("acme", &rx.url).await;
    sim.emit_qr("acme").expect("second qr");
    let third = sim.emit_qr("acme").expect("limit");
    assert_eq!(third, nolose_evosim::QrIssued::LimitReached);
    assert_eq!(sim.instance("acme").expect("acme").state, ConnState::Close);
    let refused = sim
        .wait_for(WAIT, |s| {
            s.deliveries_of("connection.update")
                .into_iter()
                .find(|d| d.body["data"]["state"] == "refused")
        })
        .await
        .expect("refused is sent");
    assert_eq!(refused.body["data"]["statusReason"], 428);
}
