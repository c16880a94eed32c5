//! The body of every HTTP Lambda's `main`: telemetry, configuration (exit
//! with one line if it is wrong), clients built once, then `lambda_http::run`.

use std::sync::Arc;

use axum::Router;

use crate::AppState;
use crate::config::{Config, LambdaConfig, or_exit};
use crate::store::dynamo::DynamoStore;
use crate::telemetry;

/// Serves the router that `build` makes from the state, until Lambda stops us.
pub async fn serve(build: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = or_exit(Config::from_env());
    let lambda = or_exit(LambdaConfig::from_env());
    let store = Arc::new(DynamoStore::from_env(lambda.table_name).await);
    #[allow(unused_mut)]
    let mut state = AppState::new(config, store)?;
    // Only the sync function enqueues (and links SQS); the others keep
    // `NoQueue`, which fails loudly should they ever try.
    #[cfg(feature = "sqs")]
    if let Some(url) = lambda.sync_queue_url {
        let queue = crate::jobs::sqs::SqsQueue::from_env(url).await;
        state = state.with_jobs(Arc::new(queue));
    }
    lambda_http::run(build(state)).await
}
