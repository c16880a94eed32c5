//! The QR side of a Baileys socket: starting one (state `connecting`), issuing
//! QRs on a timer until the `QRCODE_LIMIT` ends it in `refused`, and the QR
//! strings themselves. The `base64` image is a fixed placeholder PNG — it does
//! not encode `code`; a backend only stores and forwards it.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use crate::error::SimError;
use crate::events::name;
use crate::sim::Sim;
use crate::state::ConnState;
use crate::webhook::emit;

const PLACEHOLDER_PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

fn random_chars(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A string shaped like Baileys' QR payload (`2@ref,noiseKey,identityKey,advSecret`).
fn qr_code_string() -> String {
    format!(
        "2@{},{},{},{}",
        random_chars(88, B64),
        random_chars(44, B64),
        random_chars(44, B64),
        random_chars(44, B64)
    )
}

/// What issuing the next QR led to.
#[derive(Debug, Clone, PartialEq)]
pub enum QrIssued {
    /// A new QR (`connect`'s QR object).
    Qr(Value),
    /// The limit was hit: `refused`, state `close`, count reset.
    LimitReached,
}

/// Issues the next QR for a `connecting` instance and emits `qrcode.updated`
/// (or the limit sequence).
pub fn issue(sim: &Arc<Sim>, instance: &str) -> Result<QrIssued, SimError> {
    let limit = sim.config.qr_limit;
    let issued = sim.with_instance(instance, |inst| {
        if inst.state != ConnState::Connecting {
            return Err(SimError::Conflict(format!(
                "instance {instance:?} is {}, QRs only exist while connecting",
                inst.state.as_str()
            )));
        }
        if inst.qr.count >= limit {
            let owner = inst.owner.clone();
            inst.state = ConnState::Close;
            inst.session += 1;
            inst.qr = Default::default();
            return Ok((QrIssued::LimitReached, owner));
        }
        inst.qr.count += 1;
        inst.qr.code = Some(qr_code_string());
        inst.qr.base64 = Some(PLACEHOLDER_PNG.to_owned());
        inst.qr.pairing_code = Some(match inst.pairing_number {
            Some(_) => json!(random_chars(8, b"ABCDEFGHJKLMNPQRSTVWXYZ0123456789")),
            None => Value::Null,
        });
        Ok((QrIssued::Qr(inst.qr.to_json()), None))
    })??;
    match &issued {
        (QrIssued::Qr(qr), _) => {
            let data = json!({ "qrcode": {
                "instance": instance,
                "pairingCode": qr["pairingCode"],
                "code": qr["code"],
                "base64": qr["base64"],
            }});
            emit(sim, instance, name::QRCODE_UPDATED, data);
        }
        (QrIssued::LimitReached, owner) => {
            let limit_msg = json!({
                "message": "QR code limit reached, please login again",
                "statusCode": 500,
            });
            emit(sim, instance, name::QRCODE_UPDATED, limit_msg);
            let mut refused =
                json!({ "instance": instance, "state": "refused", "statusReason": 428 });
            if let Some(o) = owner {
                refused["wuid"] = json!(o.wuid);
                refused["profileName"] = json!(o.profile_name);
                refused["profilePictureUrl"] = json!(o.profile_picture_url);
            }
            emit(sim, instance, name::CONNECTION_UPDATE, refused);
        }
    }
    Ok(issued.0)
}

/// Starts a socket: state `connecting`, a `connection.update`, then QRs as
/// configured (`qr_delay` zero issues the first one before returning).
pub fn start_socket(sim: &Arc<Sim>, instance: &str) -> Result<(), SimError> {
    let session = sim.with_instance(instance, |inst| {
        inst.state = ConnState::Connecting;
        inst.session += 1;
        inst.session
    })?;
    let data = json!({ "instance": instance, "state": "connecting", "statusReason": 200 });
    emit(sim, instance, name::CONNECTION_UPDATE, data);
    match sim.config.qr_delay {
        None => {}
        Some(d) if d.is_zero() => {
            if matches!(issue(sim, instance)?, QrIssued::Qr(_)) {
                spawn_timer(sim, instance, session, None);
            }
        }
        Some(d) => spawn_timer(sim, instance, session, Some(d)),
    }
    Ok(())
}

/// Still the same socket, still waiting for a scan?
fn live(sim: &Sim, instance: &str, session: u64) -> bool {
    sim.with_instance(instance, |i| {
        i.session == session && i.state == ConnState::Connecting
    })
    .unwrap_or(false)
}

fn spawn_timer(sim: &Arc<Sim>, instance: &str, session: u64, first: Option<Duration>) {
    let refresh = sim.config.qr_refresh;
    if first.is_none() && refresh.is_none() {
        return;
    }
    let sim2 = Arc::clone(sim);
    let instance = instance.to_owned();
    sim.spawn(async move {
        let mut wait = first.or(refresh);
        while let Some(d) = wait {
            tokio::time::sleep(d).await;
            if !live(&sim2, &instance, session) {
                return;
            }
            if !matches!(issue(&sim2, &instance), Ok(QrIssued::Qr(_))) {
                return;
            }
            wait = refresh;
        }
    });
}
