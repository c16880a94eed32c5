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
use crate::faults::Fault;
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

/// What an injected fault answers: a redirect, an oversized body, or an error.
fn answer(fault: Fault) -> Response {
    if let Some(location) = fault.redirect_to {
        let code = StatusCode::from_u16(fault.status)
            .ok()
            .filter(StatusCode::is_redirection)
            .unwrap_or(StatusCode::FOUND);
        return (code, [(header::LOCATION, location)]).into_response();
    }
    if let Some(bytes) = fault.body_bytes {
        return oversized(bytes);
    }
    let code = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    EvoError::with_status(code).into_response()
}

/// A JSON string of `bytes` bytes in 64 KiB chunks, without a length up
/// front: the reader learns the size only by reading.
fn oversized(bytes: u64) -> Response {
    const CHUNK: u64 = 64 * 1024;
    let chunks = futures::stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let n = CHUNK.min(bytes - sent);
        let mut chunk = vec![b'a'; usize::try_from(n).unwrap_or(0)];
        if sent == 0 {
            chunk[0] = b'"';
        }
        if sent + n == bytes {
            chunk[usize::try_from(n - 1).unwrap_or(0)] = b'"';
        }
        Some((Ok::<_, std::io::Error>(chunk), sent + n))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
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
        let fault = sim.faults().take(&endpoint);
        fault.map(answer)
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
