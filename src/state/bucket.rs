//! State objects in Cloud Storage: reads that learn the object's
//! generation, and writes and deletes conditional on it, so that two
//! writers can never overwrite each other. Objects are read and written
//! with Google's `google-cloud-storage` client; deleting an object and
//! reading a bucket's settings go to the same JSON API by hand, because
//! that client offers them only over gRPC (`StorageControl`).
//!
//! The endpoint is Google's, with Application Default Credentials, unless
//! `STORAGE_EMULATOR_HOST` names an emulator (then no credentials), the
//! convention of Google's other clients.

use google_cloud_auth::credentials::{anonymous, Builder as CredentialsBuilder, Credentials};
use google_cloud_storage::client::Storage;

use super::location::BucketObject;

/// The variable naming a Cloud Storage emulator, e.g. `127.0.0.1:4443`.
pub const EMULATOR_HOST_VAR: &str = "STORAGE_EMULATOR_HOST";

/// Google's Cloud Storage endpoint.
const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";

/// A bucket call failed.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// Another writer changed the object since it was read (HTTP 412).
    #[error("{object} was changed by someone else since meshform read it (generation {expected} expected)")]
    Conflict {
        /// The object.
        object: String,
        /// The generation meshform expected (0: that it did not exist).
        expected: i64,
    },
    /// The bucket does not exist or cannot be seen with these credentials.
    #[error("bucket {0} does not exist, or these credentials cannot see it\n  help: create it (`gcloud storage buckets create gs://{0} --uniform-bucket-level-access`) or check the account of `gcloud auth application-default login`")]
    NoBucket(String),
    /// Any other failure.
    #[error("{context}: {message}")]
    Api {
        /// What meshform was doing.
        context: String,
        /// What the API or the client said.
        message: String,
    },
}

/// The Cloud Storage client state is kept with.
#[derive(Debug, Clone)]
pub struct Bucket {
    storage: Storage,
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
}

fn api(context: impl Into<String>) -> impl FnOnce(String) -> BucketError {
    let context = context.into();
    move |message| BucketError::Api { context, message }
}

/// The client's path of bucket `name`.
fn bucket_path(name: &str) -> String {
    format!("projects/_/buckets/{name}")
}

