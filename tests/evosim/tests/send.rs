//! `sendText` (EVOLUTION.md §4.1, §9.9).

mod common;

use common::{WAIT, open_instance, setup};
use serde_json::json;

#[tokio::test]
async fn send_text_answers_201_with_the_normalised_brazilian_jid() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let (status, out) = evo
        .post(
            "/message/sendText/acme",
            json!({"number": "5531988887777", "text": "Olá"}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(
        out["key"]["remoteJid"], "553188887777@s.whatsapp.net",
        "9th digit dropped for DDD 31"
    );
    assert_eq!(out["key"]["fromMe"], true);
    let id = out["key"]["id"].as_str().expect("key.id");
    assert!(
        id.starts_with("3EB0") && id.len() == 22,
        "Baileys-shaped id {id}"
    );
    assert_eq!(out["status"], "PENDING");
    assert_eq!(out["pushName"], "Você");
    assert_eq!(out["messageType"], "conversation");
    assert_eq!(out["message"], json!({"conversation": "Olá"}));
    assert_eq!(out["source"], "web");
    assert!(out["messageTimestamp"].is_i64());
    assert_eq!(
        sim.calls_to("message/sendText").len(),
        1,
        "sendText was called exactly once"
    );
}

#[tokio::test]
async fn numbers_below_ddd_31_keep_their_ninth_digit() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let (_, out) = evo
        .post(
            "/message/sendText/acme",
            json!({"number": "+55 (11) 98888-7777", "text": "hi"}),
        )
        .await;
    assert_eq!(out["key"]["remoteJid"], "5511988887777@s.whatsapp.net");
}

#[tokio::test]
async fn a_number_not_on_whatsapp_gets_exists_false() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    sim.set_on_whatsapp("5511911112222", false);
    let (status, out) = evo
        .post(
            "/message/sendText/acme",
            json!({"number": "5511911112222", "text": "hi"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        out["response"]["message"],
        json!([{"jid": "5511911112222@s.whatsapp.net", "exists": false, "number": "5511911112222"}])
    );
}

#[tokio::test]
async fn send_text_errors_in_evolution_order() {
    let (sim, rx, evo) = setup().await;
    evo.create("acme", &rx.url).await;
    let cases = [
        (
            "missing text",
            json!({"number": "5511988887777"}),
            400,
            json!([["instance requires property \"text\""]]),
        ),
        (
            "blank text",
            json!({"number": "5511988887777", "text": "  "}),
            400,
            json!(["Text is required"]),
        ),
        (
            "not connected",
            json!({"number": "5511988887777", "text": "hi"}),
            500,
            json!("Connection Closed"),
        ),
    ];
    for (case, body, status, message) in cases {
        let (got, out) = evo.post("/message/sendText/acme", body).await;
        assert_eq!(
            (got, out["response"]["message"].clone()),
            (status, message),
            "{case}"
        );
    }
    assert_eq!(
        sim.messages("acme").expect("acme").len(),
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn an_api_send_emits_send_message_not_messages_upsert() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let (_, out) = evo
        .post(
            "/message/sendText/acme",
            json!({"number": "5511988887777", "text": "hi"}),
        )
        .await;
    let sent = sim
        .wait_for_deliveries("send.message", 1, WAIT)
        .await
        .expect("send.message");
    assert_eq!(sent[0].body["data"]["key"]["id"], out["key"]["id"]);
    assert_eq!(
        sent[0].body["data"], out,
        "webhook data equals the HTTP answer"
    );
    assert!(sim.deliveries_of("messages.upsert").is_empty());
}

#[tokio::test]
async fn lid_and_group_targets_skip_the_whatsapp_check() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    for number in ["123456789012345@lid", "120363000000000001@g.us"] {
        let (status, out) = evo
            .post(
                "/message/sendText/acme",
                json!({"number": number, "text": "hi"}),
            )
            .await;
        assert_eq!(
            (status, out["key"]["remoteJid"].clone()),
            (201, json!(number)),
            "{number}"
        );
    }
}
