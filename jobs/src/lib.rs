//! `nolose-jobs`: what background jobs do, independent of how they arrive.
//! [`sync_chat::run`] is the one implementation of the per-chat history job;
//! the transports are thin adapters around [`sync_chat::handle`], which
//! applies the one retry policy (transient errors retried, permanent ones
//! and a last failed attempt recorded as a failed chat).
//!
//! - [`sync_chat`]: the job, its typed errors and its disposition.
//! - `local` (feature `apalis`): the apalis worker on PostgreSQL and the
//!   `JobQueue` that pushes to it, for the `nolose` binary.
//! - `sqs_worker` (feature `lambda`): the SQS event handler of the
//!   `sync-worker` Lambda, with partial batch failures.

#[cfg(feature = "apalis")]
pub mod local;
#[cfg(feature = "lambda")]
pub mod sqs_worker;
pub mod sync_chat;

pub use sync_chat::JobContext;
