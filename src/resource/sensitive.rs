//! Sensitive values: secret material (a key, a token) never travels in
//! attributes. Specs, state, saved plans and plan output hold a
//! [`Sensitive`] — the material's digest — and the material itself lives in
//! the secret store beside the state (`state::SecretStore`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

use super::outputs::digest;

/// A sensitive value as attributes hold it: `{"sensitive": "sha256:…"}`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitive {
    /// The digest of the material.
    pub sensitive: String,
}

impl Sensitive {
    /// The reference to `material`.
    pub fn of(material: &[u8]) -> Self {
        Sensitive {
            sensitive: digest(material),
        }
    }

    /// The sensitive value `v` holds, if it is one.
    pub fn from_value(v: &Value) -> Option<Sensitive> {
        let object = v.as_object().filter(|o| o.len() == 1)?;
        object.get("sensitive")?;
        serde_json::from_value(v.clone()).ok()
    }

    /// The digest without its algorithm prefix.
    pub fn hex(&self) -> &str {
        self.sensitive
            .strip_prefix("sha256:")
            .unwrap_or(&self.sensitive)
    }
}

/// `(sensitive, sha256:0123abcd)`: the short digest tells changes apart.
impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        write!(f, "(sensitive, sha256:{})", &hex[..hex.len().min(8)])
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Secret material in memory: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Material(pub Vec<u8>);

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Material(sensitive)")
    }
}

impl Material {
    /// Its reference.
    pub fn reference(&self) -> Sensitive {
        Sensitive::of(&self.0)
    }
}