/// Percent-encodes an object name for a JSON API path.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Bucket {
    /// Connects to Google's Cloud Storage, or to the emulator that
    /// `STORAGE_EMULATOR_HOST` names.
    ///
    /// # Errors
    /// Credentials cannot be loaded or the client cannot be built.
    pub async fn connect() -> Result<Bucket, BucketError> {
        let emulator = std::env::var(EMULATOR_HOST_VAR)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|host| {
                if host.contains("://") {
                    host
                } else {
                    format!("http://{host}")
                }
            });
        let credentials = match &emulator {
            Some(_) => anonymous::Builder::new().build(),
            None => CredentialsBuilder::default()
                .build()
                .map_err(|e| api("loading Google credentials for Cloud Storage")(e.to_string()))?,
        };
        let base = emulator
            .clone()
            .unwrap_or_else(|| GOOGLE_ENDPOINT.to_string())
            .trim_end_matches('/')
            .to_string();
        let mut builder = Storage::builder().with_credentials(credentials.clone());
        if emulator.is_some() {
            builder = builder.with_endpoint(base.clone());
        }
        let storage = builder
            .build()
            .await
            .map_err(|e| api("creating the Cloud Storage client")(e.to_string()))?;
        Ok(Bucket {
            storage,
            http: reqwest::Client::new(),
            base,
            credentials,
        })
    }

    /// The object's bytes and generation; `None` when it does not exist.
    ///
    /// # Errors
    /// The bucket is missing or the read fails.
    pub async fn read(&self, o: &BucketObject) -> Result<Option<(Vec<u8>, i64)>, BucketError> {
        let sent = self
            .storage
            .read_object(bucket_path(&o.bucket), &o.object)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) if e.http_status_code() == Some(404) => {
                return match self.bucket_exists(&o.bucket).await? {
                    true => Ok(None),
                    false => Err(BucketError::NoBucket(o.bucket.clone())),
                };
            }
            Err(e) => return Err(api(format!("reading {o}"))(e.to_string())),
        };
        let generation = response.object().generation;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.next().await {
            let chunk = chunk.map_err(|e| api(format!("reading {o}"))(e.to_string()))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some((bytes, generation)))
    }

    /// Writes `text` as the object only if its generation is still `expected` (0:
    /// only if it does not exist) and returns the new generation.
    ///
    /// # Errors
    /// [`BucketError::Conflict`] when another writer got there first.
    pub async fn write(
        &self,
        o: &BucketObject,
        text: String,
        expected: i64,
    ) -> Result<i64, BucketError> {
        let written = self
            .storage
            .write_object(bucket_path(&o.bucket), &o.object, text)
            .set_if_generation_match(expected)
            .set_content_type("application/json")
            .send_buffered()
            .await;
        match written {
            Ok(object) => Ok(object.generation),
            Err(e) if e.http_status_code() == Some(412) => Err(BucketError::Conflict {
                object: o.to_string(),
                expected,
            }),
            Err(e) if e.http_status_code() == Some(404) => {
                Err(BucketError::NoBucket(o.bucket.clone()))
            }
            Err(e) => Err(api(format!("writing {o}"))(e.to_string())),
        }
    }

    /// Deletes generation `generation` of the object (not a newer one).
    /// An object already gone is not an error.
    ///
    /// # Errors
    /// [`BucketError::Conflict`] when the object has another generation now.
    pub async fn delete(&self, o: &BucketObject, generation: i64) -> Result<(), BucketError> {
        let url = format!(
            "{}/storage/v1/b/{}/o/{}",
            self.base,
            encode(&o.bucket),
            encode(&o.object)
        );
        let response = self
            .http
            .delete(url)
            .query(&[("ifGenerationMatch", generation.to_string())])
            .headers(self.headers().await?)
            .send()
            .await
            .map_err(|e| api(format!("deleting {o}"))(e.to_string()))?;
        match response.status().as_u16() {
            200..=299 | 404 => Ok(()),
            412 => Err(BucketError::Conflict {
                object: o.to_string(),
                expected: generation,
            }),
            code => Err(api(format!("deleting {o}"))(format!(
                "HTTP {code}: {}",
                response.text().await.unwrap_or_default()
            ))),
        }
    }

    /// Whether the bucket keeps old generations of objects (versioning).
    ///
    /// # Errors
    /// The bucket cannot be read.
    pub async fn versioning(&self, bucket: &str) -> Result<bool, BucketError> {
        let meta = self.bucket_metadata(bucket).await?;
        let meta = meta.ok_or_else(|| BucketError::NoBucket(bucket.to_string()))?;
        Ok(meta["versioning"]["enabled"].as_bool() == Some(true))
    }

    async fn bucket_exists(&self, bucket: &str) -> Result<bool, BucketError> {
        Ok(self.bucket_metadata(bucket).await?.is_some())
    }

    async fn bucket_metadata(
        &self,
        bucket: &str,
    ) -> Result<Option<serde_json::Value>, BucketError> {
        let url = format!("{}/storage/v1/b/{}", self.base, encode(bucket));
        let context = format!("reading bucket {bucket}");
        let response = self
            .http
            .get(url)
            .headers(self.headers().await?)
            .send()
            .await
            .map_err(|e| api(context.clone())(e.to_string()))?;
        match response.status().as_u16() {
            200 => Ok(Some(
                response
                    .json()
                    .await
                    .map_err(|e| api(context.clone())(e.to_string()))?,
            )),
            404 => Ok(None),
            code => Err(api(context)(format!("HTTP {code}"))),
        }
    }

    /// The credentials' request headers (none for an emulator).
    async fn headers(&self) -> Result<reqwest::header::HeaderMap, BucketError> {
        use google_cloud_auth::credentials::CacheableResource;
        match self.credentials.headers(Default::default()).await {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            Ok(CacheableResource::NotModified) => Ok(Default::default()),
            Err(e) => Err(api("getting a Google access token for Cloud Storage")(
                e.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_percent_encoded_in_paths() {
        assert_eq!(encode("envs/prod.json"), "envs%2Fprod.json");
        assert_eq!(encode("a b"), "a%20b");
    }
}
