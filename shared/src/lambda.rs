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
    let state = AppState::new(config, store)?;
    lambda_http::run(build(state)).await
}
