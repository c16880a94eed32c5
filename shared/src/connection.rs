//! The instance status machine of API.md ("WhatsApp instance"): one place
//! decides how a QR, a connection report or a logout changes the stored
//! instance, whoever reports it (webhook, create/qrcode call, status
//! reconciliation). [`update_instance`] applies a change with optimistic
//! concurrency, because QR and connection webhooks arrive concurrently.

use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::store::{ConnectionStatus, Instance, Store, StoreError, StoreResult};

/// While the stored QR is younger than this, `connecting` keeps `qr`:
/// Evolution says `connecting` while it shows a QR.
pub const QR_FRESH_FOR: chrono::Duration = chrono::Duration::seconds(60);

/// Something Evolution told us about the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionChange {
    /// A QR waits to be scanned.
    Qr {
        base64: String,
        pairing_code: Option<String>,
    },
    /// Evolution is connecting (and may be showing a QR).
    Connecting,
    /// `open`: the phone is linked. Fields are kept when `None`.
    Open {
        phone_number: Option<String>,
        profile_name: Option<String>,
    },
    /// `close`, `refused`, logout, removal, or Evolution does not know the instance.
    Closed,
}

/// Evolution dispatches webhooks concurrently and its retries reorder them:
/// a QR or a `connecting` emitted before the scan can land after `open`.
/// For this long after `open` such reports are taken as stale (a real
/// reconnect right after a scan is silent anyway, EVOLUTION.md §5.5).
pub const OPEN_SETTLES_FOR: chrono::Duration = chrono::Duration::seconds(30);

fn just_opened(instance: &Instance, now: DateTime<Utc>) -> bool {
    instance.status == ConnectionStatus::Connected
        && instance
            .last_connected_at
            .is_some_and(|at| now - at < OPEN_SETTLES_FOR)
}

/// Applies `change` at `now`; returns whether anything changed.
pub fn apply(instance: &mut Instance, change: &ConnectionChange, now: DateTime<Utc>) -> bool {
    let late = matches!(
        change,
        ConnectionChange::Qr { .. } | ConnectionChange::Connecting
    );
    if late && just_opened(instance, now) {
        return false;
    }
    let before = instance.clone();
    match change {
        ConnectionChange::Qr {
            base64,
            pairing_code,
        } => {
            instance.status = ConnectionStatus::Qr;
            instance.qr_code = Some(base64.clone());
            instance.qr_updated_at = Some(now);
            instance.pairing_code = pairing_code.clone();
        }
        ConnectionChange::Connecting => {
            if !qr_is_fresh(instance, now) {
                instance.status = ConnectionStatus::Connecting;
                clear_qr(instance);
            }
        }
        ConnectionChange::Open {
            phone_number,
            profile_name,
        } => {
            if instance.status != ConnectionStatus::Connected {
                instance.last_connected_at = Some(now);
            }
            instance.status = ConnectionStatus::Connected;
            if phone_number.is_some() {
                instance.phone_number = phone_number.clone();
            }
            if profile_name.is_some() {
                instance.profile_name = profile_name.clone();
            }
            clear_qr(instance);
        }
        ConnectionChange::Closed => {
            instance.status = ConnectionStatus::Disconnected;
            clear_qr(instance);
        }
    }
    *instance != before
}

fn qr_is_fresh(instance: &Instance, now: DateTime<Utc>) -> bool {
    instance.qr_code.is_some()
        && instance
            .qr_updated_at
            .is_some_and(|at| now - at < QR_FRESH_FOR)
}

fn clear_qr(instance: &mut Instance) {
    instance.qr_code = None;
    instance.qr_updated_at = None;
    instance.pairing_code = None;
}

/// Read-and-save rounds of [`update_instance`] (two store calls each)
/// before it gives up: the function timeouts count on it
/// (`tests/tests/template.rs`).
pub const UPDATE_ATTEMPTS: usize = 8;

