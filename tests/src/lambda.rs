//! Lambda mode without AWS: a function-URL event (payload format 2.0, JSON
//! fixtures in `tests/fixtures/lambda`) goes through `lambda_http::Adapter`
//! — exactly what `lambda_http::run` wraps the router in — and the
//! `LambdaResponse` comes back as the JSON the Lambda service would read.

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

/// A fixture's text with `{{key}}` placeholders replaced.
pub fn fixture(name: &str, vars: &[(&str, &str)]) -> String {
    let path = format!("{}/fixtures/lambda/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"));
    for (k, v) in vars {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    text
}

/// What the function returned, as the Lambda service sees it.
#[derive(Debug)]
pub struct Invocation {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Value,
}

impl Invocation {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
}

/// Runs one event through the handler.
pub async fn invoke(router: Router, event_json: &str) -> Invocation {
    let request: LambdaRequest =
        serde_json::from_str(event_json).expect("a valid function URL event");
    let event = LambdaEvent::new(request, Context::default());
    let response = Adapter::from(router)
        .oneshot(event)
        .await
        .expect("handler never fails at the Lambda level");
    let wire = serde_json::to_value(&response).expect("LambdaResponse serialises");
    let status = wire["statusCode"].as_u64().expect("statusCode") as u16;
    let headers = wire["headers"].as_object().cloned().unwrap_or_default();
    let body = match wire["body"].as_str() {
        None | Some("") => Value::Null,
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
    };
    Invocation {
        status,
        headers,
        body,
    }
}
