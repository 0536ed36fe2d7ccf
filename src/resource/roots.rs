//! Which root CAs exist, which one signs the intermediates, and which ones
//! every cluster trusts — decided from the plan file's root, the roots in
//! state and whether the user asked to rotate (pure). A changed root is
//! rotated in the three phases of MESH.md, one `apply --rotate-root` each;
//! the phase a rotation is in is what state holds: both roots, and which
//! one signed the intermediates.

use crate::address::Address;
use crate::kinds::intermediate_ca::IntermediateCaSpec;
use crate::kinds::root_ca::RootCaSpec;
use crate::kinds::{spec_of, ResourceKind};
use crate::state::State;

/// The roots of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RootPlan {
    /// The roots that must exist, by entry name (also their address name).
    pub roots: Vec<RootCaSpec>,
    /// The entry whose root signs the intermediates.
    pub signing: String,
    /// The entries every cluster's `cacerts` trusts, old first.
    pub trusted: Vec<String>,
    /// Where a rotation stands, for plan output; `None` when none runs.
    pub note: Option<String>,
    /// What to say after an apply of this plan succeeds.
    pub after_apply: Option<String>,
}

/// Why the roots cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootPlanError {
    /// The root changed and no rotation was asked for.
    #[error("the mesh's root CA in [mesh.ca] differs from root {current} in state")]
    ChangedWithoutRotation {
        /// The root in state.
        current: String,
    },
    /// The root changed again while a rotation was under way.
    #[error(
        "a root rotation from {old} to {new} is under way, and [mesh.ca] now asks for a third root"
    )]
    ChangedDuringRotation {
        /// The root being replaced.
        old: String,
        /// The root replacing it.
        new: String,
    },
}

/// The address of root entry `name`.
pub fn root_address(name: &str) -> Address {
    Address::new(ResourceKind::RootCa, name)
}

/// The entry name of the first root.
pub const FIRST_ROOT: &str = "root";

/// The entry after `name`: `root` → `root-2` → `root-3`.
fn next_name(name: &str) -> String {
    let n = name
        .strip_prefix("root-")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1);
    format!("root-{}", n + 1)
}

impl RootPlan {
    /// One root, `wanted`, as entry `name`: nothing is rotating.
    pub fn steady(wanted: &RootCaSpec, name: &str) -> RootPlan {
        RootPlan {
            roots: vec![RootCaSpec {
                name: name.to_string(),
                ..wanted.clone()
            }],
            signing: name.to_string(),
            trusted: vec![name.to_string()],
            note: None,
            after_apply: None,
        }
    }

    /// The roots for `wanted` (the plan file's root) given the roots and
    /// intermediates in `state`; `rotate`: the user passed `--rotate-root`.
    ///
    /// # Errors
    /// A changed root without `rotate`, or a third root mid-rotation.
    pub fn decide(
        wanted: &RootCaSpec,
        state: &State,
        rotate: bool,
    ) -> Result<RootPlan, RootPlanError> {
        let mut roots: Vec<RootCaSpec> = state
            .resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::RootCa)
            .filter_map(|r| spec_of::<RootCaSpec>(ResourceKind::RootCa, &r.attributes).ok())
            .collect();
        roots.sort_by_key(|r| generation(&r.name));
        let signers: Vec<String> = state
            .resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::IntermediateCa)
            .filter_map(|r| {
                spec_of::<IntermediateCaSpec>(ResourceKind::IntermediateCa, &r.attributes).ok()
            })
            .map(|i| i.root)
            .collect();
        match roots.as_slice() {
            [] => Ok(RootPlan::steady(wanted, FIRST_ROOT)),
            [current] if current.same_root(wanted) => Ok(RootPlan::steady(wanted, &current.name)),
            [current] if !rotate => Err(RootPlanError::ChangedWithoutRotation {
                current: current.name.clone(),
            }),
            [old] => {
                let new = next_name(&old.name);
                Ok(RootPlan {
                    roots: vec![old.clone(), RootCaSpec { name: new.clone(), ..wanted.clone() }],
                    signing: old.name.clone(),
                    trusted: vec![old.name.clone(), new.clone()],
                    note: Some(format!(
                        "root rotation, phase 1 of 3: root {new} is made and every cluster trusts both {} and {new}; intermediates stay signed by {}",
                        old.name, old.name
                    )),
                    after_apply: Some(format!(
                        "Root rotation: phase 1 of 3 done (every cluster trusts {} and {new}). Restart workloads where needed, then run `meshform apply --rotate-root` again for phase 2: new intermediates signed by {new}.",
                        old.name
                    )),
                })
            }
            [old, new, ..] => {
                if !new.same_root(wanted) {
                    return Err(RootPlanError::ChangedDuringRotation {
                        old: old.name.clone(),
                        new: new.name.clone(),
                    });
                }
                let new_signs = !signers.is_empty() && signers.iter().all(|s| s == &new.name);
                let both = vec![old.name.clone(), new.name.clone()];
                let keep = |signing: &str, note: String| RootPlan {
                    roots: vec![old.clone(), new.clone()],
                    signing: signing.to_string(),
                    trusted: both.clone(),
                    note: Some(note),
                    after_apply: None,
                };
                Ok(match (new_signs, rotate) {
                    (false, false) => keep(
                        &old.name,
                        format!("root rotation: phase 1 of 3 is done; run `meshform apply --rotate-root` for phase 2 (intermediates signed by {})", new.name),
                    ),
                    (true, false) => keep(
                        &new.name,
                        format!("root rotation: phase 2 of 3 is done; run `meshform apply --rotate-root` for phase 3 (root {} removed)", old.name),
                    ),
                    (false, true) => RootPlan {
                        after_apply: Some(format!(
                            "Root rotation: phase 2 of 3 done (intermediates signed by {}; both roots still trusted). Once workloads have new certificates, run `meshform apply --rotate-root` again for phase 3: root {} removed.",
                            new.name, old.name
                        )),
                        ..keep(
                            &new.name,
                            format!("root rotation, phase 2 of 3: intermediates are re-issued, signed by {}; every cluster still trusts both roots", new.name),
                        )
                    },
                    (true, true) => RootPlan {
                        roots: vec![new.clone()],
                        signing: new.name.clone(),
                        trusted: vec![new.name.clone()],
                        note: Some(format!(
                            "root rotation, phase 3 of 3: root {} is removed from every cluster's trust and deleted",
                            old.name
                        )),
                        after_apply: Some(format!(
                            "Root rotation: done. Every cluster trusts only root {}.",
                            new.name
                        )),
                    },
                })
            }
        }
    }
}

