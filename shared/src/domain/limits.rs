//! The sizes API.md ("Limits and hostile input") allows for what WhatsApp
//! sends us, in one place so that the webhook, the history sync and the send
//! path store the same thing. Ids and JIDs beyond their limit can never be a
//! real WhatsApp value (and would break DynamoDB's key limits): the record is
//! skipped. Text and names beyond theirs are real but absurd: stored cut.

/// `key.id`: WhatsApp's are ~20–40 characters.
pub const MAX_KEY_ID_CHARS: usize = 128;
/// `remoteJid`, `remoteJidAlt`, a contact's JID.
pub const MAX_JID_CHARS: usize = 100;
/// Text, caption, file name (WhatsApp's own limit on a message's text).
pub const MAX_CONTENT_CHARS: usize = 65_536;
/// `pushName`, a contact's name.
pub const MAX_NAME_CHARS: usize = 256;

/// Is `s` longer than `max` characters? Counts no further than needed.
pub fn longer_than(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().nth(max).is_some()
}

/// `s` cut at `max` characters (never inside a character).
pub fn cut(mut s: String, max: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
    s
}

/// A message's text, caption or file name as stored.
pub fn cut_content(s: String) -> String {
    cut(s, MAX_CONTENT_CHARS)
}

/// A push name or contact name as stored.
pub fn cut_name(s: String) -> String {
    cut(s, MAX_NAME_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_counts_characters_not_bytes() {
        assert_eq!(cut("ação".into(), 2), "aç");
        assert_eq!(cut("abc".into(), 3), "abc");
        assert_eq!(cut_content("é".repeat(70_000)).chars().count(), 65_536);
        assert_eq!(cut_name("x".repeat(300)).len(), 256);
    }

    #[test]
    fn length_checks_count_characters() {
        assert!(!longer_than(&"é".repeat(100), 100), "200 bytes, 100 chars");
        assert!(longer_than(&"a".repeat(101), 100));
    }
}
