//! The webhook parser on arbitrary bytes: envelope (what is read before
//! the caller is authorised), then the event, then each message's person.
//! Nothing may panic, and what comes out keeps API.md's limits.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use nolose_shared::domain::limits::{
    MAX_CONTENT_CHARS, MAX_JID_CHARS, MAX_KEY_ID_CHARS, MAX_NAME_CHARS,
};
use nolose_shared::evolution::events::{WebhookEvent, interpret, parse_envelope};
use nolose_shared::evolution::message::person_identity;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fuzz_target!(|body: &[u8]| {
    let Ok(envelope) = parse_envelope(body) else {
        return;
    };
    let now = DateTime::from_timestamp(1_761_047_000, 0).expect("a valid time");
    match interpret(&envelope, now) {
        WebhookEvent::Messages(messages) => {
            for m in &messages {
                assert!(chars(&m.key_id) <= MAX_KEY_ID_CHARS);
                assert!(chars(&m.remote_jid) <= MAX_JID_CHARS);
                assert!(m.content.as_deref().map_or(0, chars) <= MAX_CONTENT_CHARS);
                assert!(m.push_name.as_deref().map_or(0, chars) <= MAX_NAME_CHARS);
                let _ = person_identity(m);
            }
        }
        WebhookEvent::Contacts(contacts) => {
            for c in &contacts {
                assert!(chars(c.jid.as_str()) <= MAX_JID_CHARS);
                assert!(c.push_name.as_deref().map_or(0, chars) <= MAX_NAME_CHARS);
            }
        }
        WebhookEvent::StatusUpdate { key_id, .. } | WebhookEvent::Deleted { key_id } => {
            assert!(chars(&key_id) <= MAX_KEY_ID_CHARS);
        }
        _ => {}
    }
});
