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
    /// Collection name in method ids, e.g. `forwardingRules` or
    /// `regionBackendServices`.
    pub name: &'static str,
    /// The collection's segment in resource paths, e.g. `forwardingRules`
    /// or `backendServices` (for `regionBackendServices`).
    pub path: &'static str,
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
        path: "networks",
        scope: ScopeKind::Global,
        schema: "Network",
        kind: "compute#network",
        param: "network",
    },
    Collection {
        name: "subnetworks",
        path: "subnetworks",
        scope: ScopeKind::Regional,
        schema: "Subnetwork",
        kind: "compute#subnetwork",
        param: "subnetwork",
    },
    Collection {
        name: "routers",
        path: "routers",
        scope: ScopeKind::Regional,
        schema: "Router",
        kind: "compute#router",
        param: "router",
    },
    Collection {
        name: "firewalls",
        path: "firewalls",
        scope: ScopeKind::Global,
        schema: "Firewall",
        kind: "compute#firewall",
        param: "firewall",
    },
    Collection {
        name: "forwardingRules",
        path: "forwardingRules",
        scope: ScopeKind::Regional,
        schema: "ForwardingRule",
        kind: "compute#forwardingRule",
        param: "forwardingRule",
    },
    Collection {
        name: "instances",
        path: "instances",
        scope: ScopeKind::Zonal,
        schema: "Instance",
        kind: "compute#instance",
        param: "instance",
    },
    Collection {
        name: "regionBackendServices",
        path: "backendServices",
        scope: ScopeKind::Regional,
        schema: "BackendService",
        kind: "compute#backendService",
        param: "backendService",
    },
    Collection {
        name: "healthChecks",
        path: "healthChecks",
        scope: ScopeKind::Global,
        schema: "HealthCheck",
        kind: "compute#healthCheck",
        param: "healthCheck",
    },
    Collection {
        name: "networkEndpointGroups",
        path: "networkEndpointGroups",
        scope: ScopeKind::Zonal,
        schema: "NetworkEndpointGroup",
        kind: "compute#networkEndpointGroup",
        param: "networkEndpointGroup",
    },
];

/// Method collections that name another collection: the aggregated list of
/// `backendServices` (global and regional) holds the regional ones, the
/// only backend services emulated.
const ALIASES: &[(&str, &str)] = &[("backendServices", "regionBackendServices")];

/// The collection and verb of a method id such as `compute.subnetworks.insert`.
pub fn collection_of(method_id: &str) -> Option<(&'static Collection, &str)> {
    let mut parts = method_id.split('.');
    let (Some("compute"), Some(name), Some(verb)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, target)| *target);
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
        let (c, _) = collection_of("compute.backendServices.aggregatedList").expect("alias");
        assert_eq!(
            (c.name, c.path),
            ("regionBackendServices", "backendServices")
        );
    }
}
