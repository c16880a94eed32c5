//! Wraps every emulated call: records it in the call log, applies configured
//! and injected latency, answers for "down" and injected faults before any
//! Evolution logic runs, and records the status that went out.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::BODY_LIMIT;
use crate::error::EvoError;
use crate::log::CallRecord;
use crate::sim::Sim;

/// `/message/sendText/acme` → (`message/sendText`, `Some("acme")`).
pub fn endpoint_of(path: &str) -> (String, Option<String>) {
    let mut parts = path.trim_start_matches('/').split('/');
    let group = parts.next().unwrap_or_default();
    let action = parts.next();
    let instance = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let endpoint = match action {
        Some(a) if !a.is_empty() => format!("{group}/{a}"),
        _ if group.is_empty() => "/".to_owned(),
        _ => group.to_owned(),
    };
    (endpoint, instance)
}

fn body_for_log(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// The response a reverse proxy gives while Evolution is down.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Service Unavailable",
    )
        .into_response()
}

pub async fn evolution(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return EvoError::with_status(StatusCode::PAYLOAD_TOO_LARGE).into_response();
    };
    let path = parts.uri.path().to_owned();
    let (endpoint, instance) = endpoint_of(&path);
    let record = CallRecord {
        id: 0,
        method: parts.method.to_string(),
        path,
        endpoint: endpoint.clone(),
        instance,
        query: parts.uri.query().map(str::to_owned),
        body: body_for_log(&bytes),
        apikey: parts
            .headers
            .get("apikey")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status: None,
        faulted: false,
    };
    let call_id = sim.logs.update(|l| l.push_call(record));
    let delay = sim.config.latency + sim.faults().latency_for(&endpoint);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = if sim.is_down() {
        Some(unavailable())
    } else {
        let status = sim.faults().take(&endpoint);
        status.map(|s| {
            let code = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            EvoError::with_status(code).into_response()
        })
    };
    let faulted = fault.is_some();
    let resp = match fault {
        Some(r) => r,
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    let status = resp.status().as_u16();
    sim.logs.update(|l| {
        if let Some(c) = l.call_mut(call_id) {
            c.status = Some(status);
            c.faulted = faulted;
        }
    });
    resp
}

#[cfg(test)]
mod tests {
    use super::endpoint_of;

    #[test]
    fn endpoints_are_group_and_action() {
        let cases = [
            ("/message/sendText/acme", "message/sendText", Some("acme")),
            ("/instance/create", "instance/create", None),
            ("/", "/", None),
        ];
        for (path, endpoint, instance) in cases {
            let (e, i) = endpoint_of(path);
            assert_eq!(e, endpoint, "endpoint of {path}");
            assert_eq!(i.as_deref(), instance, "instance of {path}");
        }
    }
}
