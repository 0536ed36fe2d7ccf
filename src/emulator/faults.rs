//! Seeded fault injection: retryable request errors and failing operations.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::errors::ApiError;

/// Which faults to inject, and the seed that makes them reproducible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Seed for the fault generator; the same seed and request sequence give the same faults.
    pub seed: u64,
    /// Fraction (0.0–1.0) of API requests answered 429 or 503 before any processing.
    pub retryable_rate: f64,
    /// Fraction (0.0–1.0) of mutations whose operation ends DONE with an error and no effect.
    pub operation_failure_rate: f64,
}

/// How an injected operation failure reads in `Operation.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationFault {
    /// `error.errors[0].code`, e.g. `INTERNAL_ERROR`.
    pub code: &'static str,
    /// `error.errors[0].message`.
    pub message: &'static str,
}

/// The fault generator shared by all requests.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl Faults {
    /// A generator seeded from `config.seed`.
    pub fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Faults { config, rng }
    }

    fn roll(&self, rate: f64) -> Option<f64> {
        if rate.is_nan() || rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let x: f64 = rng.random();
        (x < rate).then(|| rng.random())
    }

    /// Decides whether this request fails with a retryable error (429 or 503).
    pub fn retryable(&self) -> Option<ApiError> {
        self.roll(self.config.retryable_rate).map(|pick| {
            if pick < 0.5 {
                ApiError::rate_limited()
            } else {
                ApiError::backend_error()
            }
        })
    }

    /// Decides whether a new operation will end in an error.
    pub fn operation_failure(&self) -> Option<OperationFault> {
        self.roll(self.config.operation_failure_rate).map(|pick| {
            if pick < 0.5 {
                OperationFault {
                    code: "INTERNAL_ERROR",
                    message: "Internal error. Please try again or contact Google Support.",
                }
            } else {
                OperationFault {
                    code: "RESOURCE_OPERATION_RATE_EXCEEDED",
                    message: "Operation rate exceeded for resource. Too frequent operations from the source resource.",
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_never_fails_and_rate_one_always_fails() {
        let none = Faults::new(FaultConfig::default());
        assert!((0..100).all(|_| none.retryable().is_none()));
        let all = Faults::new(FaultConfig {
            seed: 7,
            retryable_rate: 1.0,
            operation_failure_rate: 1.0,
        });
        assert!((0..100).all(|_| all.retryable().is_some()));
        assert!((0..100).all(|_| all.operation_failure().is_some()));
    }

    #[test]
    fn same_seed_same_faults() {
        let config = FaultConfig {
            seed: 42,
            retryable_rate: 0.3,
            operation_failure_rate: 0.0,
        };
        let a = Faults::new(config.clone());
        let b = Faults::new(config);
        let ra: Vec<_> = (0..50).map(|_| a.retryable().map(|e| e.code)).collect();
        let rb: Vec<_> = (0..50).map(|_| b.retryable().map(|e| e.code)).collect();
        assert_eq!(ra, rb);
        assert!(ra.iter().any(|r| r.is_some()) && ra.iter().any(|r| r.is_none()));
    }
}
