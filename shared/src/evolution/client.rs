//! `HttpEvolution`: the reqwest implementation of [`Evolution`], faithful to
//! EVOLUTION.md §1–§4. One `reqwest::Client` is built per process with the
//! global key as a default (sensitive) `apikey` header and API.md's timeouts,
//! so a hung Evolution answers 503 well before a Lambda's own deadline.
//!
//! API.md "Outbound calls": the client never follows a redirect (it would
//! carry the `apikey` header to wherever the `Location` points; a 3xx is an
//! upstream error, 502), and reads at most [`MAX_ANSWER_BYTES`] of an answer,
//! chunk by chunk, so a runaway body is refused before it is buffered.
//!
//! - `answer`: the HTTP answer and the error mapping `gateway.rs` documents.
//! - `shapes`: request bodies and the 2xx shapes, quirks included.
//!
//! Logs carry the instance, route, status and timing — never the key, the
//! webhook secret, message texts or more than the last 4 digits of a number.

mod answer;
mod shapes;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use self::answer::Answer;
use super::gateway::{
    Connect, Created, Evolution, EvolutionError, EvolutionResult, MessagesPage, RemoteState,
    WebhookTarget,
};
use crate::config::Config;
use crate::domain::InstanceName;

/// The most of an answer the client reads (API.md: 16 MiB); a bigger one is
/// an upstream error, never buffered whole.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// How long to wait for Evolution (API.md: calls time out after 30 s).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole exchange, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

pub struct HttpEvolution {
    http: reqwest::Client,
    base_url: String,
}

impl HttpEvolution {
    /// The client for `EVOLUTION_API_URL` with `EVOLUTION_API_KEY`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Self::new(
            &config.evolution_url,
            config.evolution_api_key.clone(),
            Timeouts::default(),
        )
    }

    /// A client for `base_url` (no trailing path) with the global key.
    pub fn new(
        base_url: &str,
        api_key: impl Into<SecretString>,
        timeouts: Timeouts,
    ) -> anyhow::Result<Self> {
        let mut key = HeaderValue::from_str(api_key.into().expose_secret())
            .context("EVOLUTION_API_KEY is not a valid HTTP header value")?;
        key.set_sensitive(true);
        let headers = HeaderMap::from_iter([(HeaderName::from_static("apikey"), key)]);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .redirect(redirect::Policy::none())
            .build()
            .context("building the Evolution API HTTP client")?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// One exchange. Unreachable, timed out or a proxy's error page is
    /// `Unavailable`; any other answer is for the caller to read.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> EvolutionResult<Answer> {
        let started = Instant::now();
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(answer::unreachable)?;
        let status = response.status().as_u16();
        let bytes = answer::read_capped(response, MAX_ANSWER_BYTES).await?;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(%method, path, status, elapsed_ms, "Evolution API answered");
        let answer = Answer::new(status, &bytes);
        if answer.is_redirect() {
            return Err(EvolutionError::Rejected {
                status,
                message: "a redirect, which the client does not follow".into(),
            });
        }
        if answer.is_from_proxy() {
            return Err(EvolutionError::Unavailable(anyhow::anyhow!(
                "{status} from a proxy in front of Evolution API: {}",
                answer.text
            )));
        }
        Ok(answer)
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> EvolutionResult<Value> {
        self.call(method, path, body).await?.into_json()
    }
}

/// A number or JID for logs: all but the last 4 digits masked.
fn masked(number: &str) -> String {
    let user = number.split('@').next().unwrap_or_default();
    let keep = user.len().saturating_sub(4);
    match user.get(keep..) {
        Some(tail) => format!("{}{tail}", "*".repeat(keep)),
        None => "****".to_owned(),
    }
}

