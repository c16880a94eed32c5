//! `HttpEvolution`: the reqwest implementation of [`Evolution`] (placeholder
//! until the client lands: every call answers `Unavailable`).

use async_trait::async_trait;
use serde_json::Value;

use super::gateway::{
    Connect, Created, Evolution, EvolutionError, EvolutionResult, MessagesPage, RemoteState,
    WebhookTarget,
};
use crate::config::Config;
use crate::domain::InstanceName;

pub struct HttpEvolution;

impl HttpEvolution {
    /// The client for `EVOLUTION_API_URL` with `EVOLUTION_API_KEY`.
    pub fn from_config(_config: &Config) -> anyhow::Result<Self> {
        Ok(Self)
    }
}

fn todo<T>() -> EvolutionResult<T> {
    Err(EvolutionError::Unavailable(anyhow::anyhow!(
        "the Evolution client is not implemented yet"
    )))
}

#[async_trait]
impl Evolution for HttpEvolution {
    async fn create_instance(
        &self,
        _: &InstanceName,
        _: &WebhookTarget,
    ) -> EvolutionResult<Created> {
        todo()
    }
    async fn set_webhook(&self, _: &InstanceName, _: &WebhookTarget) -> EvolutionResult<()> {
        todo()
    }
    async fn connect(&self, _: &InstanceName) -> EvolutionResult<Connect> {
        todo()
    }
    async fn connection_state(&self, _: &InstanceName) -> EvolutionResult<RemoteState> {
        todo()
    }
    async fn logout(&self, _: &InstanceName) -> EvolutionResult<()> {
        todo()
    }
    async fn delete_instance(&self, _: &InstanceName) -> EvolutionResult<()> {
        todo()
    }
    async fn find_contacts(&self, _: &InstanceName, _: u32, _: u32) -> EvolutionResult<Vec<Value>> {
        todo()
    }
    async fn find_chats(&self, _: &InstanceName) -> EvolutionResult<Vec<Value>> {
        todo()
    }
    async fn find_messages(
        &self,
        _: &InstanceName,
        _: &str,
        _: u32,
        _: u32,
    ) -> EvolutionResult<MessagesPage> {
        todo()
    }
    async fn send_text(&self, _: &InstanceName, _: &str, _: &str) -> EvolutionResult<Value> {
        todo()
    }
}
