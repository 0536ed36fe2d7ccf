//! A cluster's objects and its resource-version counter, persisted in
//! `objects.json` (atomic write: temp file, fsync, rename).
//!
//! Objects are keyed `group/plural/namespace/name` (namespace empty for
//! cluster-scoped objects); every version of a resource shares one key space.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::defaults::Cidr;
use super::finalizers;
use super::meta;
use super::watch::Event;
use super::KubeApiError;

const FILE: &str = "objects.json";

/// One stored object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The object as last written (without server-computed status).
    pub object: Value,
    /// Wall-clock ms of the last change that bumped `metadata.generation`.
    pub spec_changed_ms: u64,
    /// Wall-clock ms of the last change of any kind (0 in files written
    /// before it was kept: long ago).
    #[serde(default)]
    pub changed_ms: u64,
}

/// All objects of one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    /// The last resource version handed out.
    pub resource_version: u64,
    /// Objects by key.
    pub objects: BTreeMap<String, Entry>,
    /// What the in-cluster controllers have acted on: by `controller/key`,
    /// the resource version of the object they last reconciled (their
    /// work queue, persisted so a restart resumes it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub observed: BTreeMap<String, String>,
    /// Recent changes, oldest first (in memory only), for watches.
    #[serde(skip)]
    pub history: VecDeque<Event>,
    /// Watches from a resource version below this one get `410 Gone`: the
    /// history does not reach back that far.
    #[serde(skip)]
    pub history_floor: u64,
}

/// The store prefix (`group/plural`) of a store key.
pub fn prefix_of(key: &str) -> String {
    key.splitn(3, '/').take(2).collect::<Vec<_>>().join("/")
}

/// The namespace segment of a store key (empty for cluster-scoped objects).
pub fn namespace_of(key: &str) -> &str {
    key.split('/').nth(2).unwrap_or("")
}

/// The store key of an object.
pub fn key(prefix: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{prefix}/{}/{name}", namespace.unwrap_or(""))
}