/// Reads the user's instance, lets `change` edit it, and saves it if it
/// changed, re-reading and re-applying when a concurrent save won.
/// `Ok(None)` when the user has no instance.
pub async fn update_instance(
    store: &dyn Store,
    user: UserId,
    mut change: impl FnMut(&mut Instance) -> bool,
) -> StoreResult<Option<Instance>> {
    const ATTEMPTS: usize = UPDATE_ATTEMPTS;
    for _ in 0..ATTEMPTS {
        let Some(mut instance) = store.instance_by_user(user).await? else {
            return Ok(None);
        };
        if !change(&mut instance) {
            return Ok(Some(instance));
        }
        match store.save_instance(&instance).await {
            Ok(saved) => return Ok(Some(saved)),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable(anyhow::anyhow!(
        "instance kept changing under {ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstanceName;

    fn instance(status: ConnectionStatus) -> Instance {
        Instance {
            user_id: UserId::new(1),
            name: InstanceName::for_user(UserId::new(1)),
            webhook_secret: "s".into(),
            status,
            phone_number: None,
            profile_name: None,
            qr_code: None,
            qr_updated_at: None,
            pairing_code: None,
            last_connected_at: None,
            chats_count: None,
            created_at: Utc::now(),
            version: 1,
        }
    }

    fn qr() -> ConnectionChange {
        ConnectionChange::Qr {
            base64: "data:image/png;base64,AA".into(),
            pairing_code: None,
        }
    }

    #[test]
    fn a_fresh_qr_survives_connecting_and_a_stale_one_does_not() {
        let now = Utc::now();
        let mut i = instance(ConnectionStatus::Disconnected);
        assert!(apply(&mut i, &qr(), now));
        assert_eq!(i.status, ConnectionStatus::Qr);
        assert!(
            !apply(
                &mut i,
                &ConnectionChange::Connecting,
                now + chrono::Duration::seconds(59)
            ),
            "fresh QR keeps qr"
        );
        assert_eq!(i.status, ConnectionStatus::Qr);
        assert!(apply(
            &mut i,
            &ConnectionChange::Connecting,
            now + chrono::Duration::seconds(60)
        ));
        assert_eq!(
            (i.status, i.qr_code.as_deref()),
            (ConnectionStatus::Connecting, None),
            "stale QR is dropped"
        );
    }

    #[test]
    fn open_connects_clears_the_qr_and_keeps_known_profile_fields() {
        let now = Utc::now();
        let mut i = instance(ConnectionStatus::Qr);
        apply(&mut i, &qr(), now);
        let open = ConnectionChange::Open {
            phone_number: Some("5511999999999".into()),
            profile_name: Some("Ana".into()),
        };
        assert!(apply(&mut i, &open, now));
        assert_eq!(
            (i.status, i.qr_code.as_deref()),
            (ConnectionStatus::Connected, None)
        );
        assert_eq!(
            (i.phone_number.as_deref(), i.last_connected_at),
            (Some("5511999999999"), Some(now))
        );
        let bare = ConnectionChange::Open {
            phone_number: None,
            profile_name: None,
        };
        assert!(
            !apply(&mut i, &bare, now + chrono::Duration::hours(1)),
            "a repeated open changes nothing"
        );
        assert_eq!(i.profile_name.as_deref(), Some("Ana"));
    }

    #[test]
    fn a_qr_or_connecting_that_lands_just_after_open_is_stale() {
        let now = Utc::now();
        let mut i = instance(ConnectionStatus::Qr);
        let open = ConnectionChange::Open {
            phone_number: None,
            profile_name: None,
        };
        assert!(apply(&mut i, &open, now));
        assert!(
            !apply(&mut i, &qr(), now + chrono::Duration::seconds(1)),
            "a late QR"
        );
        assert!(
            !apply(
                &mut i,
                &ConnectionChange::Connecting,
                now + chrono::Duration::seconds(2)
            ),
            "a late connecting"
        );
        assert_eq!(i.status, ConnectionStatus::Connected);
        assert!(
            apply(
                &mut i,
                &ConnectionChange::Connecting,
                now + OPEN_SETTLES_FOR
            ),
            "a reconnect later is real"
        );
        assert!(
            apply(&mut i, &ConnectionChange::Closed, now + OPEN_SETTLES_FOR),
            "a close is never stale"
        );
    }

    #[test]
    fn closing_disconnects_and_clears_the_qr() {
        let mut i = instance(ConnectionStatus::Qr);
        apply(&mut i, &qr(), Utc::now());
        assert!(apply(&mut i, &ConnectionChange::Closed, Utc::now()));
        assert_eq!(
            (i.status, i.qr_code.as_deref(), i.pairing_code.as_deref()),
            (ConnectionStatus::Disconnected, None, None)
        );
    }
}
