//! `nolose-shared`: everything the No Lose entry points (five Lambdas, the
//! SQS worker and the local `nolose` server) have in common.
//!
//! - [`domain`]: newtypes parsed at the edge (ids, e-mail, names, …).
//! - [`connection`]: the instance status machine (QR, connecting, open, closed).
//! - [`config`]: the typed configuration, read from the environment once.
//! - [`error`]: [`ApiError`](error::ApiError), the one HTTP error type.
//! - [`evolution`]: the Evolution API gateway port, client and payload parsing.
//! - [`auth`]: argon2id passwords, HS256 tokens, the `AuthUser` extractor.
//! - [`store`]: the store port and its adapters (`postgres`, `dynamodb`).
//! - [`secrets`]: webhook secrets remembered per user (they never change).
//! - [`ingest`]: the one insert-if-new path for messages (webhook, sync, send).
//! - [`history`]: one chat's recent history into the store (sync job and route).
//! - [`jobs`]: jobs as serde data and the `JobQueue` port (`sqs` adapter).
//! - [`http`]: `AppState`, the JSON extractor, and the layers and fallbacks
//!   every router gets (request ids, CORS, body limits, JSON 404/405).
//! - `lambda` (feature `lambda`): the shared `main` of every HTTP Lambda.
//! - [`telemetry`]: tracing setup (JSON lines in Lambda or on request).
//! - [`time`]: the clock port and the RFC 3339 wire format.
//! - `testing` (feature `test-util`): the store conformance suite.

pub mod auth;
#[cfg(any(feature = "dynamodb", feature = "sqs"))]
pub mod aws;
pub mod config;
pub mod connection;
pub mod domain;
pub mod error;
pub mod evolution;
pub mod history;
pub mod http;
pub mod ingest;
pub mod jobs;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod time;

#[cfg(feature = "test-util")]
pub mod testing;

pub use error::ApiError;
pub use http::AppState;
