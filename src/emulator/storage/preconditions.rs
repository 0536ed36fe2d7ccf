//! The JSON API's request preconditions on objects: `ifGenerationMatch`
//! (0: the object must not exist), `ifGenerationNotMatch`,
//! `ifMetagenerationMatch` and `ifMetagenerationNotMatch`, all query
//! parameters. Pure.
//!
//! As Cloud Storage (and Google's storage-testbench, `testbench/generation.py`)
//! decides: a `…Match` that fails is 412 `conditionNotMet`; a `…NotMatch`
//! that fails is 304 Not Modified on a read and 412 on a write or delete.
//! Preconditions other than `ifGenerationMatch=0` fail on an object that
//! does not exist (there is no generation to match).

use super::errors::StorageError;

/// The preconditions of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// `ifGenerationMatch`.
    pub generation_match: Option<i64>,
    /// `ifGenerationNotMatch`.
    pub generation_not_match: Option<i64>,
    /// `ifMetagenerationMatch`.
    pub metageneration_match: Option<i64>,
    /// `ifMetagenerationNotMatch`.
    pub metageneration_not_match: Option<i64>,
}

/// What a failed precondition answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// 304 Not Modified, no body (a `…NotMatch` on a read).
    NotModified,
    /// An error (412 `conditionNotMet`).
    Error(StorageError),
}

impl From<StorageError> for Failed {
    fn from(e: StorageError) -> Self {
        Failed::Error(e)
    }
}

/// Whether the request reads (GET) or changes (insert, delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read: a failed `…NotMatch` is 304.
    Read,
    /// A write or delete: every failure is 412.
    Write,
}

impl Preconditions {
    /// The preconditions among `query`.
    ///
    /// # Errors
    /// 400 `invalid` when one is not an integer.
    pub fn from_query(query: &[(String, String)]) -> Result<Self, StorageError> {
        let number = |name: &str| -> Result<Option<i64>, StorageError> {
            match query.iter().find(|(k, _)| k == name) {
                None => Ok(None),
                Some((_, v)) => v.trim().parse().map(Some).map_err(|_| {
                    StorageError::invalid(format!("Invalid argument for {name}: {v}"))
                }),
            }
        };
        Ok(Preconditions {
            generation_match: number("ifGenerationMatch")?,
            generation_not_match: number("ifGenerationNotMatch")?,
            metageneration_match: number("ifMetagenerationMatch")?,
            metageneration_not_match: number("ifMetagenerationNotMatch")?,
        })
    }

    /// Checks them against the object as it is now: `Some((generation,
    /// metageneration))`, or `None` when it does not exist.
    ///
    /// # Errors
    /// [`Failed`] for the first precondition that does not hold.
    pub fn check(&self, current: Option<(i64, i64)>, access: Access) -> Result<(), Failed> {
        let not_met = || Failed::Error(StorageError::condition_not_met());
        let not_match_failed = || match access {
            Access::Read => Failed::NotModified,
            Access::Write => not_met(),
        };
        let (generation, metageneration) = current.unwrap_or((0, 0));
        let exists = current.is_some();
        if let Some(want) = self.generation_match {
            if want != generation {
                return Err(not_met());
            }
        }
        if let Some(want) = self.metageneration_match {
            if !exists || want != metageneration {
                return Err(not_met());
            }
        }
        if let Some(unwanted) = self.generation_not_match {
            if !exists {
                return Err(not_met());
            }
            if unwanted == generation {
                return Err(not_match_failed());
            }
        }
        if let Some(unwanted) = self.metageneration_not_match {
            if !exists {
                return Err(not_met());
            }
            if unwanted == metageneration {
                return Err(not_match_failed());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Preconditions {
        let query: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Preconditions::from_query(&query).expect("valid")
    }

    fn code(result: Result<(), Failed>) -> u16 {
        match result {
            Ok(()) => 200,
            Err(Failed::NotModified) => 304,
            Err(Failed::Error(e)) => e.code,
        }
    }

    #[test]
    fn generation_zero_means_the_object_must_not_exist() {
        let p = q(&[("ifGenerationMatch", "0")]);
        assert_eq!(code(p.check(None, Access::Write)), 200);
        assert_eq!(code(p.check(Some((17, 1)), Access::Write)), 412);
    }

    #[test]
    fn a_stale_generation_fails_and_the_current_one_passes() {
        let p = q(&[("ifGenerationMatch", "17")]);
        assert_eq!(code(p.check(Some((17, 1)), Access::Write)), 200);
        assert_eq!(code(p.check(Some((18, 1)), Access::Write)), 412);
        assert_eq!(code(p.check(None, Access::Write)), 412);
    }

    #[test]
    fn not_match_is_304_on_reads_and_412_on_writes() {
        let p = q(&[("ifGenerationNotMatch", "17")]);
        assert_eq!(code(p.check(Some((17, 1)), Access::Read)), 304);
        assert_eq!(code(p.check(Some((17, 1)), Access::Write)), 412);
        assert_eq!(code(p.check(Some((18, 1)), Access::Read)), 200);
        let m = q(&[("ifMetagenerationNotMatch", "1")]);
        assert_eq!(code(m.check(Some((17, 1)), Access::Read)), 304);
    }

    #[test]
    fn metageneration_must_match_an_existing_object() {
        let p = q(&[("ifMetagenerationMatch", "1")]);
        assert_eq!(code(p.check(Some((17, 1)), Access::Write)), 200);
        assert_eq!(code(p.check(Some((17, 2)), Access::Write)), 412);
        assert_eq!(code(p.check(None, Access::Write)), 412);
    }

    #[test]
    fn a_precondition_that_is_not_a_number_is_invalid() {
        let query = vec![("ifGenerationMatch".to_string(), "abc".to_string())];
        assert_eq!(Preconditions::from_query(&query).unwrap_err().code, 400);
        assert_eq!(q(&[]), Preconditions::default());
    }
}
