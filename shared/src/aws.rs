//! The one AWS SDK configuration every client is built from (DynamoDB,
//! SQS): the ambient environment (the Lambda role, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` when set) plus our timeouts, so no client can hang a
//! request past the budget the template's function timeouts are sized for
//! (`infra/template.yaml`, `tests/tests/template.rs`).
//!
//! An operation — every attempt and the back-off between them — gives up
//! after [`OPERATION_TIMEOUT`]; one attempt after [`ATTEMPT_TIMEOUT`], so a
//! connection that hangs leaves time for the SDK's retry on a fresh one.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

pub use crate::store::OPERATION_TIMEOUT;

/// One attempt of an AWS call; the SDK retries within [`OPERATION_TIMEOUT`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The timeouts of every AWS client.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The loader every client starts from (tests add an endpoint or region).
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts())
}

/// The ambient configuration with our timeouts.
pub async fn load() -> SdkConfig {
    loader().load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_ends_before_the_operation_leaving_room_for_a_retry() {
        let t = timeouts();
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert!(2 * ATTEMPT_TIMEOUT <= OPERATION_TIMEOUT);
    }
}
