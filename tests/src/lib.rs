//! `nolose-tests`: support for the black-box and Lambda-mode tests in
//! `tests/tests/`.
//!
//! - [`pg`]: a fresh PostgreSQL database per test.
//! - [`app`]: the real local app on a free port, and a small HTTP client.
//! - [`dynamo`]: DynamoDB on moto, tables created from `infra/template.yaml`.
//! - [`lambda`]: function-URL events through the real Lambda handlers.
//! - [`send`]: send requests, stored threads, an echo-first Evolution.
//! - [`sqs`]: SQS on the emulator, delivered to the worker as Lambda would.
//! - [`wa`]: the app wired to an `evosim`, and tenants connected by a QR scan.

pub mod app;
pub mod dynamo;
pub mod lambda;
pub mod pg;
pub mod send;
pub mod sqs;
pub mod wa;
