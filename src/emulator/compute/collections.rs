//! The emulated compute collections: their names, scopes, schemas and kinds,
//! and which collection a discovery method id is about.

/// Where resources of a collection live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// `projects/p/global/…`
    Global,
    /// `projects/p/regions/r/…`
    Regional,
    /// `projects/p/zones/z/…`
    Zonal,
}

/// One emulated collection.
#[derive(Debug)]
pub struct Collection {
    /// Collection name in paths, e.g. `forwardingRules`.
    pub name: &'static str,
    /// Global, regional or zonal.
    pub scope: ScopeKind,
    /// Request/response schema, e.g. `ForwardingRule`.
    pub schema: &'static str,
    /// `kind` of one resource, e.g. `compute#forwardingRule`.
    pub kind: &'static str,
    /// Path parameter holding the resource name, e.g. `forwardingRule`.
    pub param: &'static str,
}

/// All emulated collections.
pub const COLLECTIONS: &[Collection] = &[
    Collection {
        name: "networks",
        scope: ScopeKind::Global,
        schema: "Network",
        kind: "compute#network",
        param: "network",
    },
    Collection {
        name: "subnetworks",
        scope: ScopeKind::Regional,
        schema: "Subnetwork",
        kind: "compute#subnetwork",
        param: "subnetwork",
    },
    Collection {
        name: "routers",
        scope: ScopeKind::Regional,
        schema: "Router",
        kind: "compute#router",
        param: "router",
    },
    Collection {
        name: "firewalls",
        scope: ScopeKind::Global,
        schema: "Firewall",
        kind: "compute#firewall",
        param: "firewall",
    },
    Collection {
        name: "forwardingRules",
        scope: ScopeKind::Regional,
        schema: "ForwardingRule",
        kind: "compute#forwardingRule",
        param: "forwardingRule",
    },
    Collection {
        name: "instances",
        scope: ScopeKind::Zonal,
        schema: "Instance",
        kind: "compute#instance",
        param: "instance",
    },
];

/// The collection and verb of a method id such as `compute.subnetworks.insert`.
pub fn collection_of(method_id: &str) -> Option<(&'static Collection, &str)> {
    let mut parts = method_id.split('.');
    let (Some("compute"), Some(name), Some(verb)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    COLLECTIONS
        .iter()
        .find(|c| c.name == name)
        .map(|c| (c, verb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_ids_map_to_collections() {
        let (c, verb) = collection_of("compute.forwardingRules.aggregatedList").expect("known");
        assert_eq!((c.name, verb), ("forwardingRules", "aggregatedList"));
        assert!(collection_of("compute.globalOperations.get").is_none());
    }
}
