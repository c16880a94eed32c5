//! Evolution API v2: the gateway port ([`Evolution`]), its HTTP client, and
//! the parsing of what Evolution sends us (EVOLUTION.md is the authority).
//!
//! - [`gateway`]: the `Evolution` trait, its request/response types and the
//!   typed [`EvolutionError`] handlers map to 502 / 503 / 422.
//! - [`client`]: `HttpEvolution`, the reqwest implementation.
//! - [`message`]: what a message record (webhook, findMessages, sendText
//!   answer) means to us: key, JIDs, type, content, status, timestamp.
//! - [`envelope`]: the part of a webhook body read before authorisation.
//! - [`events`]: webhook envelopes parsed into `events::WebhookEvent`.

pub mod client;
pub mod envelope;
pub mod events;
pub mod gateway;
pub mod message;

pub use client::HttpEvolution;
pub use gateway::{Evolution, EvolutionError, EvolutionResult};
