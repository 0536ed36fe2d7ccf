//! What the emulator keeps of a bucket, typed: its metadata, and per object
//! name every generation still kept (the live one last; older ones are
//! noncurrent, kept only in buckets with versioning). Stored in the world's
//! `buckets` map as JSON, and rendered as the JSON API's resources.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::emulator::world::World;

use super::errors::StorageError;
use super::hashes;
use super::paths::encode;

/// Object metadata fields a writer may set (others are the service's).
pub const WRITABLE_FIELDS: [&str; 7] = [
    "contentType",
    "contentEncoding",
    "contentDisposition",
    "contentLanguage",
    "cacheControl",
    "customTime",
    "metadata",
];

/// One bucket and its objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredBucket {
    /// The bucket resource as `buckets.get` shows it, but for its links.
    pub metadata: Value,
    /// The project the bucket was created in.
    pub project: String,
    /// The generations of each object name, oldest first.
    #[serde(default)]
    pub objects: BTreeMap<String, Vec<StoredObject>>,
    /// The newest generation handed out in this bucket.
    #[serde(default)]
    pub last_generation: i64,
}

/// One generation of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredObject {
    /// The generation: microseconds since the epoch when it was written, as
    /// Google's, and larger than any before it in the bucket.
    pub generation: i64,
    /// 1 at creation (metadata updates are not emulated).
    pub metageneration: i64,
    /// The contents, base64.
    pub data: String,
    /// The fields of [`WRITABLE_FIELDS`] the writer set.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// When it was written, RFC 3339.
    pub time_created: String,
    /// When a newer generation replaced it or it was deleted (noncurrent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_deleted: Option<String>,
}

impl StoredObject {
    /// The contents.
    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .unwrap_or_default()
    }

    /// Whether this is the live generation (not replaced, not deleted).
    pub fn is_live(&self) -> bool {
        self.time_deleted.is_none()
    }

    /// Its `contentType` (Google's default when none was given).
    pub fn content_type(&self) -> &str {
        self.fields
            .get("contentType")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream")
    }

    /// The object resource of `storage.objects.get`, with links to `base`.
    pub fn render(&self, base: &str, bucket: &str, name: &str) -> Value {
        let data = self.bytes();
        let enc = encode(name);
        let mut v = json!({
            "kind": "storage#object",
            "id": format!("{bucket}/{name}/{}", self.generation),
            "selfLink": format!("{base}/storage/v1/b/{}/o/{enc}", encode(bucket)),
            "mediaLink": format!(
                "{base}/download/storage/v1/b/{}/o/{enc}?generation={}&alt=media",
                encode(bucket),
                self.generation
            ),
            "name": name,
            "bucket": bucket,
            "generation": self.generation.to_string(),
            "metageneration": self.metageneration.to_string(),
            "contentType": self.content_type(),
            "storageClass": "STANDARD",
            "size": data.len().to_string(),
            "md5Hash": hashes::md5_base64(&data),
            "crc32c": hashes::crc32c_base64(&data),
            "etag": etag(self.generation, self.metageneration),
            "timeCreated": self.time_created,
            "updated": self.time_created,
            "timeStorageClassUpdated": self.time_created,
            "timeFinalized": self.time_created,
        });
        for (k, value) in &self.fields {
            if k != "contentType" {
                v[k] = value.clone();
            }
        }
        if let Some(deleted) = &self.time_deleted {
            v["timeDeleted"] = json!(deleted);
        }
        v
    }
}

