//! Which stored object uses which: a subnet its network; a router, firewall
//! rule, forwarding rule, backend service, NEG or instance its network and
//! subnets; a forwarding rule its backend service; a backend service its
//! health checks and NEGs; a GKE cluster its network and subnet. Delete checks ask it ("is this network still in
//! use?") without knowing any API.
//!
//! The index is read from the stored JSON itself, so it cannot go stale: a
//! reference is any string that names a stored object, either as a link
//! against [`CANONICAL_BASE`] (how compute stores references) or as a
//! relative path `projects/…` (how a cluster stores its `networkConfig`).
//! An object's own `selfLink` is not a use. Resources of pending inserts
//! count as users too: a network whose subnet is being created is in use.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Effect, World, CANONICAL_BASE};

/// One object that uses another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Relative path of the user, e.g. `projects/p/regions/r/routers/nat`.
    pub rel: String,
    /// Its collection, e.g. `routers` or `clusters`.
    pub collection: String,
    /// Whether it exists only as a pending insert.
    pub pending: bool,
}

/// The users of every referenced object, built from a [`World`] by [`Uses::of`].
#[derive(Debug, Clone, Default)]
pub struct Uses {
    users: BTreeMap<String, Vec<User>>,
}

impl Uses {
    /// Indexes every stored resource and every pending insert of `world`.
    pub fn of(world: &World) -> Uses {
        let mut uses = Uses::default();
        for (rel, resource) in &world.resources {
            uses.add(rel, resource, false);
        }
        for op in world.operations.values().filter(|op| !op.applied) {
            if let Effect::Insert { resource } = &op.effect {
                uses.add(&op.target, resource, true);
            }
        }
        uses
    }

    fn add(&mut self, user: &str, resource: &Value, pending: bool) {
        let mut used = Vec::new();
        references(resource, &mut used);
        used.sort_unstable();
        used.dedup();
        let collection = collection_of(user);
        for rel in used.into_iter().filter(|r| *r != user) {
            self.users.entry(rel.to_string()).or_default().push(User {
                rel: user.to_string(),
                collection: collection.to_string(),
                pending,
            });
        }
    }

    /// Every user of `rel` (existing ones first, then pending inserts).
    pub fn users_of(&self, rel: &str) -> Vec<&User> {
        let mut users: Vec<&User> = self.users.get(rel).into_iter().flatten().collect();
        users.sort_by_key(|u| u.pending);
        users
    }

    /// The user of `rel` an "in use" error names: the first in the first of
    /// `collections` that has one (other collections are not asked).
    pub fn first_user_in(&self, rel: &str, collections: &[&str]) -> Option<String> {
        let users = self.users_of(rel);
        collections.iter().find_map(|c| {
            users
                .iter()
                .find(|u| u.collection == *c)
                .map(|u| u.rel.clone())
        })
    }
}

/// The collection of relative path `rel` (`projects/p/global/networks/n` → `networks`).
fn collection_of(rel: &str) -> &str {
    rel.rsplit('/').nth(1).unwrap_or_default()
}

/// Collects the relative paths `value` refers to (not through `selfLink`).
fn references<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => {
            let rel = s.strip_prefix(CANONICAL_BASE).unwrap_or(s);
            if rel.starts_with("projects/") && rel.split('/').count() >= 4 {
                out.push(rel);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| references(v, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "selfLink" | "selfLinkWithId"))
            .for_each(|(_, v)| references(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::world::{link, OperationRecord};
    use serde_json::json;

    const NET: &str = "projects/p/global/networks/vpc";
    const SUBNET: &str = "projects/p/regions/r/subnetworks/s";

    fn world() -> World {
        let mut w = World::default();
        w.resources
            .insert(NET.into(), json!({"selfLink": link(NET)}));
        w.resources.insert(
            SUBNET.into(),
            json!({"network": link(NET), "region": link("projects/p/regions/r"), "selfLink": link(SUBNET)}),
        );
        w.resources.insert(
            "projects/p/locations/r-a/clusters/c".into(),
            json!({"network": "vpc", "networkConfig": {"network": NET, "subnetwork": SUBNET}}),
        );
        w
    }

    #[test]
    fn links_and_relative_paths_are_uses_and_self_links_are_not() {
        let uses = Uses::of(&world());
        let names = |rel: &str| -> Vec<String> {
            uses.users_of(rel).iter().map(|u| u.rel.clone()).collect()
        };
        assert_eq!(
            names(NET),
            [
                "projects/p/locations/r-a/clusters/c",
                "projects/p/regions/r/subnetworks/s"
            ]
        );
        assert_eq!(names(SUBNET), ["projects/p/locations/r-a/clusters/c"]);
        assert!(names("projects/p/locations/r-a/clusters/c").is_empty());
    }

    #[test]
    fn pending_inserts_use_too_and_the_collection_order_picks_the_user_named() {
        let mut w = world();
        let router = "projects/p/regions/r/routers/nat";
        let op = OperationRecord {
            id: 1,
            name: "op".into(),
            project: "p".into(),
            scope: "regions/r".into(),
            operation_type: "insert".into(),
            target: router.into(),
            target_id: 2,
            insert_ms: 0,
            start_ms: 0,
            done_ms: 100,
            effect: Effect::Insert {
                resource: json!({"network": link(NET)}),
            },
            error: None,
            applied: false,
            request_id: None,
        };
        w.operations.insert(op.rel(), op);
        let uses = Uses::of(&w);
        assert!(uses.users_of(NET).last().is_some_and(|u| u.pending));
        assert_eq!(
            uses.first_user_in(NET, &["routers", "clusters"]).as_deref(),
            Some(router)
        );
        assert_eq!(
            uses.first_user_in(NET, &["clusters", "routers"]).as_deref(),
            Some("projects/p/locations/r-a/clusters/c")
        );
        assert_eq!(uses.first_user_in(NET, &["instances"]), None);
    }
}
