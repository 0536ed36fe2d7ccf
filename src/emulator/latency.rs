//! How long each operation takes in emulated time.
//!
//! Durations are the typical wall-clock times observed on real Compute Engine,
//! rounded. The emulator multiplies them by `EmulatorConfig::latency_scale`.
//!
//! | collection        | insert | patch | delete |
//! |-------------------|-------:|------:|-------:|
//! | `networks`        |  12 s  |  8 s  |  12 s  |
//! | `subnetworks`     |  15 s  | 10 s  |  14 s  |
//! | `routers`         |   6 s  |  5 s  |   6 s  |
//! | `firewalls`       |   6 s  |  6 s  |   6 s  |
//! | `forwardingRules` |  20 s  |  8 s  |  18 s  |
//! | `instances`       |  25 s  |   —   |  30 s  |
//! | `regionBackendServices` | 10 s | 8 s | 10 s |
//! | `healthChecks`    |   6 s  |  6 s  |   6 s  |
//! | `networkEndpointGroups` | 5 s | — |  5 s  |
//!
//! GKE clusters (verbs as in the container API):
//!
//! | collection | create | update | delete |
//! |------------|-------:|-------:|-------:|
//! | `clusters` | 360 s  |  60 s  | 240 s  |
//!
//! `set…` methods (e.g. `subnetworks.setPrivateIpGoogleAccess`) take as long
//! as a patch of their collection. Anything else (reads, unknown pairs) takes
//! no emulated time.

use std::time::Duration;

/// `(collection, verb, seconds)`: the one table of base durations.
const TABLE: &[(&str, &str, u64)] = &[
    ("networks", "insert", 12),
    ("networks", "patch", 8),
    ("networks", "delete", 12),
    ("subnetworks", "insert", 15),
    ("subnetworks", "patch", 10),
    ("subnetworks", "delete", 14),
    ("routers", "insert", 6),
    ("routers", "patch", 5),
    ("routers", "delete", 6),
    ("firewalls", "insert", 6),
    ("firewalls", "patch", 6),
    ("firewalls", "delete", 6),
    ("forwardingRules", "insert", 20),
    ("forwardingRules", "patch", 8),
    ("forwardingRules", "delete", 18),
    ("instances", "insert", 25),
    ("instances", "delete", 30),
    ("regionBackendServices", "insert", 10),
    ("regionBackendServices", "patch", 8),
    ("regionBackendServices", "delete", 10),
    ("healthChecks", "insert", 6),
    ("healthChecks", "patch", 6),
    ("healthChecks", "delete", 6),
    ("networkEndpointGroups", "insert", 5),
    ("networkEndpointGroups", "delete", 5),
    ("clusters", "create", 360),
    ("clusters", "update", 60),
    ("clusters", "delete", 240),
];

/// Unscaled emulated duration of `verb` (`insert`, `patch`, `delete`; for
/// `clusters` `create`, `update`, `delete`) on `collection` (`networks`,
/// `subnetworks`, …, `clusters`), as in the tables above.
/// Unknown pairs take [`Duration::ZERO`].
pub fn base_duration(collection: &str, verb: &str) -> Duration {
    TABLE
        .iter()
        .find(|(c, v, _)| *c == collection && *v == verb)
        .map(|(_, _, s)| Duration::from_secs(*s))
        .unwrap_or(Duration::ZERO)
}

/// The base duration multiplied by `scale` (negative or NaN scales count as 0).
pub fn scaled_duration(collection: &str, verb: &str, scale: f64) -> Duration {
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        0.0
    };
    base_duration(collection, verb).mul_f64(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_insert_is_slower_than_router_insert() {
        assert!(base_duration("subnetworks", "insert") > base_duration("routers", "insert"));
        assert_eq!(base_duration("networks", "insert"), Duration::from_secs(12));
    }

    #[test]
    fn scaling_multiplies() {
        assert_eq!(
            scaled_duration("networks", "insert", 0.01),
            Duration::from_millis(120)
        );
        assert_eq!(scaled_duration("networks", "get", 1.0), Duration::ZERO);
        assert_eq!(
            scaled_duration("networks", "insert", f64::NAN),
            Duration::ZERO
        );
    }
}
