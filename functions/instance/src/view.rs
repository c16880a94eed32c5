//! The `InstanceStatus` of API.md, and the QR answer of `qrcode`.

use chrono::{DateTime, Utc};
use nolose_shared::domain::{InstanceName, UserId};
use nolose_shared::store::{ConnectionStatus, Instance};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceStatus {
    #[schema(example = "user_1")]
    pub instance_name: String,
    pub status: ConnectionStatus,
    /// Digits only (`5511999999999`).
    pub phone_number: Option<String>,
    pub profile_name: Option<String>,
    /// `data:image/png;base64,…`
    pub qr_code: Option<String>,
    pub pairing_code: Option<String>,
    #[serde(with = "nolose_shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub last_connected_at: Option<DateTime<Utc>>,
    /// `null` until a chat sync recorded a count (the dashboard relies on it).
    pub chats_count: Option<i64>,
}

impl From<&Instance> for InstanceStatus {
    fn from(i: &Instance) -> Self {
        Self {
            instance_name: i.name.to_string(),
            status: i.status,
            phone_number: i.phone_number.clone(),
            profile_name: i.profile_name.clone(),
            qr_code: i.qr_code.clone(),
            pairing_code: i.pairing_code.clone(),
            last_connected_at: i.last_connected_at,
            chats_count: i.chats_count,
        }
    }
}

impl InstanceStatus {
    /// A user without an instance yet.
    pub fn none(user: UserId) -> Self {
        Self {
            instance_name: InstanceName::for_user(user).to_string(),
            status: ConnectionStatus::Disconnected,
            phone_number: None,
            profile_name: None,
            qr_code: None,
            pairing_code: None,
            last_connected_at: None,
            chats_count: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QrCode {
    pub qr_code: String,
    pub instance_name: String,
    pub pairing_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Disconnected {
    pub message: String,
}
