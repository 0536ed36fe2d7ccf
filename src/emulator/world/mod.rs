//! The emulated world: resources, operations and the id counter, persisted
//! atomically to `DATA_DIR/world.json` after every mutation (Connectivity
//! Tests to `DATA_DIR/connectivity.json`).
//!
//! Resources are stored as the JSON the API returns, with links written
//! against [`CANONICAL_BASE`]; the server rewrites them to its own URL on the
//! way out, so a world survives a restart on another port.
//!
//! The world knows no API: it stores objects and operations, applies the
//! plain effects (insert, patch, delete) and answers which object uses which
//! ([`uses`]). What GKE does when its operations finish, and the objects GKE
//! keeps in step with a cluster, are the controllers' (`../controllers/`).

pub mod uses;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EmulatorError;

/// Prefix of every stored link; replaced by the server's URL in responses.
pub const CANONICAL_BASE: &str = "https://compute.googleapis.com/compute/v1/";

/// Name of the world file inside the data directory.
pub const WORLD_FILE: &str = "world.json";

/// Name of the file holding [`World::connectivity`], beside the world file:
/// Connectivity Tests carry large traces and change only when tested, so
/// they are not rewritten with every other change to the world.
pub const CONNECTIVITY_FILE: &str = "connectivity.json";

/// Format version of `world.json`.
const FORMAT_VERSION: u32 = 1;

/// The full link of a relative path such as `projects/p/global/networks/n`.
pub fn link(rel: &str) -> String {
    format!("{CANONICAL_BASE}{rel}")
}

/// Milliseconds since the Unix epoch, wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An RFC 3339 timestamp for `ms` since the epoch, as compute writes them.
pub fn timestamp(ms: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

/// What an operation does to the world when it becomes DONE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Effect {
    /// The resource (complete JSON) appears.
    Insert {
        /// The resource as GET will return it.
        resource: Value,
    },
    /// The fields of `patch` are merged into the resource; a new fingerprint is set.
    Patch {
        /// Fields to merge (objects merge, arrays and scalars replace).
        patch: Value,
    },
    /// The resource disappears.
    Delete,
    /// A GKE cluster operation finishes. The world does not apply it itself:
    /// `controllers/cluster_operations.rs` does, also when the operation
    /// failed, as failures change the cluster too.
    Cluster {
        /// What finishes.
        step: ClusterStep,
    },
}

/// The cluster change a GKE operation finishes (stored with the operation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum ClusterStep {
    /// PROVISIONING → RUNNING.
    Create,
    /// RECONCILING → RUNNING with the top-level fields of `patch` replaced.
    Update {
        /// New values of top-level cluster fields.
        patch: Value,
    },
    /// STOPPING → gone.
    Delete,
}

/// The error an operation ended with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationError {
    /// `error.errors[0].code`, e.g. `INTERNAL_ERROR`.
    pub code: String,
    /// `error.errors[0].message`.
    pub message: String,
    /// `httpErrorStatusCode`.
    pub http_status: u16,
}

/// One compute operation (global, regional or zonal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    /// Numeric id.
    pub id: u64,
    /// Operation name, unique in its scope.
    pub name: String,
    /// Project id.
    pub project: String,
    /// `global`, `regions/{r}` or `zones/{z}`.
    pub scope: String,
    /// `insert`, `patch` or `delete`.
    pub operation_type: String,
    /// Relative path of the target resource.
    pub target: String,
    /// Id of the target resource.
    pub target_id: u64,
    /// When the request arrived (ms since epoch).
    pub insert_ms: u64,
    /// When the operation turns RUNNING.
    pub start_ms: u64,
    /// When the operation turns DONE and its effect happens.
    pub done_ms: u64,
    /// The effect applied at `done_ms`.
    pub effect: Effect,
    /// Set when the operation fails (injected or at apply time); then nothing changes.
    pub error: Option<OperationError>,
    /// Whether the effect (or failure) has been applied.
    pub applied: bool,
    /// The `requestId` the mutation was sent with: a request with the same id
    /// (in the same project) gets this operation back instead of a second change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl OperationRecord {
    /// Relative path of the operation, e.g. `projects/p/regions/r/operations/op`.
    pub fn rel(&self) -> String {
        format!(
            "projects/{}/{}/operations/{}",
            self.project, self.scope, self.name
        )
    }

    /// Whether the operation is DONE at `now`.
    pub fn is_done(&self, now: u64) -> bool {
        self.applied || now >= self.done_ms
    }

    /// Whether the operation was DONE (and applied) at least `retention_ms` before `now`.
    pub fn expired(&self, now: u64, retention_ms: u64) -> bool {
        self.applied && now >= self.done_ms.saturating_add(retention_ms)
    }
}

