//! The Evolution gateway port: what the handlers and jobs ask of Evolution
//! API v2, in our words. [`HttpEvolution`](super::HttpEvolution) is the one
//! production implementation; tests run it against `evosim` over HTTP.
//!
//! Errors are typed so that one place decides the HTTP answer and the retry
//! policy: [`EvolutionError::Unavailable`] (unreachable, timed out, a proxy's
//! 502/503/504) is a 503 and transient; [`EvolutionError::Rejected`] (Evolution
//! itself answered an error) is a 502 and transient only for 5xx and 429;
//! [`EvolutionError::NotOnWhatsApp`] is a 422; [`EvolutionError::InstanceNotFound`]
//! means Evolution does not know the instance (disconnected).

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::InstanceName;

/// The webhook Evolution should call for one instance (API.md: nested
/// `webhook` block, `byEvents: false`, `base64: false`, the secret header).
#[derive(Clone)]
pub struct WebhookTarget {
    pub url: String,
    /// Sent by Evolution in `x-webhook-secret` on every call.
    pub secret: String,
    /// UPPER_SNAKE event names; always sent (EVOLUTION.md §2.1 gotcha).
    pub events: Vec<&'static str>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// The events API.md subscribes at create.
pub const WEBHOOK_EVENTS: [&str; 11] = [
    "QRCODE_UPDATED",
    "CONNECTION_UPDATE",
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "CHATS_UPSERT",
    "LOGOUT_INSTANCE",
    "REMOVE_INSTANCE",
];

/// A QR to show (`base64` is a `data:image/png;base64,…` URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    pub base64: String,
    pub pairing_code: Option<String>,
}

/// What `POST /instance/create` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A new instance; its QR when Evolution already had one.
    New { qr: Option<Qr> },
    /// Evolution's 403 "name already in use": not an error for us.
    AlreadyExists,
}

/// What `GET /instance/connect` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// The instance is `open`: nothing to scan.
    Open,
    Qr(Qr),
    /// `{"count": N}` without a code: no QR yet.
    NotReady,
}

/// `connectionState`'s `state` (`refused` only ever arrives by webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteState {
    Open,
    Connecting,
    Close,
}

/// One `findMessages` page: the records as Evolution sent them (parse with
/// [`parse_record`](super::message::parse_record)) and the whole answer for
/// the raw debug route.
#[derive(Debug, Clone)]
pub struct MessagesPage {
    pub records: Vec<Value>,
    pub total: u64,
    pub raw: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum EvolutionError {
    /// Unreachable, timed out, or a proxy in front of it answered 502/503/504.
    #[error("Evolution API is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Evolution does not know the instance (404).
    #[error("Evolution API does not know the instance")]
    InstanceNotFound,
    /// `sendText` to a number that is not on WhatsApp (400 `exists: false`).
    #[error("the number is not on WhatsApp")]
    NotOnWhatsApp,
    /// Evolution answered an error status; `message` is its `response.message`
    /// flattened to text (for logs only: never sent to a client).
    #[error("Evolution API answered {status}: {message}")]
    Rejected { status: u16, message: String },
    /// A 2xx whose body is not the shape EVOLUTION.md describes.
    #[error("unexpected answer from Evolution API: {0}")]
    Unexpected(String),
}

impl EvolutionError {
    /// Worth retrying later (timeouts, 5xx, 429); the rest fails for good.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Rejected { status, .. } => *status >= 500 || *status == 429,
            Self::InstanceNotFound | Self::NotOnWhatsApp | Self::Unexpected(_) => false,
        }
    }
}

pub type EvolutionResult<T> = Result<T, EvolutionError>;

/// Evolution API v2, per instance (the path parameter is the instance name).
#[async_trait]
pub trait Evolution: Send + Sync + 'static {
    /// `POST /instance/create` with `integration: WHATSAPP-BAILEYS`,
    /// `qrcode: true` and the nested `webhook` block.
    async fn create_instance(
        &self,
        name: &InstanceName,
        webhook: &WebhookTarget,
    ) -> EvolutionResult<Created>;
    /// `POST /webhook/set/{name}` (nested body, `enabled: true`).
    async fn set_webhook(
        &self,
        name: &InstanceName,
        webhook: &WebhookTarget,
    ) -> EvolutionResult<()>;
    /// `GET /instance/connect/{name}`.
    async fn connect(&self, name: &InstanceName) -> EvolutionResult<Connect>;
    /// `GET /instance/connectionState/{name}`.
    async fn connection_state(&self, name: &InstanceName) -> EvolutionResult<RemoteState>;
    /// `DELETE /instance/logout/{name}`; "not connected" (400) is success.
    async fn logout(&self, name: &InstanceName) -> EvolutionResult<()>;
    /// `DELETE /instance/delete/{name}`.
    async fn delete_instance(&self, name: &InstanceName) -> EvolutionResult<()>;
    /// `POST /chat/findContacts/{name}`, one page (`page` is 1-based).
    async fn find_contacts(
        &self,
        name: &InstanceName,
        page: u32,
        page_size: u32,
    ) -> EvolutionResult<Vec<Value>>;
    /// `POST /chat/findChats/{name}`: every chat, newest first (raw objects).
    async fn find_chats(&self, name: &InstanceName) -> EvolutionResult<Vec<Value>>;
    /// `POST /chat/findMessages/{name}` for one exact chat JID, newest
    /// first: `page` 1-based, `page_size` sent as `offset` (Evolution ignores `limit`).
    async fn find_messages(
        &self,
        name: &InstanceName,
        remote_jid: &str,
        page: u32,
        page_size: u32,
    ) -> EvolutionResult<MessagesPage>;
    /// `POST /message/sendText/{name}`: the answer record (its `key.id` is
    /// the WhatsApp id, `key.remoteJid` the JID Evolution normalised to).
    async fn send_text(
        &self,
        name: &InstanceName,
        number: &str,
        text: &str,
    ) -> EvolutionResult<Value>;
}

/// The HTTP answer of an Evolution failure that a handler does not treat
/// specially: unreachable → 503, not on WhatsApp → 422, the rest → 502.
/// The cause is kept for the log, never sent to the client.
impl From<EvolutionError> for crate::ApiError {
    fn from(e: EvolutionError) -> Self {
        match e {
            EvolutionError::Unavailable(cause) => Self::Unavailable(cause.context("Evolution API")),
            EvolutionError::NotOnWhatsApp => Self::Validation {
                code: "not_on_whatsapp",
                detail: "phone_number: this number is not on WhatsApp".into(),
            },
            other => Self::Upstream(anyhow::Error::new(other)),
        }
    }
}
