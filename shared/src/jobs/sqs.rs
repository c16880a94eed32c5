//! [`JobQueue`] on SQS: `SendMessageBatch` in tens (the API's maximum), each
//! job's JSON as the body. Entries SQS refuses inside an accepted batch are
//! sent again a few times before they count as not queued.

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{EnqueueError, JobQueue, SyncChatHistory};

/// SQS takes at most ten messages per batch.
const BATCH: usize = 10;
/// Attempts per batch for entries SQS refused one by one (throttling).
const ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: String) -> Self {
        Self { client, url }
    }

    /// A queue with the ambient AWS configuration (`AWS_ENDPOINT_URL` too)
    /// and the timeouts of every AWS client ([`crate::aws`]): a `sync/chats`
    /// whose queue hangs answers before the function's own timeout.
    pub async fn from_env(url: String) -> Self {
        Self::new(Client::new(&crate::aws::load().await), url)
    }

    /// The SDK client, for checks of its configuration.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends one batch; returns the jobs still refused after the retries.
    async fn send_batch(
        &self,
        mut batch: Vec<SyncChatHistory>,
    ) -> anyhow::Result<Vec<SyncChatHistory>> {
        for _ in 0..ATTEMPTS {
            let mut entries = Vec::with_capacity(batch.len());
            for (i, job) in batch.iter().enumerate() {
                let body = serde_json::to_string(job).context("encoding a job")?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .context("building a batch entry")?;
                entries.push(entry);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("SendMessageBatch")?;
            let refused: Vec<usize> = out
                .failed()
                .iter()
                .filter_map(|f| f.id().parse().ok())
                .collect();
            if refused.is_empty() {
                return Ok(Vec::new());
            }
            batch = refused
                .into_iter()
                .filter_map(|i| batch.get(i).cloned())
                .collect();
        }
        Ok(batch)
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue_many(&self, jobs: Vec<SyncChatHistory>) -> Result<(), EnqueueError> {
        let mut not_queued = Vec::new();
        let mut cause = None;
        for chunk in jobs.chunks(BATCH) {
            match self.send_batch(chunk.to_vec()).await {
                Ok(refused) if refused.is_empty() => {}
                Ok(refused) => {
                    cause.get_or_insert_with(|| anyhow!("SQS refused some entries"));
                    not_queued.extend(refused);
                }
                Err(e) => {
                    cause.get_or_insert(e);
                    not_queued.extend(chunk.iter().cloned());
                }
            }
        }
        match cause {
            None => Ok(()),
            Some(cause) => Err(EnqueueError { not_queued, cause }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{ATTEMPT_TIMEOUT, OPERATION_TIMEOUT};

    #[tokio::test]
    async fn the_queue_from_the_environment_gives_up_like_the_store() {
        let queue = SqsQueue::from_env("http://127.0.0.1:9/q".into()).await;
        let timeouts = queue.client().config().timeout_config().cloned();
        let timeouts = timeouts.expect("the SQS client has timeouts");
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
    }
}
