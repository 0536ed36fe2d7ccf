//! Discovery documents as kube-rs and kubectl read them: `/version`,
//! `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`,
//! and a minimal OpenAPI v3 (`/openapi/v3`) that tells kubectl every PATCH
//! takes `fieldValidation`, so it leaves validation to the server.
//!
//! Aggregated discovery (`as=APIGroupDiscoveryList`) is not served: clients
//! receive the legacy documents with `Content-Type: application/json` and
//! fall back to them.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::{json, Value};

use super::resources::{self, ResourceType, VERBS};

/// The Kubernetes version the emulated clusters claim.
pub const GIT_VERSION: &str = "v1.33.2-gke.1111000";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-06-01T00:00:00Z",
        "goVersion": "go1.24.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions(address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    })
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs[0].clone()})
}

/// `/apis`: every group except the core group.
pub fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = resources::groups(types)
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`.
pub fn group(types: &[ResourceType], name: &str) -> Option<Value> {
    let (g, vs) = resources::groups(types)
        .into_iter()
        .find(|(g, _)| g == name)?;
    let mut doc = group_doc(&g, &vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `/api/v1` or `/apis/{group}/{version}`: the APIResourceList.
pub fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let members: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    let first = members.first()?;
    let mut list = Vec::new();
    for t in &members {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        // `kubectl get all` lists the resources of category `all`.
        if matches!(
            (t.group.as_str(), t.plural.as_str()),
            ("", "services") | ("", "pods") | ("apps", "deployments")
        ) {
            r["categories"] = json!(["all"]);
        }
        list.push(r);
        if t.group == "apps" && t.plural == "deployments" {
            list.push(json!({
                "name": "deployments/scale",
                "singularName": "",
                "namespaced": true,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
        if t.status_subresource {
            list.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": first.api_version(),
        "resources": list,
    }))
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: one entry per group version.
pub fn openapi_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let key = gv_path(&t.group, &t.version);
        if paths.contains_key(&key) {
            continue;
        }
        let doc = openapi_group_version(types, &t.group, &t.version);
        let mut h = DefaultHasher::new();
        doc.to_string().hash(&mut h);
        let url = format!("/openapi/v3/{key}?hash={:016X}", h.finish());
        paths.insert(key, json!({ "serverRelativeURL": url }));
    }
    json!({ "paths": paths })
}

/// `/openapi/v3/{api/v1|apis/group/version}`: PATCH operations that accept
/// `fieldValidation`, each tagged with its group-version-kind. Schemas
/// allow anything.
pub fn openapi_group_version(types: &[ResourceType], group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for t in types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let ns = if t.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let path = format!("/{}/{ns}{}/{{name}}", gv_path(group, version), t.plural);
        let gvk = json!({"group": group, "version": version, "kind": t.kind});
        let param = |name: &str, place: &str| json!({"name": name, "in": place, "schema": {"type": "string", "uniqueItems": true}});
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patch{}", t.kind),
                    "parameters": [param("fieldManager", "query"), param("fieldValidation", "query"),
                                   param("force", "query"), param("dryRun", "query")],
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk.clone(),
                }
            }),
        );
        let schema_name = format!(
            "{}.{}",
            if group.is_empty() { "core" } else { group },
            t.kind
        );
        schemas.insert(
            schema_name,
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                   "x-kubernetes-group-version-kind": [gvk]}),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_core_and_groups() {
        let types = resources::built_in();
        let core = resource_list(&types, "", "v1").unwrap();
        assert_eq!(core["groupVersion"], "v1");
        assert!(core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "configmaps" && r["shortNames"][0] == "cm"));
        let apis = group_list(&types);
        assert!(apis["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "apps" && g["preferredVersion"]["version"] == "v1"));
        assert!(resource_list(&types, "apps", "v2").is_none());
        let root = openapi_root(&types);
        assert!(root["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .starts_with("/openapi/v3/apis/apps/v1?hash="));
    }
}
