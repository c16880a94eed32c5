use serde_json::json;

use super::*;
use crate::domain::UserId;
use crate::evolution::gateway::WEBHOOK_EVENTS;

const PNG: &str = "data:image/png;base64,iVBOR";

fn target() -> WebhookTarget {
    WebhookTarget {
        url: "https://nolose.example/api/webhook/evolution".into(),
        secret: "s3cr3t".into(),
        events: WEBHOOK_EVENTS.to_vec(),
    }
}

#[test]
fn create_sends_the_nested_webhook_with_its_secret_and_events() {
    let body = create_body(&InstanceName::for_user(UserId::new(7)), &target());
    assert_eq!(body["instanceName"], "user_7");
    assert_eq!(body["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(body["qrcode"], true);
    let hook = &body["webhook"];
    assert_eq!(hook["byEvents"], false);
    assert_eq!(hook["base64"], false);
    assert_eq!(hook["headers"]["x-webhook-secret"], "s3cr3t");
    assert_eq!(hook["events"].as_array().map(Vec::len), Some(11));
    assert!(body.get("webhookUrl").is_none(), "no flat v1 names");
}

#[test]
fn set_webhook_sends_the_nested_block_enabled() {
    let body = webhook_body(&target());
    assert_eq!(body["webhook"]["enabled"], true);
    assert_eq!(body["webhook"]["url"], target().url);
    assert_eq!(body["webhook"]["headers"]["x-webhook-secret"], "s3cr3t");
    assert_eq!(body["webhook"]["events"][0], "QRCODE_UPDATED");
}

#[test]
fn find_messages_filters_one_jid_and_pages_by_offset() {
    let body = find_messages_body("5511988887777@s.whatsapp.net", 2, 30);
    let want = json!({"where": {"key": {"remoteJid": "5511988887777@s.whatsapp.net"}}, "page": 2, "offset": 30});
    assert_eq!(body, want);
}

#[test]
fn create_carries_a_qr_only_when_base64_is_there() {
    let with_qr = json!({"instance": {}, "qrcode": {"pairingCode": null, "code": "2@x", "base64": PNG, "count": 1}});
    let qr = Qr {
        base64: PNG.into(),
        pairing_code: None,
    };
    assert_eq!(created(&with_qr).ok(), Some(Created::New { qr: Some(qr) }));
    let count_only = json!({"instance": {}, "qrcode": {"count": 0}});
    assert_eq!(created(&count_only).ok(), Some(Created::New { qr: None }));
    let no_qrcode = json!({"instance": {}});
    assert_eq!(created(&no_qrcode).ok(), Some(Created::New { qr: None }));
    assert!(created(&json!({"hash": "x"})).is_err());
}

#[test]
fn connect_reads_each_documented_shape() {
    let qr = Qr {
        base64: PNG.into(),
        pairing_code: Some("ABCD1234".into()),
    };
    let cases = [
        (
            json!({"instance": {"instanceName": "user_1", "state": "open"}}),
            Some(Connect::Open),
        ),
        (
            json!({"pairingCode": "ABCD1234", "code": "2@x", "base64": PNG, "count": 3}),
            Some(Connect::Qr(qr)),
        ),
        (json!({"count": 0}), Some(Connect::NotReady)),
        (json!({"error": true, "message": "[object Object]"}), None),
        (json!({"something": "else"}), None),
    ];
    for (body, want) in cases {
        assert_eq!(connect(&body).ok(), want, "case {body}");
    }
}

#[test]
fn the_connect_failure_shape_is_a_rejection_not_a_qr() {
    let got = connect(&json!({"error": true, "message": "[object Object]"}));
    assert!(
        matches!(&got, Err(EvolutionError::Rejected { status: 200, message }) if message.contains("[object Object]")),
        "got {got:?}"
    );
}

#[test]
fn connection_state_without_a_state_is_closed() {
    let cases = [
        (
            json!({"instance": {"state": "open"}}),
            Some(RemoteState::Open),
        ),
        (
            json!({"instance": {"state": "connecting"}}),
            Some(RemoteState::Connecting),
        ),
        (
            json!({"instance": {"state": "close"}}),
            Some(RemoteState::Close),
        ),
        (
            json!({"instance": {"instanceName": "user_1"}}),
            Some(RemoteState::Close),
        ),
        (json!({"instance": {"state": "sleeping"}}), None),
        (json!([]), None),
    ];
    for (body, want) in cases {
        assert_eq!(remote_state(&body).ok(), want, "case {body}");
    }
}

#[test]
fn a_messages_page_keeps_records_total_and_the_raw_answer() {
    let body = json!({"messages": {"total": 412, "pages": 14, "currentPage": 1, "records": [{"key": {"id": "A"}}]}});
    let page = messages_page(body.clone()).expect("documented shape");
    assert_eq!(page.total, 412);
    assert_eq!(page.records, vec![json!({"key": {"id": "A"}})]);
    assert_eq!(page.raw, body);
    assert!(messages_page(json!([])).is_err(), "the v1 plain array");
}

#[test]
fn lists_and_send_answers_need_their_shape() {
    assert_eq!(
        array(json!([1, 2]), "findChats").ok(),
        Some(vec![json!(1), json!(2)])
    );
    assert!(array(json!({"records": []}), "findChats").is_err());
    assert!(sent_record(json!({"key": {"id": "3EB0AB"}})).is_ok());
    assert!(sent_record(json!({"status": "PENDING"})).is_err());
}
