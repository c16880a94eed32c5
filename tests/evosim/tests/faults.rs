//! Fault injection and the HTTP control API.

mod common;

use common::{Evo, open_instance, setup};
use nolose_evosim::DownMode;
use serde_json::json;

fn send_body() -> serde_json::Value {
    json!({"number": "5511988887777", "text": "hi"})
}

#[tokio::test]
async fn the_next_n_calls_to_an_endpoint_fail_then_it_recovers() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    sim.fail_next(Some("message/sendText"), 2, 500);
    let (state, _) = evo.get("/instance/connectionState/acme").await;
    assert_eq!(state, 200, "other endpoints are untouched");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(evo.post("/message/sendText/acme", send_body()).await.0);
    }
    assert_eq!(statuses, vec![500, 500, 201]);
    let calls = sim.calls_to("message/sendText");
    assert_eq!(
        calls.iter().map(|c| c.faulted).collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert_eq!(
        sim.messages("acme").expect("acme").len(),
        1,
        "faulted calls did nothing"
    );
}

#[tokio::test]
async fn unavailable_answers_503_text_and_refuse_closes_the_port() {
    let (sim, _rx, evo) = setup().await;
    sim.set_down(DownMode::Unavailable);
    let (status, body) = evo.get("/").await;
    assert_eq!((status, body), (503, json!("Service Unavailable")));
    let (control, _) = evo.get("/_sim/instances").await;
    assert_eq!(control, 200, "the control API stays up");
    sim.set_down(DownMode::Refuse);
    let closed = sim
        .wait_for(common::WAIT, |_| {
            std::net::TcpStream::connect(sim.addr()).err().map(|_| ())
        })
        .await;
    assert!(closed.is_ok(), "the port closes");
    let fresh = reqwest::Client::new();
    let outcome = fresh.get(format!("{}/", sim.base_url())).send().await;
    assert!(
        outcome.is_err_and(|e| e.is_connect()),
        "connection refused while down"
    );
    sim.set_down(DownMode::Up);
    let back = sim
        .wait_for(common::WAIT, |_| {
            std::net::TcpStream::connect(sim.addr()).ok().map(|_| ())
        })
        .await;
    assert!(back.is_ok(), "the port reopens");
    let (status, _) = Evo::new(&sim).get("/").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_control_api_drives_the_phone_side() {
    let (_sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let (scan, owner) = evo
        .post(
            "/_sim/instances/acme/scan",
            json!({"wuid": "5511999999999", "profileName": "Acme"}),
        )
        .await;
    assert_eq!(
        (scan, owner["wuid"].clone()),
        (200, json!("5511999999999@s.whatsapp.net"))
    );
    let (seed, seeded) = evo
        .post(
            "/_sim/instances/acme/seed",
            json!({"contacts": 2, "chats": 1, "messagesPerChat": 5}),
        )
        .await;
    assert_eq!(
        (seed, seeded),
        (200, json!({"contacts": 2, "chats": 1, "messages": 5}))
    );
    let (inject, injected) = evo
        .post(
            "/_sim/instances/acme/messages",
            json!({"from": "5511988887777", "kind": "image", "text": "cap"}),
        )
        .await;
    assert_eq!(inject, 200, "{injected}");
    let key_id = injected["keyId"].as_str().expect("keyId").to_owned();
    let (status, _) = evo
        .post(
            "/_sim/instances/acme/status",
            json!({"keyId": key_id, "status": "READ"}),
        )
        .await;
    assert_eq!(status, 200);
    let (fault, _) = evo
        .post(
            "/_sim/faults",
            json!({"endpoint": "chat/findChats", "count": 1, "status": 502}),
        )
        .await;
    assert_eq!(fault, 200);
    let (chats, _) = evo.post("/chat/findChats/acme", json!({})).await;
    assert_eq!(chats, 502);
    let (_, calls) = evo.get("/_sim/calls?endpoint=chat/findChats").await;
    assert_eq!(calls.as_array().map(Vec::len), Some(1));
    let (_, hooks) = evo.get("/_sim/webhooks?event=messages.update").await;
    let id = hooks[0]["id"].as_u64().expect("delivery id");
    let (replay, _) = evo
        .post(&format!("/_sim/webhooks/{id}/replay"), json!({}))
        .await;
    assert_eq!(replay, 200);
    let (unknown, err) = evo.post("/_sim/instances/ghost/scan", json!({})).await;
    assert_eq!((unknown, err["error"].is_string()), (404, true));
}
