//! The webhook body and headers exactly as Evolution builds them
//! (EVOLUTION.md §5.3–§5.4).

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

pub struct Envelope<'a> {
    pub event: &'a str,
    pub instance: &'a str,
    pub data: Value,
    pub destination: String,
    pub sender: Option<String>,
    pub server_url: String,
    pub api_key: Option<String>,
}

/// `{event, instance, data, destination, date_time, sender, server_url, apikey}`.
/// `sender` is dropped when unknown (JS `undefined`); `apikey` stays as `null`.
/// `date_time` always ends in `Z`: we run in UTC, where Evolution's local-time
/// trick happens to be correct.
pub fn body(env: Envelope<'_>) -> Value {
    let mut obj = Map::new();
    obj.insert("event".into(), json!(env.event));
    obj.insert("instance".into(), json!(env.instance));
    obj.insert("data".into(), env.data);
    obj.insert("destination".into(), json!(env.destination));
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    obj.insert("date_time".into(), json!(now));
    if let Some(sender) = env.sender {
        obj.insert("sender".into(), json!(sender));
    }
    obj.insert("server_url".into(), json!(env.server_url));
    obj.insert("apikey".into(), json!(env.api_key));
    Value::Object(obj)
}

/// axios' defaults plus the instance's custom headers (which may override
/// them). A `jwt_key` entry is replaced by `Authorization: Bearer <HS256 JWT>`,
/// minted fresh for this event.
pub fn headers(custom: Option<&Map<String, Value>>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        (
            "accept".to_owned(),
            "application/json, text/plain, */*".to_owned(),
        ),
        ("content-type".to_owned(), "application/json".to_owned()),
        ("user-agent".to_owned(), "axios/1.7.9".to_owned()),
    ]);
    for (name, value) in custom.into_iter().flatten() {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if name == "jwt_key" {
            if let Some(token) = jwt(&text) {
                out.insert("authorization".into(), format!("Bearer {token}"));
            }
            continue;
        }
        out.insert(name.to_ascii_lowercase(), text);
    }
    out
}

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    app: &'static str,
    action: &'static str,
}

/// `WH.generateJwtToken`: HS256, valid 10 minutes.
fn jwt(key: &str) -> Option<String> {
    let iat = Utc::now().timestamp();
    let claims = Claims {
        iat,
        exp: iat + 600,
        app: "evolution",
        action: "webhook",
    };
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(key.as_bytes());
    jsonwebtoken::encode(&header, &claims, &key).ok()
}
