//! What came back over HTTP, and the one place that turns a failed answer
//! into an [`EvolutionError`] the way `gateway.rs` documents it.
//!
//! Evolution's error envelope is `{status, error, response: {message}}`
//! where `message` is a string (401), an array (most errors), an array of
//! arrays (schema errors) or an array holding an object (`exists: false`);
//! EVOLUTION.md §1.3. A body that is not JSON cannot be Evolution's: on a
//! 502/503/504 it is the proxy in front of a dead Evolution.

use serde_json::Value;

use super::super::gateway::EvolutionError;

/// Error messages are for logs; a runaway body must not flood them.
const MAX_MESSAGE_CHARS: usize = 300;

/// One HTTP answer: the status, and the body parsed when it was JSON.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub json: Option<Value>,
    /// The start of a non-JSON body, for the error message.
    pub text: String,
}

impl Answer {
    pub fn new(status: u16, body: &[u8]) -> Self {
        let json = serde_json::from_slice(body).ok();
        let text = match json {
            Some(_) => String::new(),
            None => clip(String::from_utf8_lossy(body).trim()),
        };
        Self { status, json, text }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A 3xx: not followed (API.md "Outbound calls"), so an upstream error.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// A gateway error page rather than Evolution's JSON: Evolution is down.
    pub fn is_from_proxy(&self) -> bool {
        matches!(self.status, 502..=504) && self.json.is_none()
    }

    /// Evolution's `response.message` flattened to one line of text.
    pub fn message(&self) -> String {
        let Some(json) = &self.json else {
            return self.text.clone();
        };
        let message = json
            .pointer("/response/message")
            .or_else(|| json.get("message"))
            .unwrap_or(json);
        clip(&flatten(message))
    }

    /// A 2xx body, which every route answers as JSON.
    pub fn into_json(self) -> Result<Value, EvolutionError> {
        if !self.is_success() {
            return Err(self.into_error());
        }
        self.json.ok_or_else(|| {
            EvolutionError::Unexpected(format!("a {} answer that is not JSON", self.status))
        })
    }

    /// The error this non-2xx answer means to us.
    pub fn into_error(self) -> EvolutionError {
        match self.status {
            404 => EvolutionError::InstanceNotFound,
            400 if self.json.as_ref().is_some_and(not_on_whatsapp) => EvolutionError::NotOnWhatsApp,
            status => EvolutionError::Rejected {
                status,
                message: self.message(),
            },
        }
    }
}

/// `sendText`'s 400 carries `[{"jid", "exists": false, "number"}]`.
fn not_on_whatsapp(json: &Value) -> bool {
    fn any_missing(v: &Value) -> bool {
        match v {
            Value::Object(o) => o.get("exists") == Some(&Value::Bool(false)),
            Value::Array(items) => items.iter().any(any_missing),
            _ => false,
        }
    }
    json.pointer("/response/message").is_some_and(any_missing)
}

/// Strings as they are, arrays (nested or not) joined with `; `, anything
/// else as compact JSON.
pub(super) fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(flatten)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The body of `response`, read chunk by chunk and refused as soon as it
/// passes `limit` bytes (or announces more): never more than `limit` plus
/// one chunk is held. Too big is [`EvolutionError::Unexpected`] (a 502).
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, EvolutionError> {
    let too_big = || EvolutionError::Unexpected(format!("an answer larger than {limit} bytes"));
    let announced = response.content_length().unwrap_or(0);
    if announced > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(too_big());
    }
    // At most `limit`, checked just above.
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reaching Evolution failed: refused, timed out, or cut off mid-answer.
pub(super) fn unreachable(e: reqwest::Error) -> EvolutionError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport failed"
    };
    EvolutionError::Unavailable(anyhow::Error::new(e).context(what))
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn envelope(status: u16, message: Value) -> Answer {
        let body = json!({"status": status, "error": "x", "response": {"message": message}});
        Answer::new(status, body.to_string().as_bytes())
    }

    #[test]
    fn every_message_shape_flattens_to_text() {
        let cases = [
            (json!("Unauthorized"), "Unauthorized"),
            (json!(["Text is required"]), "Text is required"),
            (
                json!([["instance requires property \"webhook\"", "url is required"]]),
                "instance requires property \"webhook\"; url is required",
            ),
            (json!([{"a": 1}]), "{\"a\":1}"),
        ];
        for (message, want) in cases {
            assert_eq!(
                envelope(400, message.clone()).message(),
                want,
                "case {message}"
            );
        }
    }

    #[test]
    fn errors_map_as_the_gateway_documents() {
        let missing = json!([{"jid": "1@s.whatsapp.net", "exists": false, "number": "1"}]);
        let cases = [
            (
                envelope(404, json!(["no such instance"])),
                "InstanceNotFound",
            ),
            (envelope(400, missing), "NotOnWhatsApp"),
            (envelope(400, json!(["Text is required"])), "Rejected"),
            (envelope(500, json!("Connection Closed")), "Rejected"),
            (Answer::new(500, b"oops"), "Rejected"),
        ];
        for (answer, want) in cases {
            let status = answer.status;
            let got = format!("{:?}", answer.into_error());
            assert!(got.starts_with(want), "case {status}: got {got}");
        }
    }

    #[test]
    fn only_a_3xx_is_a_redirect() {
        for (status, want) in [
            (301, true),
            (302, true),
            (307, true),
            (200, false),
            (404, false),
        ] {
            assert_eq!(
                Answer::new(status, b"").is_redirect(),
                want,
                "case {status}"
            );
        }
    }

    #[test]
    fn only_a_non_json_gateway_error_comes_from_a_proxy() {
        assert!(Answer::new(503, b"Service Unavailable").is_from_proxy());
        assert!(Answer::new(502, b"<html>Bad Gateway</html>").is_from_proxy());
        assert!(!envelope(503, json!("Service Unavailable")).is_from_proxy());
        assert!(!Answer::new(500, b"oops").is_from_proxy());
    }

    #[test]
    fn a_success_that_is_not_json_is_unexpected() {
        let got = Answer::new(200, b"<html>").into_json();
        assert!(
            matches!(got, Err(EvolutionError::Unexpected(_))),
            "got {got:?}"
        );
    }

    #[test]
    fn long_messages_are_clipped() {
        let long = "é".repeat(1000);
        let message = envelope(500, json!(long)).message();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