/// `root` → 1, `root-2` → 2.
fn generation(name: &str) -> u32 {
    name.strip_prefix("root-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::attrs_of;
    use crate::plan::KeyType;
    use crate::state::StateResource;

    fn root(name: &str, key_type: KeyType) -> RootCaSpec {
        RootCaSpec {
            name: name.into(),
            key_type: Some(key_type),
            validity_days: Some(3650),
            brought: None,
            cert_file: None,
            key_file: None,
        }
    }

    fn state(roots: &[RootCaSpec], signer: &str) -> State {
        let mut s = State::new();
        for r in roots {
            s.resources.push(StateResource {
                address: root_address(&r.name),
                ids: Default::default(),
                attributes: attrs_of(r),
                dependencies: vec![],
                outputs: Default::default(),
            });
        }
        s.resources.push(StateResource {
            address: Address::new(ResourceKind::IntermediateCa, "eu"),
            ids: Default::default(),
            attributes: attrs_of(&IntermediateCaSpec {
                name: "intermediate-c1".into(),
                cluster: "c1".into(),
                key_type: KeyType::Rsa4096,
                validity_days: 365,
                reissue_window_days: 30,
                root: signer.into(),
                root_fingerprint: crate::resource::outputs::Known::Value("sha256:x".into()),
            }),
            dependencies: vec![],
            outputs: Default::default(),
        });
        s
    }

    #[test]
    fn a_rotation_goes_through_three_phases_one_apply_each() {
        let old = root("root", KeyType::Rsa4096);
        let wanted = root("", KeyType::EcdsaP256);
        let s0 = state(std::slice::from_ref(&old), "root");
        assert_eq!(
            RootPlan::decide(&wanted, &s0, false),
            Err(RootPlanError::ChangedWithoutRotation {
                current: "root".into()
            })
        );
        let p1 = RootPlan::decide(&wanted, &s0, true).unwrap();
        assert_eq!(p1.trusted, ["root", "root-2"]);
        assert_eq!(p1.signing, "root");
        let new = RootCaSpec {
            name: "root-2".into(),
            ..wanted.clone()
        };
        let s1 = state(&[old.clone(), new.clone()], "root");
        assert_eq!(
            RootPlan::decide(&wanted, &s1, false).unwrap().signing,
            "root",
            "phase 1 holds"
        );
        let p2 = RootPlan::decide(&wanted, &s1, true).unwrap();
        assert_eq!((p2.signing.as_str(), p2.trusted.len()), ("root-2", 2));
        let s2 = state(&[old, new.clone()], "root-2");
        let p3 = RootPlan::decide(&wanted, &s2, true).unwrap();
        assert_eq!(p3.trusted, ["root-2"]);
        assert_eq!(p3.roots, std::slice::from_ref(&new));
        let s3 = state(&[new], "root-2");
        let steady = RootPlan::decide(&wanted, &s3, false).unwrap();
        assert_eq!((steady.signing.as_str(), steady.note), ("root-2", None));
        let third = root("", KeyType::Rsa4096);
        assert!(matches!(
            RootPlan::decide(&third, &s2, true),
            Err(RootPlanError::ChangedDuringRotation { .. })
        ));
    }
}
