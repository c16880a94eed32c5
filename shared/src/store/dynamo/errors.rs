//! SDK errors → [`StoreError`]. What a retry may cure (timeouts, connection
//! failures, throttling, 5xx) is `Unavailable`, so the webhook answers 503
//! and jobs retry; anything else is `Backend`, a bug or a broken invariant.
//! Conditional-check failures never get here: the caller knows what its
//! condition meant (a taken address, a missing user) and maps it itself.

use std::error::Error;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::store::StoreError;

/// Service error codes that mean "too busy right now", not "wrong request".
/// `TransactionConflict` is another transaction holding the item for a few
/// milliseconds; the SDK does not retry it on its own.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "ReplicatedWriteConflictException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Service error codes of a whole call that lost to other writers (or was
/// throttled): contention, which [`super::retry`] retries after a back-off.
/// Timeouts and unreachable endpoints are not: they are `Unavailable` at
/// once, so a store call never waits for several timeouts in a row.
const CONTENTION_CODES: &[&str] = &[
    "TransactionConflictException",
    "TransactionInProgressException",
    "ReplicatedWriteConflictException",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// Whether a failed call lost to contention (not a timeout, not a bug).
pub(super) fn is_contention<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|c| CONTENTION_CODES.contains(&c))
}

/// Cancellation reasons of a transaction that a later attempt may not hit.
const TRANSIENT_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// The reason code DynamoDB gives an item whose condition did not hold.
pub(super) const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Classifies a failed call; `doing` says what was being done, for the log.
pub(super) fn classify<E>(err: SdkError<E, HttpResponse>, doing: &'static str) -> StoreError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            e.raw().status().is_server_error()
                || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    };
    let err = anyhow::Error::new(err).context(doing);
    if transient {
        StoreError::Unavailable(err)
    } else {
        StoreError::Backend(err)
    }
}

/// The per-item reason codes of a cancelled transaction, in request order
/// (`"None"` for an item that was fine), or `None` if `err` is not a
/// cancellation.
pub(super) fn cancellation_codes(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<Vec<String>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a cancellation is worth another attempt as is.
pub(super) fn cancelled_transiently(codes: &[String]) -> bool {
    codes
        .iter()
        .any(|c| TRANSIENT_REASONS.contains(&c.as_str()))
}

/// A malformed item or request: the table holds something this code did not
/// write, or a builder was misused.
pub(super) fn backend(err: impl Into<anyhow::Error>, doing: &'static str) -> StoreError {
    StoreError::Backend(err.into().context(doing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn only_contention_and_throttling_cancellations_are_transient() {
        let cases = [
            (&["None", "TransactionConflict"][..], true),
            (&["ThrottlingError", "None"][..], true),
            (&["None", CONDITION_FAILED][..], false),
            (&["ValidationError"][..], false),
            (&[][..], false),
        ];
        for (raw, want) in cases {
            assert_eq!(cancelled_transiently(&codes(raw)), want, "case {raw:?}");
        }
    }

    fn service_error(code: &str) -> SdkError<TransactWriteItemsError, HttpResponse> {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        let meta = ErrorMetadata::builder().code(code).build();
        let raw = HttpResponse::new(400.try_into().expect("status"), "".into());
        SdkError::service_error(TransactWriteItemsError::generic(meta), raw)
    }

    #[test]
    fn only_lost_races_and_throttling_are_contention_never_a_timeout() {
        let cases = [
            (service_error("TransactionConflictException"), true),
            (service_error("ThrottlingException"), true),
            (service_error("ValidationException"), false),
            (service_error("InternalServerError"), false),
            (SdkError::timeout_error("no answer in time"), false),
        ];
        for (i, (err, want)) in cases.into_iter().enumerate() {
            assert_eq!(is_contention(&err), want, "case {i}: {err:?}");
        }
    }
}