impl StoredBucket {
    /// Bucket `name` of `world`, if it exists.
    ///
    /// # Errors
    /// 503 when the stored bucket cannot be read back (the cause is logged).
    pub fn load(world: &World, name: &str) -> Result<Option<StoredBucket>, StorageError> {
        let Some(value) = world.buckets.get(name) else {
            return Ok(None);
        };
        serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| {
                tracing::error!(bucket = name, error = %e, "emulator bucket unreadable");
                StorageError::backend_error()
            })
    }

    /// Bucket `name` of `world`.
    ///
    /// # Errors
    /// 404 `The specified bucket does not exist.`
    pub fn existing(world: &World, name: &str) -> Result<StoredBucket, StorageError> {
        Self::load(world, name)?.ok_or_else(StorageError::no_bucket)
    }

    /// Writes the bucket back into `world` (not to disk).
    pub fn save(&self, world: &mut World) {
        let name = self.name().to_string();
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        world.buckets.insert(name, value);
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        self.metadata["name"].as_str().unwrap_or_default()
    }

    /// Whether the bucket keeps replaced and deleted generations.
    pub fn versioning(&self) -> bool {
        self.metadata["versioning"]["enabled"].as_bool() == Some(true)
    }

    /// The live generation of object `name`.
    pub fn live(&self, name: &str) -> Option<&StoredObject> {
        self.objects
            .get(name)
            .and_then(|versions| versions.last())
            .filter(|o| o.is_live())
    }

    /// Generation `generation` of object `name`, live or noncurrent.
    pub fn generation(&self, name: &str, generation: i64) -> Option<&StoredObject> {
        self.objects
            .get(name)?
            .iter()
            .find(|o| o.generation == generation)
    }

    /// A generation for a write at `now_micros`: the time, or one more
    /// than the last one if the clock has not moved on.
    pub fn next_generation(&mut self, now_micros: i64) -> i64 {
        self.last_generation = now_micros.max(self.last_generation + 1);
        self.last_generation
    }

    /// Ends the live generation of `name` at `at`: kept as noncurrent with
    /// versioning, forgotten without.
    pub fn retire_live(&mut self, name: &str, at: &str) {
        let versioning = self.versioning();
        let Some(versions) = self.objects.get_mut(name) else {
            return;
        };
        if versions.last().is_some_and(StoredObject::is_live) {
            if versioning {
                if let Some(live) = versions.last_mut() {
                    live.time_deleted = Some(at.to_string());
                }
            } else {
                versions.pop();
            }
        }
        if versions.is_empty() {
            self.objects.remove(name);
        }
    }

    /// Forgets generation `generation` of `name`.
    pub fn remove_generation(&mut self, name: &str, generation: i64) {
        if let Some(versions) = self.objects.get_mut(name) {
            versions.retain(|o| o.generation != generation);
            if versions.is_empty() {
                self.objects.remove(name);
            }
        }
    }

    /// The bucket resource of `storage.buckets.get`, with links to `base`.
    pub fn render(&self, base: &str) -> Value {
        let mut v = self.metadata.clone();
        v["selfLink"] = json!(format!("{base}/storage/v1/b/{}", encode(self.name())));
        v
    }
}

/// A bucket's etag as Google's look: base64 of the protocol buffer
/// `{1: metageneration}` (`CAE=` for metageneration 1).
pub fn bucket_etag(metageneration: i64) -> String {
    etag(metageneration, 0)
}

/// An object's etag as Google's look: base64 of the protocol buffer
/// `{1: generation, 2: metageneration}` (a 0 field is left out).
pub fn etag(generation: i64, metageneration: i64) -> String {
    let mut bytes = Vec::new();
    for (field, value) in [(1u8, generation), (2, metageneration)] {
        if value == 0 {
            continue;
        }
        bytes.push(field << 3);
        let mut n = u64::try_from(value).unwrap_or(0);
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                bytes.push(low);
                break;
            }
            bytes.push(low | 0x80);
        }
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An RFC 3339 timestamp with milliseconds, as Cloud Storage writes them.
pub fn timestamp(micros: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(versioning: bool) -> StoredBucket {
        StoredBucket {
            metadata: json!({"name": "bk", "versioning": {"enabled": versioning}}),
            project: "p".into(),
            objects: BTreeMap::new(),
            last_generation: 0,
        }
    }

    fn object(generation: i64) -> StoredObject {
        StoredObject {
            generation,
            metageneration: 1,
            data: "aGk=".into(),
            fields: Map::new(),
            time_created: timestamp(generation),
            time_deleted: None,
        }
    }

    #[test]
    fn etags_encode_generation_and_metageneration_as_google_does() {
        // A real object's: generation 1680594142725727, metageneration 1.
        assert_eq!(etag(1_680_594_142_725_727, 1), "CN+Mjofdj/4CEAE=");
        assert_eq!(bucket_etag(1), "CAE=");
    }

    #[test]
    fn generations_increase_even_when_the_clock_does_not() {
        let mut b = bucket(false);
        assert_eq!(b.next_generation(100), 100);
        assert_eq!(b.next_generation(100), 101);
        assert_eq!(b.next_generation(50), 102);
        assert_eq!(b.next_generation(500), 500);
    }

    #[test]
    fn a_replaced_generation_is_kept_only_with_versioning() {
        for versioning in [false, true] {
            let mut b = bucket(versioning);
            b.objects.insert("x".into(), vec![object(1)]);
            b.retire_live("x", "t");
            assert!(b.live("x").is_none());
            assert_eq!(b.generation("x", 1).is_some(), versioning);
            b.remove_generation("x", 1);
            assert!(b.objects.is_empty());
        }
    }

    #[test]
    fn objects_render_with_string_generations_and_hashes() {
        let v = object(1_712_000_000_000_000).render("http://h", "bk", "envs/a.json");
        assert_eq!(v["generation"], "1712000000000000");
        assert_eq!(v["metageneration"], "1");
        assert_eq!(v["size"], "2");
        assert_eq!(v["contentType"], "application/octet-stream");
        assert_eq!(
            v["mediaLink"],
            "http://h/download/storage/v1/b/bk/o/envs%2Fa.json?generation=1712000000000000&alt=media"
        );
        assert_eq!(v["timeCreated"], "2024-04-01T19:33:20.000Z");
    }
}
