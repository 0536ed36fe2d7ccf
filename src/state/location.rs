//! Where state lives: a local file (the default), or an object in a Cloud
//! Storage bucket (`gs://BUCKET/PATH.json`, or `[state]` in the plan file).

use std::fmt;
use std::path::{Path, PathBuf};

/// An object in a Cloud Storage bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketObject {
    /// The bucket's name.
    pub bucket: String,
    /// The object's name inside it.
    pub object: String,
}

impl BucketObject {
    /// The object beside this one whose name has `suffix` appended.
    pub fn with_suffix(&self, suffix: &str) -> BucketObject {
        BucketObject {
            bucket: self.bucket.clone(),
            object: format!("{}{suffix}", self.object),
        }
    }
}

impl fmt::Display for BucketObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gs://{}/{}", self.bucket, self.object)
    }
}

/// Where a state lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateLocation {
    /// A file on this machine.
    Local(PathBuf),
    /// An object in a bucket.
    Bucket(BucketObject),
}

impl fmt::Display for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateLocation::Local(p) => write!(f, "{}", p.display()),
            StateLocation::Bucket(o) => o.fmt(f),
        }
    }
}

/// A `gs://` location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state location {given:?}: {problem}\n  help: write it as gs://BUCKET/PATH.json, e.g. gs://my-team-meshform/envs/prod.json")]
pub struct LocationError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Whether `name` is a bucket name Cloud Storage accepts: 3 to 63
/// characters (222 with dots), lowercase letters, digits, `-`, `_` and
/// `.`, starting and ending with a letter or digit.
fn bucket_problem(name: &str) -> Option<&'static str> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    let max = if name.contains('.') { 222 } else { 63 };
    let ends = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.len() < 3 || name.len() > max {
        Some("a bucket name has 3 to 63 characters")
    } else if !ok_chars {
        Some("a bucket name has only lowercase letters, digits, '-', '_' and '.'")
    } else if !ends(name.as_bytes().first()) || !ends(name.as_bytes().last()) {
        Some("a bucket name starts and ends with a letter or digit")
    } else {
        None
    }
}

impl StateLocation {
    /// `gs://BUCKET/PATH` as a bucket object, anything else as a file.
    ///
    /// # Errors
    /// A `gs://` location without an object path or with a bad bucket name.
    pub fn parse(given: &str) -> Result<StateLocation, LocationError> {
        let Some(rest) = given.strip_prefix("gs://") else {
            return Ok(StateLocation::Local(PathBuf::from(given)));
        };
        let err = |problem: &str| LocationError {
            given: given.to_string(),
            problem: problem.to_string(),
        };
        let (bucket, object) = rest
            .split_once('/')
            .ok_or_else(|| err("it names a bucket but no object"))?;
        if let Some(problem) = bucket_problem(bucket) {
            return Err(err(problem));
        }
        if object.is_empty() || object.ends_with('/') {
            return Err(err("it names no object (a path ending in a file name)"));
        }
        Ok(StateLocation::Bucket(BucketObject {
            bucket: bucket.to_string(),
            object: object.to_string(),
        }))
    }

    /// The location `[state]` gives a plan file: `gs://BUCKET/PREFIX/<plan
    /// file stem>.json` (Terraform's gcs backend keeps `<prefix>/<name>.tfstate`).
    ///
    /// # Errors
    /// A bad bucket name.
    pub fn in_bucket(
        bucket: &str,
        prefix: &str,
        plan_file: &Path,
    ) -> Result<StateLocation, LocationError> {
        let stem = plan_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".into());
        let prefix = prefix.trim_matches('/');
        let object = if prefix.is_empty() {
            format!("{stem}.json")
        } else {
            format!("{prefix}/{stem}.json")
        };
        StateLocation::parse(&format!("gs://{bucket}/{object}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs_urls_are_bucket_objects_and_the_rest_files() {
        assert_eq!(
            StateLocation::parse("gs://team-state/envs/prod.json").unwrap(),
            StateLocation::Bucket(BucketObject {
                bucket: "team-state".into(),
                object: "envs/prod.json".into()
            })
        );
        assert_eq!(
            StateLocation::parse("state/tutorial.json").unwrap(),
            StateLocation::Local("state/tutorial.json".into())
        );
        let e = StateLocation::parse("gs://team-state").unwrap_err();
        assert!(e.to_string().contains("no object"), "{e}");
        let e = StateLocation::parse("gs://Team_State/x.json").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
        let e = StateLocation::parse("gs://team-state/envs/").unwrap_err();
        assert!(e.to_string().contains("names no object"), "{e}");
    }

    #[test]
    fn a_state_section_names_the_object_after_the_plan_file() {
        let l =
            StateLocation::in_bucket("team-state", "/meshform/", Path::new("plans/tutorial.toml"))
                .unwrap();
        assert_eq!(l.to_string(), "gs://team-state/meshform/tutorial.json");
        let l = StateLocation::in_bucket("team-state", "", Path::new("prod.toml")).unwrap();
        assert_eq!(l.to_string(), "gs://team-state/prod.json");
    }
}
