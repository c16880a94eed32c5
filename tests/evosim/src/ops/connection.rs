//! Connection changes after the QR: a scan (`open`), drops that Evolution
//! hides by reconnecting silently, drops that end the session
//! (401/402/403/406), logout and removal — each with the webhooks EVOLUTION.md
//! §5.5 lists for it.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::error::SimError;
use crate::events::name;
use crate::jid::create_jid;
use crate::sim::Sim;
use crate::state::{ConnState, Owner, iso};
use crate::webhook::{emit, wait_done};

/// What the phone that scans the QR looks like.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Scan {
    /// Owner number or JID; default `55119800000NN` (NN = creation order).
    pub wuid: Option<String>,
    /// Default `"Evosim <instance>"`.
    pub profile_name: Option<String>,
    pub profile_picture_url: Option<String>,
}

/// Scans the current QR: the instance goes `open` and announces its owner.
pub fn scan(sim: &Arc<Sim>, instance: &str, req: Scan) -> Result<Owner, SimError> {
    let owner = sim.with_instance(instance, |inst| {
        if inst.state != ConnState::Connecting || inst.qr.count == 0 {
            return Err(SimError::Conflict(format!(
                "instance {instance:?} has no QR to scan (state {}, {} QRs so far)",
                inst.state.as_str(),
                inst.qr.count
            )));
        }
        let wuid = req.wuid.as_deref().unwrap_or(&inst.default_wuid);
        let owner = Owner {
            wuid: create_jid(wuid),
            profile_name: Some(
                req.profile_name
                    .unwrap_or_else(|| format!("Evosim {instance}")),
            ),
            profile_picture_url: req.profile_picture_url,
        };
        inst.owner = Some(owner.clone());
        inst.state = ConnState::Open;
        inst.session += 1;
        inst.updated_at = Utc::now();
        Ok(owner)
    })??;
    emit_open(sim, instance, &owner);
    Ok(owner)
}

fn emit_open(sim: &Arc<Sim>, instance: &str, owner: &Owner) -> Vec<u64> {
    let data = json!({
        "instance": instance,
        "wuid": owner.wuid,
        "profileName": owner.profile_name,
        "profilePictureUrl": owner.profile_picture_url,
        "state": "open",
        "statusReason": 200,
    });
    emit(sim, instance, name::CONNECTION_UPDATE, data)
}

/// A connection drop coming from WhatsApp.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Disconnect {
    /// Baileys `DisconnectReason` code (default 401, the phone unlinked us).
    pub status_reason: u16,
    /// For reconnecting codes: come back `open` after the `connecting` event
    /// has been delivered (default true).
    pub reconnect: bool,
}

impl Default for Disconnect {
    fn default() -> Self {
        Self {
            status_reason: 401,
            reconnect: true,
        }
    }
}

/// `codesToNotReconnect` in `W.connectionUpdate`.
const FINAL_CODES: [u16; 4] = [401, 403, 402, 406];

/// Applies a drop. Final codes end the session; any other code is a silent
/// reconnect: only `connecting`, then `open` again (no `close` event).
pub fn disconnect(sim: &Arc<Sim>, instance: &str, req: Disconnect) -> Result<(), SimError> {
    if FINAL_CODES.contains(&req.status_reason) {
        return end_session(sim, instance, req.status_reason, "Connection Failure");
    }
    let owner = sim.with_instance(instance, |inst| {
        inst.state = ConnState::Connecting;
        inst.session += 1;
        inst.owner.clone()
    })?;
    let Some(owner) = owner else {
        // Never logged in: the new socket simply shows QRs again.
        return super::qr::start_socket(sim, instance);
    };
    let data = json!({ "instance": instance, "state": "connecting", "statusReason": 200 });
    let ids = emit(sim, instance, name::CONNECTION_UPDATE, data);
    if req.reconnect {
        let sim2 = Arc::clone(sim);
        let instance = instance.to_owned();
        sim.spawn(async move {
            wait_done(&sim2, &ids).await;
            let reopened = sim2.with_instance(&instance, |inst| {
                let ok = inst.state == ConnState::Connecting;
                if ok {
                    inst.state = ConnState::Open;
                }
                ok
            });
            if reopened == Ok(true) {
                emit_open(&sim2, &instance, &owner);
            }
        });
    }
    Ok(())
}

/// A close Evolution does not recover from: `status.instance`,
/// `logout.instance` and `connection.update {state:"close"}`.
pub fn end_session(
    sim: &Arc<Sim>,
    instance: &str,
    code: u16,
    reason: &str,
) -> Result<(), SimError> {
    let now = Utc::now();
    sim.with_instance(instance, |inst| {
        inst.state = ConnState::Close;
        inst.session += 1;
        inst.disconnection_code = Some(code);
        inst.disconnection_at = Some(now);
        inst.updated_at = now;
    })?;
    let last_disconnect = json!({
        "error": { "data": null, "isBoom": true, "isServer": false, "output": {
            "statusCode": code,
            "payload": { "statusCode": code, "error": "Unauthorized", "message": reason },
            "headers": {},
        }},
        "date": iso(now),
    });
    let status = json!({
        "instance": instance,
        "status": "closed",
        "disconnectionAt": iso(now),
        "disconnectionReasonCode": code,
        "disconnectionObject": last_disconnect.to_string(),
    });
    emit(sim, instance, name::STATUS_INSTANCE, status);
    emit(
        sim,
        instance,
        name::LOGOUT_INSTANCE,
        serde_json::Value::Null,
    );
    let close = json!({ "instance": instance, "state": "close", "statusReason": code });
    emit(sim, instance, name::CONNECTION_UPDATE, close);
    Ok(())
}

/// `DELETE /instance/delete`: logout if needed, `instance.delete`,
/// `remove.instance`, then the instance and all its data are gone.
pub fn remove(sim: &Arc<Sim>, instance: &str) -> Result<(), SimError> {
    let (state, id) = sim.with_instance(instance, |i| (i.state, i.id.clone()))?;
    if state != ConnState::Close {
        end_session(sim, instance, 401, "Intentional Logout")?;
    }
    let data = json!({ "instanceName": instance, "instanceId": id });
    emit(sim, instance, name::INSTANCE_DELETE, data);
    emit(
        sim,
        instance,
        name::REMOVE_INSTANCE,
        serde_json::Value::Null,
    );
    sim.store().instances.remove(instance);
    Ok(())
}