#[async_trait]
impl Evolution for HttpEvolution {
    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn create_instance(
        &self,
        name: &InstanceName,
        webhook: &WebhookTarget,
    ) -> EvolutionResult<Created> {
        let body = shapes::create_body(name, webhook);
        let answer = self
            .call(Method::POST, "/instance/create", Some(body))
            .await?;
        if answer.status == 403 && answer.message().contains("already in use") {
            return Ok(Created::AlreadyExists);
        }
        shapes::created(&answer.into_json()?)
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn set_webhook(
        &self,
        name: &InstanceName,
        webhook: &WebhookTarget,
    ) -> EvolutionResult<()> {
        let path = format!("/webhook/set/{name}");
        let row = self
            .json(Method::POST, &path, Some(shapes::webhook_body(webhook)))
            .await?;
        match row {
            Value::Object(_) => Ok(()),
            _ => Err(EvolutionError::Unexpected(
                "webhook/set answer is not the row".into(),
            )),
        }
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn connect(&self, name: &InstanceName) -> EvolutionResult<Connect> {
        let path = format!("/instance/connect/{name}");
        shapes::connect(&self.json(Method::GET, &path, None).await?)
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn connection_state(&self, name: &InstanceName) -> EvolutionResult<RemoteState> {
        let path = format!("/instance/connectionState/{name}");
        shapes::remote_state(&self.json(Method::GET, &path, None).await?)
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn logout(&self, name: &InstanceName) -> EvolutionResult<()> {
        let answer = self
            .call(Method::DELETE, &format!("/instance/logout/{name}"), None)
            .await?;
        // Logging out a closed instance is Evolution's 400 "is not connected":
        // the outcome we wanted.
        if answer.status == 400 && answer.message().contains("not connected") {
            return Ok(());
        }
        answer.into_json().map(drop)
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn delete_instance(&self, name: &InstanceName) -> EvolutionResult<()> {
        let path = format!("/instance/delete/{name}");
        self.json(Method::DELETE, &path, None).await.map(drop)
    }

    #[tracing::instrument(skip_all, fields(instance = %name, page = page, page_size = page_size))]
    async fn find_contacts(
        &self,
        name: &InstanceName,
        page: u32,
        page_size: u32,
    ) -> EvolutionResult<Vec<Value>> {
        let path = format!("/chat/findContacts/{name}");
        let body = json!({ "page": page, "offset": page_size });
        shapes::array(
            self.json(Method::POST, &path, Some(body)).await?,
            "findContacts",
        )
    }

    #[tracing::instrument(skip_all, fields(instance = %name))]
    async fn find_chats(&self, name: &InstanceName) -> EvolutionResult<Vec<Value>> {
        let path = format!("/chat/findChats/{name}");
        shapes::array(
            self.json(Method::POST, &path, Some(json!({}))).await?,
            "findChats",
        )
    }

    #[tracing::instrument(skip_all, fields(instance = %name, chat = %masked(remote_jid), page = page, page_size = page_size))]
    async fn find_messages(
        &self,
        name: &InstanceName,
        remote_jid: &str,
        page: u32,
        page_size: u32,
    ) -> EvolutionResult<MessagesPage> {
        let path = format!("/chat/findMessages/{name}");
        let body = shapes::find_messages_body(remote_jid, page, page_size);
        shapes::messages_page(self.json(Method::POST, &path, Some(body)).await?)
    }

    #[tracing::instrument(skip_all, fields(instance = %name, to = %masked(number)))]
    async fn send_text(
        &self,
        name: &InstanceName,
        number: &str,
        text: &str,
    ) -> EvolutionResult<Value> {
        let path = format!("/message/sendText/{name}");
        let body = json!({ "number": number, "text": text });
        shapes::sent_record(self.json(Method::POST, &path, Some(body)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_jids_keep_only_their_last_four_digits() {
        let cases = [
            ("5511988887777", "*********7777"),
            ("5511988887777@s.whatsapp.net", "*********7777"),
            ("123", "123"),
        ];
        for (raw, want) in cases {
            assert_eq!(masked(raw), want, "case {raw}");
        }
    }
}