/// Everything the emulator knows, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    /// Format version.
    pub version: u32,
    /// The next id handed out to a resource or operation.
    pub next_id: u64,
    /// Resources by relative path (`projects/p/global/networks/n`).
    pub resources: BTreeMap<String, Value>,
    /// Operations by relative path.
    pub operations: BTreeMap<String, OperationRecord>,
    /// Deleted clusters whose Kubernetes API is still to be stopped and
    /// forgotten (the server drains this after applying operations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kube_to_forget: Vec<String>,
    /// Network Management's Connectivity Tests and their (finished)
    /// operations, by relative path; apart from `resources`, because they
    /// use nothing on the network and nothing uses them. Saved in their own
    /// file, [`CONNECTIVITY_FILE`] (read here too from worlds saved before).
    #[serde(default, skip_serializing)]
    pub connectivity: BTreeMap<String, Value>,
    /// Secret Manager's secrets by name (`projects/{number}/secrets/{id}`),
    /// each `{"secret": …, "versions": […]}` with the payloads; apart from
    /// `resources`, because nothing on the network uses them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, Value>,
    /// Cloud Storage's buckets by name, each with its objects, their
    /// generations and contents (`storage/store.rs` gives them a type);
    /// apart from `resources`, because nothing on the network uses them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub buckets: BTreeMap<String, Value>,
}

impl Default for World {
    fn default() -> Self {
        World {
            version: FORMAT_VERSION,
            next_id: 1_000_000_000_000_000_001,
            resources: BTreeMap::new(),
            operations: BTreeMap::new(),
            kube_to_forget: Vec::new(),
            connectivity: BTreeMap::new(),
            secrets: BTreeMap::new(),
            buckets: BTreeMap::new(),
        }
    }
}

impl World {
    /// Loads `dir/world.json` and `dir/connectivity.json`, or an empty
    /// world if there are none.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] if a file can't be read or written,
    /// [`EmulatorError::Corrupt`] if one doesn't parse.
    pub fn load(dir: &Path) -> Result<World, EmulatorError> {
        let mut world: World = read(dir, WORLD_FILE)?.unwrap_or_default();
        match read(dir, CONNECTIVITY_FILE)? {
            Some(tests) => world.connectivity = tests,
            // A world saved before the tests had a file of their own.
            None if !world.connectivity.is_empty() => {
                write_file(dir, CONNECTIVITY_FILE, &world.connectivity_bytes())?;
            }
            None => {}
        }
        Ok(world)
    }

