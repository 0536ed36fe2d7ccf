//! Custom resources: the resource types that applied
//! CustomResourceDefinitions add, and the status the server gives a CRD.

use serde_json::{json, Value};

use super::resources::ResourceType;
use super::store::Store;

/// Store prefix of CustomResourceDefinitions.
pub const CRD_PREFIX: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// One resource type per served version of every stored CRD.
pub fn types(store: &Store) -> Vec<ResourceType> {
    store
        .list(CRD_PREFIX, None)
        .into_iter()
        .flat_map(|e| types_of(&e.object))
        .collect()
}

/// The resource types one CRD defines (served versions, storage version first).
pub fn types_of(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let (group, plural, kind) = (s(&spec["group"]), s(&names["plural"]), s(&names["kind"]));
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Vec::new();
    }
    let singular = match names["singular"].as_str() {
        Some(x) if !x.is_empty() => x.to_string(),
        _ => kind.to_lowercase(),
    };
    let short_names: Vec<String> = names["shortNames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut versions: Vec<&Value> = spec["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["served"].as_bool() != Some(false))
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|v| v["storage"].as_bool() != Some(true));
    versions
        .into_iter()
        .filter_map(|v| {
            let version = v["name"].as_str()?.to_string();
            Some(ResourceType {
                group: group.clone(),
                version,
                plural: plural.clone(),
                singular: singular.clone(),
                kind: kind.clone(),
                namespaced,
                short_names: short_names.clone(),
                status_subresource: v["subresources"].get("status").is_some(),
            })
        })
        .collect()
}

/// The store prefix of a CRD's custom resources.
pub fn resource_prefix(crd: &Value) -> Option<String> {
    let group = crd["spec"]["group"].as_str()?;
    let plural = crd["spec"]["names"]["plural"].as_str()?;
    Some(format!("{group}/{plural}"))
}

/// The status a CRD gets once accepted: names accepted, established.
pub fn status(crd: &Value, now: &str) -> Value {
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "lastTransitionTime": now,
               "reason": reason, "message": message})
    };
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["storage"].as_bool() == Some(true))
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_versions_become_types() {
        let crd = json!({"spec": {"group": "networking.istio.io", "scope": "Namespaced",
            "names": {"plural": "gateways", "singular": "gateway", "kind": "Gateway", "shortNames": ["gw"]},
            "versions": [{"name": "v1alpha3", "served": true, "storage": false},
                         {"name": "v1beta1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v1old", "served": false, "storage": false}]}});
        let types = types_of(&crd);
        assert_eq!(types.len(), 2);
        assert_eq!(types[0].version, "v1beta1");
        assert!(types[0].status_subresource);
        assert_eq!(types[1].short_names, vec!["gw".to_string()]);
        assert_eq!(status(&crd, "t")["storedVersions"], json!(["v1beta1"]));
    }
}