impl Store {
    /// Loads `dir/objects.json`, or a fresh store holding what a new cluster
    /// has (namespaces `default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`, and the `kubernetes` Service) when it is absent.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn load(dir: &Path) -> Result<Store, KubeApiError> {
        let path = dir.join(FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let mut store: Store =
                    serde_json::from_slice(&bytes).map_err(|e| KubeApiError::Corrupt {
                        path,
                        message: e.to_string(),
                    })?;
                store.history_floor = store.resource_version;
                Ok(store)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut store = Store::seeded();
                store.history_floor = store.resource_version;
                Ok(store)
            }
            Err(source) => Err(KubeApiError::Io { path, source }),
        }
    }

    /// Writes `dir/objects.json` atomically (temporary file renamed over the
    /// old one; no fsync, as for the world).
    ///
    /// # Errors
    /// Any I/O error.
    pub fn save(&self, dir: &Path) -> Result<(), KubeApiError> {
        let path = dir.join(FILE);
        let tmp: PathBuf = dir.join(format!("{FILE}.tmp"));
        let io = |source| KubeApiError::Io {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| KubeApiError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        fs::write(&tmp, &bytes).map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// The next resource version (the counter is global to the cluster).
    pub fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// The object at `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.objects.get(key)
    }

    /// Objects under `prefix` (`group/plural`), in `namespace` when given.
    pub fn list(&self, prefix: &str, namespace: Option<&str>) -> Vec<&Entry> {
        let start = match namespace {
            Some(ns) => format!("{prefix}/{ns}/"),
            None => format!("{prefix}/"),
        };
        self.objects
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(_, e)| e)
            .collect()
    }

    /// Removes every object under `prefix` (used when a CRD is deleted);
    /// returns them with their keys.
    pub fn remove_prefix(&mut self, prefix: &str) -> Vec<(String, Entry)> {
        let start = format!("{prefix}/");
        self.remove_where(|k| k.starts_with(&start))
    }

    fn remove_where(&mut self, doomed: impl Fn(&str) -> bool) -> Vec<(String, Entry)> {
        let keys: Vec<String> = self.objects.keys().filter(|k| doomed(k)).cloned().collect();
        keys.into_iter()
            .filter_map(|k| self.objects.remove(&k).map(|e| (k, e)))
            .collect()
    }

    /// Gives the seeded `kubernetes` Service the first address of
    /// `services` when its address lies outside it.
    pub fn place_kubernetes_service(&mut self, services: Cidr) {
        let key = key("/services", Some("default"), "kubernetes");
        let Some(entry) = self.objects.get_mut(&key) else {
            return;
        };
        let inside = entry.object["spec"]["clusterIP"]
            .as_str()
            .and_then(|ip| ip.parse().ok())
            .is_some_and(|ip| services.contains(ip));
        if !inside {
            let ip = services.first_host().to_string();
            entry.object["spec"]["clusterIP"] = json!(ip);
            entry.object["spec"]["clusterIPs"] = json!([ip]);
        }
    }

    /// Adds what the controllers of a real cluster add to every namespace
    /// that lacks it: the `default` ServiceAccount and the
    /// `kube-root-ca.crt` ConfigMap (the cluster CA). Returns the keys added.
    pub fn namespace_defaults(&mut self, namespace: &str, ca_pem: &str, now: u64) -> Vec<String> {
        let mut added = Vec::new();
        let sa_key = key("/serviceaccounts", Some(namespace), "default");
        if self.get(&sa_key).is_none() {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": namespace}});
            self.seed(sa_key.clone(), sa, now);
            added.push(sa_key);
        }
        let cm_key = key("/configmaps", Some(namespace), "kube-root-ca.crt");
        if self.get(&cm_key).is_none() {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                             "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": ca_pem}});
            self.seed(cm_key.clone(), cm, now);
            added.push(cm_key);
        }
        added
    }

    /// [`Store::namespace_defaults`] for every namespace.
    pub fn all_namespace_defaults(&mut self, ca_pem: &str) {
        let names: Vec<String> = self
            .list("/namespaces", None)
            .iter()
            .filter_map(|e| meta::meta_str(&e.object, "name").map(str::to_string))
            .collect();
        let now = meta::now_ms();
        for ns in names {
            self.namespace_defaults(&ns, ca_pem, now);
        }
    }

    fn seeded() -> Store {
        let mut store = Store::default();
        let now = meta::now_ms();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let object = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            store.seed(key("/namespaces", None, ns), object, now);
        }
        let service = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}],
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}},
        });
        store.seed(
            key("/services", Some("default"), "kubernetes"),
            service,
            now,
        );
        store
    }

    fn seed(&mut self, key: String, object: Value, now: u64) {
        self.insert_created(key, object, now);
    }

    /// Stores `object` at `key` as newly created at `at_ms` (uid, creation
    /// time, the next resource version, generation 1), as a controller of
    /// the cluster creates it; returns the stored entry. An object already
    /// at `key` is replaced: callers check first.
    pub fn insert_created(&mut self, key: String, mut object: Value, at_ms: u64) -> Entry {
        let rv = self.next_resource_version();
        meta::stamp_new(&mut object, &rv, at_ms);
        let entry = Entry {
            object,
            spec_changed_ms: at_ms,
            changed_ms: at_ms,
        };
        self.objects.insert(key, entry.clone());
        entry
    }

    /// Stores `object` at `key` as a controller changes it at `at_ms` (the
    /// next resource version; generation and spec time kept); returns the
    /// `MODIFIED` event. When the change leaves an object being deleted
    /// without finalizers, it is removed instead (`DELETED`). Nothing
    /// happens when there is no object at `key`.
    pub fn write(&mut self, key: &str, mut object: Value, at_ms: u64) -> Vec<Event> {
        let Some(old) = self.objects.get(key) else {
            return Vec::new();
        };
        let spec_changed_ms = old.spec_changed_ms;
        if finalizers::finished(&object, prefix_of(key) == "/namespaces") {
            return self.remove(key).into_iter().collect();
        }
        let rv = self.next_resource_version();
        meta::metadata_mut(&mut object).insert("resourceVersion".into(), json!(rv));
        let entry = Entry {
            object,
            spec_changed_ms,
            changed_ms: at_ms,
        };
        self.objects.insert(key.to_string(), entry.clone());
        vec![Event {
            kind: "MODIFIED",
            prefix: prefix_of(key),
            entry,
            rv: self.resource_version,
        }]
    }

    /// Removes the object at `key` now; returns its `DELETED` event.
    pub fn remove(&mut self, key: &str) -> Option<Event> {
        let mut entry = self.objects.remove(key)?;
        let rv = self.next_resource_version();
        meta::metadata_mut(&mut entry.object).insert("resourceVersion".into(), json!(rv));
        Some(Event {
            kind: "DELETED",
            prefix: prefix_of(key),
            entry,
            rv: self.resource_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_store_has_system_namespaces_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::load(dir.path()).unwrap();
        assert!(store
            .get(&key("/namespaces", None, "kube-system"))
            .is_some());
        assert!(store
            .get(&key("/services", Some("default"), "kubernetes"))
            .is_some());
        store.save(dir.path()).unwrap();
        assert_eq!(Store::load(dir.path()).unwrap(), store);
    }

    #[test]
    fn list_and_prefix_removal_stay_within_bounds() {
        let mut store = Store::default();
        for (ns, name) in [("a", "x"), ("ab", "y"), ("a", "z")] {
            store.objects.insert(
                key("/configmaps", Some(ns), name),
                Entry {
                    object: json!({}),
                    spec_changed_ms: 0,
                    changed_ms: 0,
                },
            );
        }
        assert_eq!(store.list("/configmaps", Some("a")).len(), 2);
        assert_eq!(store.list("/configmaps", None).len(), 3);
        assert_eq!(store.remove_prefix("/configmaps").len(), 3);
        assert_eq!(namespace_of(&key("/configmaps", Some("ab"), "y")), "ab");
    }
}
