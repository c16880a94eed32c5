//! Domain newtypes, parsed once at the edge so that nothing past a handler
//! takes a raw string where an id, an address or a name is meant.

pub mod limits;
mod user;
mod whatsapp;

pub use user::{Email, Password, User, UserCredentials, UserId, UserName};
pub use whatsapp::{InstanceName, Jid, JidKind, MessageStatus, MessageType, PhoneNumber};

/// Why a value was refused at the edge. The handler turns it into a 422 whose
/// `code` is the one API.md names for that field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ParseError {
    pub code: &'static str,
    pub detail: String,
}

impl ParseError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}
