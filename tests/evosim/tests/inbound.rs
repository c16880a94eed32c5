//! Injected WhatsApp traffic (EVOLUTION.md §5.5, §6).

mod common;

use common::{WAIT, open_instance, setup};
use nolose_evosim::{Incoming, Kind, SimError};
use serde_json::json;

fn incoming(from: &str) -> Incoming {
    Incoming {
        from: from.into(),
        text: Some("hello".into()),
        push_name: Some("Maria".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn media_with_caption_and_documents_have_prepared_shapes() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let cases = [
        (Kind::Image, "imageMessage", "caption", json!("look")),
        (Kind::Video, "videoMessage", "caption", json!("look")),
        (
            Kind::Document,
            "documentMessage",
            "fileName",
            json!("invoice.pdf"),
        ),
    ];
    for (kind, message_type, field, want) in cases {
        let req = Incoming {
            kind,
            text: Some("look".into()),
            file_name: Some("invoice.pdf".into()),
            ..incoming("5511988887777")
        };
        let out = sim.inject("acme", req).expect("inject");
        let msg = out.message.expect("stored");
        assert_eq!(msg["messageType"], message_type, "{kind:?}");
        assert_eq!(msg["message"][message_type][field], want, "{kind:?}");
        assert!(
            msg["message"][message_type]["fileLength"].is_string(),
            "64-bit field as a string"
        );
    }
}

#[tokio::test]
async fn group_messages_carry_the_participant() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let req = Incoming {
        participant: Some("5511977776666".into()),
        ..incoming("120363000000000001@g.us")
    };
    let out = sim.inject("acme", req).expect("inject");
    let key = &out.message.expect("stored")["key"];
    assert_eq!(key["remoteJid"], "120363000000000001@g.us");
    assert_eq!(key["participant"], "5511977776666@s.whatsapp.net");
}

#[tokio::test]
async fn groups_are_dropped_when_groups_ignore_is_on() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let settings = json!({"rejectCall": false, "groupsIgnore": true, "alwaysOnline": false,
                          "readMessages": false, "readStatus": false, "syncFullHistory": false});
    let (status, _) = evo.post("/settings/set/acme", settings).await;
    assert_eq!(status, 201);
    let out = sim
        .inject("acme", incoming("120363000000000001@g.us"))
        .expect("inject");
    assert!(out.ignored.is_some() && out.deliveries.is_empty());
}

#[tokio::test]
async fn lid_chats_keep_the_lid_and_carry_remote_jid_alt() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let req = Incoming {
        remote_jid_alt: Some("5511988887777".into()),
        ..incoming("123456789012345@lid")
    };
    sim.inject("acme", req).expect("inject");
    let done = sim
        .wait_for_deliveries("messages.upsert", 1, WAIT)
        .await
        .expect("delivered");
    let key = &done[0].body["data"]["key"];
    assert_eq!(key["remoteJid"], "123456789012345@lid");
    assert_eq!(key["remoteJidAlt"], "5511988887777@s.whatsapp.net");
    assert_eq!(key["addressingMode"], "lid");
}

#[tokio::test]
async fn contacts_upsert_is_a_single_object_then_update() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    sim.inject("acme", incoming("5511988887777"))
        .expect("first");
    sim.inject("acme", incoming("5511988887777"))
        .expect("second");
    let upsert = sim
        .wait_for_deliveries("contacts.upsert", 1, WAIT)
        .await
        .expect("upsert");
    let update = sim
        .wait_for_deliveries("contacts.update", 1, WAIT)
        .await
        .expect("update");
    assert!(
        upsert[0].body["data"].is_object(),
        "single object, not an array"
    );
    assert_eq!(upsert[0].body["data"]["pushName"], "Maria");
    assert_eq!(
        update[0].body["data"]["remoteJid"],
        "5511988887777@s.whatsapp.net"
    );
}

#[tokio::test]
async fn the_same_key_id_within_five_minutes_is_a_duplicate() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let req = Incoming {
        id: Some("3A0000000000000000AA".into()),
        ..incoming("5511988887777")
    };
    let first = sim.inject("acme", req.clone()).expect("first");
    let second = sim.inject("acme", req).expect("second");
    assert!(first.ignored.is_none());
    assert!(
        second
            .ignored
            .as_deref()
            .is_some_and(|r| r.contains("duplicated"))
    );
}

#[tokio::test]
async fn receipts_and_revokes_have_evolution_shapes() {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let id = sim
        .inject("acme", incoming("5511988887777"))
        .expect("inject")
        .key_id;
    sim.update_status("acme", &id, "READ").expect("read");
    let again = sim
        .update_status("acme", &id, "READ")
        .expect("duplicate receipt");
    assert!(
        again.skipped.is_some(),
        "same (keyId, status) is suppressed"
    );
    let update = sim
        .wait_for_deliveries("messages.update", 1, WAIT)
        .await
        .expect("update");
    let data = &update[0].body["data"];
    assert_eq!(
        (
            data["keyId"].clone(),
            data["status"].clone(),
            data["fromMe"].clone()
        ),
        (json!(id), json!("READ"), json!(false))
    );
    assert!(data["messageId"].is_string());
    sim.revoke("acme", &id).expect("revoke");
    let deleted = sim
        .wait_for_deliveries("messages.delete", 1, WAIT)
        .await
        .expect("delete");
    assert_eq!(
        deleted[0].body["data"],
        json!({"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": false, "id": id})
    );
    let unknown = sim.update_status("acme", "NOPE", "READ");
    assert!(matches!(unknown, Err(SimError::NotFound(_))), "{unknown:?}");
}
