//! Resource addresses: `KIND.NAME`, e.g. `subnet.europe-west2`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use crate::resource::ResourceKind;

/// The stable identity of one resource in the graph, state and change set.
///
/// Regional resources are named after their region (`subnet.europe-west2`),
/// global ones after their GCP name (`firewall.allow-iap-ssh`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// What kind of resource this is.
    pub kind: ResourceKind,
    /// The name within the kind.
    pub name: String,
}

impl Address {
    /// An address of `kind` named `name`.
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// An address string that is not `KIND.NAME` with a known kind.
#[derive(Debug, thiserror::Error)]
#[error("invalid resource address {0:?}: expected KIND.NAME, e.g. subnet.europe-west2 (kinds: {kinds})", kinds = ResourceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))]
pub struct AddressParseError(pub String);

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('.')
            .ok_or_else(|| AddressParseError(s.to_string()))?;
        let kind = *ResourceKind::ALL
            .iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| AddressParseError(s.to_string()))?;
        if name.is_empty() {
            return Err(AddressParseError(s.to_string()));
        }
        Ok(Address::new(kind, name))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_its_string_form() {
        let a: Address = "subnet.europe-west2".parse().unwrap();
        assert_eq!(a, Address::new(ResourceKind::Subnet, "europe-west2"));
        assert_eq!(a.to_string(), "subnet.europe-west2");
    }

    #[test]
    fn address_with_unknown_kind_is_rejected_with_the_known_kinds() {
        let err = "bucket.x".parse::<Address>().unwrap_err().to_string();
        assert!(
            err.contains("network, subnet, router, firewall, cluster"),
            "{err}"
        );
    }
}