    /// The world without its Connectivity Tests, as `world.json` holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a world serialises: its maps have string keys")
    }

    /// The Connectivity Tests, as `connectivity.json` holds them.
    pub fn connectivity_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.connectivity).expect("string keys serialise")
    }

    /// Hands out a fresh id.
    pub fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A fresh fingerprint (8 bytes, URL-safe base64, as the Rust client encodes them).
    pub fn new_fingerprint(&mut self) -> String {
        let mut x = self.new_id().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        base64_url(&x.to_be_bytes())
    }

    /// The pending (not yet applied) operation on `target`, if any.
    pub fn pending_on(&self, target: &str) -> Option<&OperationRecord> {
        self.operations
            .values()
            .find(|op| !op.applied && op.target == target)
    }

    /// The operation started by a mutation with `request_id` in `project`, if
    /// it is still remembered (see [`World::prune`]).
    pub fn operation_for_request(
        &self,
        project: &str,
        request_id: &str,
    ) -> Option<&OperationRecord> {
        self.operations
            .values()
            .find(|op| op.project == project && op.request_id.as_deref() == Some(request_id))
    }

    /// Forgets operations that have been DONE for `retention_ms` or longer,
    /// and with them their `requestId`s: a replay within the retention window
    /// returns the original operation, a later one is a new request (as with
    /// the real API, which remembers request ids "for a while"). Pending
    /// operations are never dropped. Returns whether anything was dropped.
    pub fn prune(&mut self, now: u64, retention_ms: u64) -> bool {
        let before = self.operations.len();
        self.operations
            .retain(|_, op| !op.expired(now, retention_ms));
        self.operations.len() != before
    }

    /// Resources plus the resources of pending inserts, in `collection`
    /// (e.g. `subnetworks`) of any scope in `project`.
    pub fn existing_and_pending<'a>(
        &'a self,
        project: &'a str,
        collection: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        let existing = self
            .resources
            .iter()
            .filter(move |(k, _)| in_collection(k, project, collection))
            .map(|(k, v)| (k.as_str(), v));
        let pending = self
            .operations
            .values()
            .filter_map(move |op| match &op.effect {
                Effect::Insert { resource }
                    if !op.applied && in_collection(&op.target, project, collection) =>
                {
                    Some((op.target.as_str(), resource))
                }
                _ => None,
            });
        existing.chain(pending)
    }

    /// Keys of the operations due at `now` and not applied yet, in order of
    /// completion (`controllers::advance` applies them one by one).
    pub fn due(&self, now: u64) -> Vec<String> {
        let mut due: Vec<(u64, &String)> = self
            .operations
            .iter()
            .filter(|(_, op)| !op.applied && op.done_ms <= now)
            .map(|(k, op)| (op.done_ms, k))
            .collect();
        due.sort();
        due.into_iter().map(|(_, k)| k.clone()).collect()
    }

    /// Applies the plain effect of `op` (insert, patch, delete) unless it
    /// failed; returns the operation's final error. An [`Effect::Cluster`]
    /// is not the world's to apply: it is left alone and `op.error` returned.
    pub fn apply_effect(&mut self, op: &OperationRecord) -> Option<OperationError> {
        if op.error.is_some() {
            return op.error.clone();
        }
        match op.effect.clone() {
            Effect::Insert { mut resource } => {
                resource["creationTimestamp"] = Value::String(timestamp(op.done_ms));
                self.resources.insert(op.target.clone(), resource);
                None
            }
            Effect::Patch { patch } => {
                let fingerprint = self.new_fingerprint();
                match self.resources.get_mut(&op.target) {
                    Some(resource) => {
                        merge(resource, patch);
                        if resource.get("fingerprint").is_some() {
                            resource["fingerprint"] = Value::String(fingerprint);
                        }
                        None
                    }
                    None => Some(gone(&op.target)),
                }
            }
            Effect::Delete => self
                .resources
                .remove(&op.target)
                .is_none()
                .then(|| gone(&op.target)),
            Effect::Cluster { .. } => None,
        }
    }

    /// Marks operation `key` applied, with its final `error`.
    pub fn settle(&mut self, key: &str, error: Option<OperationError>) {
        if let Some(op) = self.operations.get_mut(key) {
            op.applied = true;
            op.error = error;
        }
    }
}

fn gone(target: &str) -> OperationError {
    OperationError {
        code: "RESOURCE_NOT_FOUND".into(),
        message: format!("The resource '{target}' was not found"),
        http_status: 404,
    }
}

/// Whether `rel` names a resource of `collection` in `project` (any scope).
pub fn in_collection(rel: &str, project: &str, collection: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.len() >= 4
        && parts[0] == "projects"
        && parts[1] == project
        && parts[parts.len() - 2] == collection
}

/// JSON merge: objects merge field by field, everything else replaces.
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// URL-safe base64 with padding.
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Normalises a base64 string (standard or URL-safe, padded or not) for comparison.
pub fn normalize_base64(s: &str) -> String {
    s.trim_end_matches('=').replace('+', "-").replace('/', "_")
}

/// `dir/file` parsed, or `None` when there is no such file.
fn read<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &str,
) -> Result<Option<T>, EmulatorError> {
    let path = dir.join(file);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| EmulatorError::Corrupt { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(EmulatorError::Io { path, source }),
    }
}

