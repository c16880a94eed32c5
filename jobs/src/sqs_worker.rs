//! The `sync-worker` Lambda's handler: one SQS batch of per-chat jobs, run
//! concurrently, answered with the records to redeliver
//! (`ReportBatchItemFailures`). SQS does the retrying (visibility timeout,
//! then the DLQ after `maxReceiveCount`), so a record's
//! `ApproximateReceiveCount` tells whether this is its last chance: a
//! transient failure then is recorded as a failed chat, so the run still
//! reaches `done`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use nolose_shared::jobs::SyncChatHistory;

use crate::sync_chat::{Attempt, Disposition, JobContext, handle};

/// The queue's `maxReceiveCount` (infra/template.yaml): the receive after
/// which SQS moves a failing record to the DLQ.
pub const MAX_RECEIVES: u32 = 5;

/// Handles a batch; the response names the records to deliver again.
pub async fn handle_batch(
    event: SqsEvent,
    ctx: &JobContext,
    max_receives: u32,
) -> SqsBatchResponse {
    let outcomes = futures::future::join_all(
        event
            .records
            .iter()
            .map(|record| handle_record(record, ctx, max_receives)),
    )
    .await;
    let mut response = SqsBatchResponse::default();
    for (record, redeliver) in event.records.iter().zip(outcomes) {
        if redeliver && let Some(id) = &record.message_id {
            response.add_failure(id.clone());
        }
    }
    response
}

/// Whether the record should be delivered again.
async fn handle_record(record: &SqsMessage, ctx: &JobContext, max_receives: u32) -> bool {
    let body = record.body.as_deref().unwrap_or_default();
    let job: SyncChatHistory = match serde_json::from_str(body) {
        Ok(job) => job,
        Err(e) => {
            // Redelivery cannot fix a malformed body: drop it (logged).
            tracing::error!(error = %e, message_id = ?record.message_id, "undecodable sync job");
            return false;
        }
    };
    let receives: u32 = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let attempt = if receives >= max_receives {
        Attempt::Last
    } else {
        Attempt::NotLast
    };
    matches!(handle(&job, ctx, attempt).await, Disposition::Retry(_))
}
