//! The `sync-worker` Lambda: SQS batches of per-chat history jobs, run
//! against DynamoDB and Evolution, with partial batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use nolose_jobs::JobContext;
use nolose_jobs::sqs_worker::{MAX_RECEIVES, handle_batch};
use nolose_shared::AppState;
use nolose_shared::config::{Config, LambdaConfig, or_exit};
use nolose_shared::store::dynamo::DynamoStore;
use nolose_shared::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = or_exit(Config::from_env());
    let lambda = or_exit(LambdaConfig::from_env());
    let store = Arc::new(DynamoStore::from_env(lambda.table_name).await);
    let ctx = JobContext::from(&AppState::new(config, store)?);
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(handle_batch(event.payload, ctx, MAX_RECEIVES).await)
    }))
    .await
}
