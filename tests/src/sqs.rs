//! SQS on the emulator, played the way the Lambda service plays it for the
//! `sync-worker`: receive a batch, hand it to the handler as an `SqsEvent`,
//! delete what succeeded, leave the reported failures to come back after
//! their visibility timeout (and go to the DLQ after `maxReceiveCount`).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

pub async fn client() -> Client {
    Client::new(&crate::dynamo::sdk_config().await)
}

/// A fresh queue whose failed messages come back after one second.
pub async fn fresh_queue(client: &Client) -> String {
    let name = format!("nolose-sync-{}", uuid::Uuid::new_v4().simple());
    let out = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .expect("create queue (is moto up at AWS_ENDPOINT_URL?)");
    out.queue_url().expect("queue url").to_owned()
}

/// Up to ten messages, waiting up to `wait_secs` for the first, as the
/// Lambda event source would deliver them (receive count included).
pub async fn receive(client: &Client, url: &str, wait_secs: i32) -> Vec<SqsMessage> {
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_secs)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    out.messages()
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_owned);
            record.receipt_handle = m.receipt_handle().map(str::to_owned);
            record.body = m.body().map(str::to_owned);
            if let Some(attrs) = m.attributes() {
                for (k, v) in attrs {
                    record.attributes.insert(k.as_str().to_owned(), v.clone());
                }
            }
            record
        })
        .collect()
}

pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// Deletes the records the handler did not report as failed.
pub async fn delete_succeeded(
    client: &Client,
    url: &str,
    records: &[SqsMessage],
    failed: &[String],
) {
    for r in records {
        let id = r.message_id.clone().unwrap_or_default();
        if failed.contains(&id) {
            continue;
        }
        if let Some(handle) = &r.receipt_handle {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(handle)
                .send()
                .await
                .expect("delete");
        }
    }
}
