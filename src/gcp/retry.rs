//! Which API errors are retried: the clients retry them with gax's
//! truncated exponential backoff with jitter.

use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::error::Error;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::{RetryPolicy, RetryPolicyExt};
use google_cloud_gax::retry_result::RetryResult;
use google_cloud_gax::retry_state::RetryState;
use std::time::Duration;

/// Retries rate limits (429, `rateLimitExceeded`), server errors (5xx) and
/// connection errors. Safe for every meshform call: reads are idempotent and
/// mutations carry a `requestId` or are adopted on "already exists".
#[derive(Debug, Clone)]
pub struct TransientErrors;

impl RetryPolicy for TransientErrors {
    fn on_error(&self, _state: &RetryState, error: Error) -> RetryResult {
        if is_retryable(&error) {
            crate::progress::transient_error(&error);
            RetryResult::Continue(error)
        } else {
            RetryResult::Permanent(error)
        }
    }
}

/// Whether `e` is worth retrying.
pub fn is_retryable(e: &Error) -> bool {
    if e.is_transient_and_before_rpc() || e.is_io() || e.is_connect() || e.is_timeout() {
        return true;
    }
    if let Some(code) = e.http_status_code() {
        if code == 429 || (500..=599).contains(&code) {
            return true;
        }
        if code == 403 {
            let body = e
                .http_payload()
                .map(|b| String::from_utf8_lossy(b).to_string());
            return body.is_some_and(|b| b.contains("ateLimitExceeded"));
        }
    }
    e.status().is_some_and(|s| {
        matches!(
            s.code,
            Code::Unavailable | Code::ResourceExhausted | Code::Internal | Code::DeadlineExceeded
        )
    })
}

/// The retry policy every client uses: [`TransientErrors`], at most 10
/// attempts within 5 minutes.
pub fn policy() -> impl RetryPolicy {
    TransientErrors
        .with_attempt_limit(10)
        .with_time_limit(Duration::from_secs(300))
}

/// Backoff between attempts: 100 ms doubling up to 10 s, with full jitter.
pub fn backoff() -> google_cloud_gax::exponential_backoff::ExponentialBackoff {
    ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(100))
        .with_maximum_delay(Duration::from_secs(10))
        .with_scaling(2.0)
        .build()
        .expect("constant backoff settings are valid")
}
