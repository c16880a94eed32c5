//! Sync reads (EVOLUTION.md §3, §9.7–§9.8).

mod common;

use common::{open_instance, setup};
use nolose_evosim::{Incoming, Seed, seeded_jid, seeded_key_id};
use serde_json::{Value, json};

fn key_ids(records: &Value) -> Vec<String> {
    records
        .as_array()
        .expect("records array")
        .iter()
        .map(|r| r["key"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn seeded() -> (nolose_evosim::EvoSim, common::Receiver, common::Evo) {
    let (sim, rx, evo) = setup().await;
    open_instance(&sim, &evo, &rx, "acme").await;
    let seed = Seed {
        contacts: 3,
        chats: 2,
        messages_per_chat: 75,
        base_timestamp: None,
    };
    let added = sim.seed("acme", seed).expect("seed");
    assert_eq!((added.contacts, added.chats, added.messages), (3, 2, 150));
    (sim, rx, evo)
}

#[tokio::test]
async fn find_messages_pages_with_offset_and_ignores_limit() {
    let (_sim, _rx, evo) = seeded().await;
    let jid = seeded_jid(1);
    let body = json!({"where": {"key": {"remoteJid": jid}}, "limit": 10, "page": 1, "offset": 30});
    let (status, out) = evo.post("/chat/findMessages/acme", body).await;
    assert_eq!(status, 200);
    let page = &out["messages"];
    assert_eq!(
        (
            page["total"].clone(),
            page["pages"].clone(),
            page["currentPage"].clone()
        ),
        (json!(75), json!(3), json!(1))
    );
    let want: Vec<String> = (46..=75).rev().map(|m| seeded_key_id(1, m)).collect();
    assert_eq!(
        key_ids(&page["records"]),
        want,
        "the 30 newest, newest first"
    );
    let last = json!({"where": {"key": {"remoteJid": jid}}, "page": 3, "offset": 30});
    let (_, out) = evo.post("/chat/findMessages/acme", last).await;
    assert_eq!(
        out["messages"]["records"].as_array().map(Vec::len),
        Some(15)
    );
}

#[tokio::test]
async fn find_messages_defaults_to_50_and_records_have_db_ids() {
    let (_sim, _rx, evo) = seeded().await;
    let (_, out) = evo.post("/chat/findMessages/acme", json!({})).await;
    let records = out["messages"]["records"].as_array().expect("records");
    assert_eq!(records.len(), 50);
    assert_eq!(out["messages"]["total"], 150);
    let first = &records[0];
    assert_eq!(
        first["key"]["id"],
        json!(seeded_key_id(2, 75)),
        "newest of the newest chat"
    );
    assert_ne!(
        first["id"], first["key"]["id"],
        "record id is Evolution's DB id"
    );
    assert!(first["MessageUpdate"].is_array());
    assert!(
        first.get("status").is_none(),
        "findMessages does not select status"
    );
    assert!(first["messageTimestamp"].is_i64());
}

#[tokio::test]
async fn find_messages_quirks_from_me_false_exact_jid_and_half_ranges() {
    let (_sim, _rx, evo) = seeded().await;
    let jid = seeded_jid(1);
    let count = |out: &Value| out["messages"]["total"].as_i64().unwrap_or(-1);
    let cases = [
        (
            "fromMe false filters nothing",
            json!({"where": {"key": {"remoteJid": jid, "fromMe": false}}}),
            75,
        ),
        (
            "fromMe true filters",
            json!({"where": {"key": {"remoteJid": jid, "fromMe": true}}}),
            18,
        ),
        (
            "digits are not normalised",
            json!({"where": {"key": {"remoteJid": "5511900000001"}}}),
            0,
        ),
        (
            "gte alone is ignored",
            json!({"where": {"key": {"remoteJid": jid}, "messageTimestamp": {"gte": "2030-01-01T00:00:00Z"}}}),
            75,
        ),
        (
            "both bounds filter (ms)",
            json!({"where": {"key": {"remoteJid": jid}, "messageTimestamp": {"gte": 1_760_000_000_000_i64, "lte": 1_760_000_000_000_i64 + 9 * 60_000}}}),
            10,
        ),
    ];
    for (case, body, want) in cases {
        let (status, out) = evo.post("/chat/findMessages/acme", body).await;
        assert_eq!((status, count(&out)), (200, want), "{case}");
    }
}

#[tokio::test]
async fn find_chats_is_a_plain_array_of_chats_with_messages_newest_first() {
    let (sim, _rx, evo) = seeded().await;
    sim.seed(
        "acme",
        Seed {
            chats: 3,
            ..Default::default()
        },
    )
    .expect("chat 3 without messages");
    let (status, out) = evo.post("/chat/findChats/acme", json!({})).await;
    assert_eq!(status, 200);
    let chats = out.as_array().expect("plain array");
    assert_eq!(chats.len(), 2, "a chat without messages is not listed");
    assert_eq!(chats[0]["remoteJid"], json!(seeded_jid(2)));
    assert_eq!(
        chats[0]["lastMessage"]["key"]["id"],
        json!(seeded_key_id(2, 75))
    );
    assert_eq!(chats[0]["pushName"], "Contact 2");
    assert_eq!(chats[0]["isSaved"], true);
    let (_, paged) = evo
        .post("/chat/findChats/acme", json!({"take": 1, "skip": 1}))
        .await;
    assert_eq!(paged[0]["remoteJid"], json!(seeded_jid(1)));
}

#[tokio::test]
async fn find_contacts_pages_and_types_rows() {
    let (sim, _rx, evo) = seeded().await;
    sim.inject(
        "acme",
        Incoming {
            from: "120363000000000001@g.us".into(),
            participant: Some("5511977776666".into()),
            text: Some("hi".into()),
            silent: true,
            ..Default::default()
        },
    )
    .expect("group message");
    let (_, all) = evo.post("/chat/findContacts/acme", json!({})).await;
    let rows = all.as_array().expect("array");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["type"], "contact");
    assert_eq!(rows[3]["type"], "group");
    let (_, page) = evo
        .post("/chat/findContacts/acme", json!({"page": 2, "offset": 2}))
        .await;
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    let (_, one) = evo
        .post(
            "/chat/findContacts/acme",
            json!({"where": {"remoteJid": "5511900000002"}}),
        )
        .await;
    assert_eq!(
        one[0]["remoteJid"],
        json!(seeded_jid(2)),
        "findContacts normalises digits"
    );
}
