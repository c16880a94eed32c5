//! Event naming (EVOLUTION.md §5.1): payloads carry dotted lower-case names,
//! filters use UPPER_SNAKE, `byEvents` URLs use kebab-case. The conversions are
//! Evolution's own string rewrites, so quirks such as `groups.update` →
//! `GROUPS_UPDATE` (never subscribable) fall out of them unchanged.

/// Dotted event names the simulator emits.
pub mod name {
    pub const INSTANCE_CREATE: &str = "instance.create";
    pub const INSTANCE_DELETE: &str = "instance.delete";
    pub const QRCODE_UPDATED: &str = "qrcode.updated";
    pub const CONNECTION_UPDATE: &str = "connection.update";
    pub const STATUS_INSTANCE: &str = "status.instance";
    pub const LOGOUT_INSTANCE: &str = "logout.instance";
    pub const REMOVE_INSTANCE: &str = "remove.instance";
    pub const MESSAGES_UPSERT: &str = "messages.upsert";
    pub const MESSAGES_UPDATE: &str = "messages.update";
    pub const MESSAGES_DELETE: &str = "messages.delete";
    pub const SEND_MESSAGE: &str = "send.message";
    pub const CONTACTS_UPSERT: &str = "contacts.upsert";
    pub const CONTACTS_UPDATE: &str = "contacts.update";
    pub const CHATS_UPSERT: &str = "chats.upsert";
}

/// `EventController.events`: what an empty `events` list expands to, and what
/// `/webhook/set` accepts.
pub const ALL_EVENTS: &[&str] = &[
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
];

/// Events the global webhook can never send: its env map lacks these keys.
pub const NOT_GLOBAL: &[&str] = &["REMOVE_INSTANCE", "LOGOUT_INSTANCE", "STATUS_INSTANCE"];

/// `messages.upsert` → `MESSAGES_UPSERT` (replace `.` and `-` by `_`, upper-case).
pub fn filter_name(event: &str) -> String {
    event.replace(['.', '-'], "_").to_uppercase()
}

/// `messages.upsert` → `messages-upsert`, the `byEvents` path suffix.
pub fn path_suffix(event: &str) -> String {
    filter_name(event).replace('_', "-").to_lowercase()
}

/// `events` as stored: `[]` means every event.
pub fn expand(events: Vec<String>) -> Vec<String> {
    if events.is_empty() {
        ALL_EVENTS.iter().map(|e| (*e).to_owned()).collect()
    } else {
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert_like_evolution() {
        assert_eq!(filter_name("messages.upsert"), "MESSAGES_UPSERT");
        assert_eq!(path_suffix("messages.upsert"), "messages-upsert");
        assert_eq!(
            filter_name("group-participants.update"),
            "GROUP_PARTICIPANTS_UPDATE"
        );
        assert_eq!(path_suffix("send.message"), "send-message");
        assert_eq!(filter_name("groups.update"), "GROUPS_UPDATE");
        assert!(!ALL_EVENTS.contains(&"GROUPS_UPDATE"));
    }
}
