//! How long one step may take: meshform's default per kind and verb, and
//! the plan file's `[timeouts]` over them. The resolved limits travel in the
//! change set, so a saved plan applies with the limits it was planned with.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::ResourceKind;
use crate::plan::TimeoutSettings;

/// What a step does, for its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    /// Create (also the second half of a replace).
    Create,
    /// Update in place.
    Update,
    /// Delete (also the first half of a replace).
    Delete,
}

impl Verb {
    /// The verb as written in `[timeouts]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// meshform's default limit, from the kind's module: Terraform's Google
/// provider defaults (20 minutes for compute resources; GKE clusters 45
/// minutes to create or delete and an hour to update), and 5 minutes for
/// Kubernetes objects.
pub fn default_limit(kind: ResourceKind, verb: Verb) -> Duration {
    let limits = kind.behaviour().limits();
    let minutes = match verb {
        Verb::Create => limits.create,
        Verb::Update => limits.update,
        Verb::Delete => limits.delete,
    };
    Duration::from_secs(minutes * 60)
}

/// The limits in force: defaults, with the plan file's overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// `KIND.VERB` → seconds, for the limits the plan file sets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    overrides: BTreeMap<String, u64>,
}

impl Timeouts {
    /// The limits of a validated `[timeouts]` section (values that do not
    /// parse keep the default; validation has reported them).
    pub fn from_settings(settings: &TimeoutSettings) -> Timeouts {
        let mut overrides = BTreeMap::new();
        for (kind, verbs) in settings.by_kind() {
            for (verb, text) in verbs.into_iter().flat_map(|v| v.by_verb()) {
                if let Some(d) = text.and_then(|t| humantime::parse_duration(t).ok()) {
                    overrides.insert(format!("{kind}.{verb}"), d.as_secs().max(1));
                }
            }
        }
        Timeouts { overrides }
    }

    /// How long a `verb` of `kind` may take.
    pub fn limit(&self, kind: ResourceKind, verb: Verb) -> Duration {
        self.overrides
            .get(&format!("{kind}.{verb}"))
            .map(|s| Duration::from_secs(*s))
            .unwrap_or_else(|| default_limit(kind, verb))
    }

    /// Where the limit comes from, for messages: `timeouts.cluster.create = "40m"`
    /// or `the default 45m (set timeouts.cluster.create to change it)`.
    pub fn describe(&self, kind: ResourceKind, verb: Verb) -> String {
        let limit = humantime::format_duration(self.limit(kind, verb));
        if self.overrides.contains_key(&format!("{kind}.{verb}")) {
            format!("timeouts.{kind}.{verb} = \"{limit}\"")
        } else {
            format!(
                "the default of {limit} (set timeouts.{kind}.{verb} in the plan file to change it)"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::VerbTimeouts;

    #[test]
    fn plan_file_limits_override_the_defaults_of_their_kind_and_verb_only() {
        let settings = TimeoutSettings(
            [(
                ResourceKind::Cluster,
                VerbTimeouts {
                    create: Some("1h30m".into()),
                    ..Default::default()
                },
            )]
            .into(),
        );
        let t = Timeouts::from_settings(&settings);
        assert_eq!(
            t.limit(ResourceKind::Cluster, Verb::Create),
            Duration::from_secs(5400)
        );
        assert_eq!(
            t.limit(ResourceKind::Cluster, Verb::Delete),
            Duration::from_secs(45 * 60)
        );
        assert_eq!(
            t.limit(ResourceKind::Network, Verb::Create),
            Duration::from_secs(20 * 60)
        );
        assert_eq!(
            t.describe(ResourceKind::Cluster, Verb::Create),
            "timeouts.cluster.create = \"1h 30m\""
        );
        assert!(t
            .describe(ResourceKind::Subnet, Verb::Delete)
            .contains("default of 20m"));
    }
}