/// Writes `bytes` to `dir/file` atomically: to a temporary file, renamed
/// over the old one. A killed process leaves the old or the new file
/// whole; there is no fsync (an emulator need not survive a power cut).
/// One writer per file at a time (`../saves.rs`).
///
/// # Errors
/// [`EmulatorError::Io`] on any file system failure; the previous file is then intact.
pub fn write_file(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), EmulatorError> {
    let path = dir.join(file);
    let tmp: PathBuf = dir.join(format!("{file}.tmp"));
    let io = |source| EmulatorError::Io {
        path: path.clone(),
        source,
    };
    fs::write(&tmp, bytes).map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Applies the plain effects due at `now`, as `controllers::advance` does.
    fn advance(w: &mut World, now: u64) -> bool {
        let due = w.due(now);
        for key in &due {
            let op = w.operations[key].clone();
            let error = w.apply_effect(&op);
            w.settle(key, error);
        }
        !due.is_empty()
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_url(b"hello"), "aGVsbG8=");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8=");
        assert_eq!(normalize_base64("+/8="), "-_8");
    }

    #[test]
    fn merge_replaces_arrays_and_merges_objects() {
        let mut v = json!({"a": {"x": 1, "y": 2}, "b": [1, 2]});
        merge(&mut v, json!({"a": {"y": 3}, "b": [9]}));
        assert_eq!(v, json!({"a": {"x": 1, "y": 3}, "b": [9]}));
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = World::default();
        w.resources
            .insert("projects/p/global/networks/n".into(), json!({"name": "n"}));
        w.new_id();
        w.connectivity.insert(
            "projects/p/locations/global/connectivityTests/t".into(),
            json!({}),
        );
        write_file(dir.path(), WORLD_FILE, &w.to_bytes()).expect("save");
        write_file(dir.path(), CONNECTIVITY_FILE, &w.connectivity_bytes()).expect("save");
        assert_eq!(World::load(dir.path()).expect("load"), w);
        assert!(!dir.path().join("world.json.tmp").exists());
    }

    #[test]
    fn tests_saved_inside_an_older_world_move_to_their_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let test = "projects/p/locations/global/connectivityTests/t";
        let older = json!({"version": 1, "nextId": 7, "resources": {}, "operations": {},
                           "connectivity": {test: {"name": test}}});
        fs::write(dir.path().join(WORLD_FILE), older.to_string()).expect("write");
        let w = World::load(dir.path()).expect("load");
        assert!(w.connectivity.contains_key(test));
        assert!(!String::from_utf8(w.to_bytes())
            .expect("utf-8")
            .contains(test));
        let file: Value = serde_json::from_slice(
            &fs::read(dir.path().join(CONNECTIVITY_FILE)).expect("written at load"),
        )
        .expect("json");
        assert_eq!(file[test]["name"], test);
    }

    #[test]
    fn pending_insert_applies_when_due() {
        let mut w = World::default();
        let op = OperationRecord {
            id: 1,
            name: "op".into(),
            project: "p".into(),
            scope: "global".into(),
            operation_type: "insert".into(),
            target: "projects/p/global/networks/n".into(),
            target_id: 2,
            insert_ms: 0,
            start_ms: 0,
            done_ms: 100,
            effect: Effect::Insert {
                resource: json!({"name": "n"}),
            },
            error: None,
            applied: false,
            request_id: Some("r1".into()),
        };
        w.operations.insert(op.rel(), op);
        assert!(!advance(&mut w, 50));
        assert!(w.resources.is_empty());
        assert!(advance(&mut w, 100));
        assert!(w.resources.contains_key("projects/p/global/networks/n"));
    }

    #[test]
    fn prune_keeps_pending_and_recent_operations_and_their_request_ids() {
        let mut w = World::default();
        let op = |name: &str, done_ms: u64, request_id: &str| OperationRecord {
            id: 1,
            name: name.into(),
            project: "p".into(),
            scope: "global".into(),
            operation_type: "delete".into(),
            target: format!("projects/p/global/networks/{name}"),
            target_id: 2,
            insert_ms: 0,
            start_ms: 0,
            done_ms,
            effect: Effect::Delete,
            error: None,
            applied: false,
            request_id: Some(request_id.into()),
        };
        for o in [
            op("old", 100, "r-old"),
            op("new", 900, "r-new"),
            op("later", 5_000, "r-later"),
        ] {
            w.operations.insert(o.rel(), o);
        }
        advance(&mut w, 1_000);
        assert!(!w.prune(1_000, 1_000), "nothing has been DONE for 1 s yet");
        assert!(w.prune(1_100, 1_000));
        assert!(w.operation_for_request("p", "r-old").is_none());
        assert!(w.operation_for_request("p", "r-new").is_some());
        assert!(
            w.operation_for_request("q", "r-new").is_none(),
            "ids are per project"
        );
        assert!(w.prune(u64::MAX, 0));
        assert_eq!(w.operations.len(), 1);
        assert!(
            w.operation_for_request("p", "r-later").is_some(),
            "pending is kept"
        );
    }
}
