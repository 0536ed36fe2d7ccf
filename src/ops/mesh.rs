//! The mesh's part of planning: rendering each cluster's control plane
//! (istioctl of the pinned version, or the emulated stand-in) into the
//! object store, so that the plan shows every object by reference and
//! digest and apply sends exactly those; and guarding the root of trust.

use std::collections::BTreeMap;

use super::PlanError;
use crate::changeset::{Action, Change, Reason};
use serde_json::json;

use crate::kinds::eastwest_gateway::EastwestGatewaySpec;
use crate::kinds::istio::{summary, IstioSpec};
use crate::kinds::istio_reader::{self, IstioReaderSpec};
use crate::kinds::samples::{self, SamplesSpec};
use crate::kinds::{attrs_of, spec_of, ResourceKind};
use crate::kube::ObjectRef;
use crate::mesh::Generator;
use crate::resource::DesiredResource;
use crate::state::ObjectStore;

/// `desired` with every control plane's and east-west gateway's objects
/// rendered by `generator` (the gateway's with meshform's
/// `cross-network-gateway`) and kept in `store`.
///
/// # Errors
/// A control plane but no generator, the generator fails, or it renders
/// an object twice.
pub async fn render_control_planes(
    desired: &[DesiredResource],
    generator: Option<&Generator>,
    store: &ObjectStore,
) -> Result<Vec<DesiredResource>, PlanError> {
    let mut out = desired.to_vec();
    for d in out.iter_mut() {
        match d.address.kind {
            ResourceKind::Istio => {
                let generator = generator.ok_or(PlanError::NoGenerator)?;
                let mut spec: IstioSpec = spec_of(ResourceKind::Istio, &d.attrs)?;
                note_rendering(d, generator);
                let objects = generator.generate(&spec.values).await?;
                spec.objects = track(&objects, &generator.describe(), store)?;
                spec.generator = generator.describe();
                spec.summary = summary(spec.objects.keys());
                d.attrs = attrs_of(&spec);
            }
            ResourceKind::EastwestGateway => {
                let generator = generator.ok_or(PlanError::NoGenerator)?;
                let kind = ResourceKind::EastwestGateway;
                let mut spec: EastwestGatewaySpec = spec_of(kind, &d.attrs)?;
                note_rendering(d, generator);
                let mut objects = generator.generate_gateway(&spec.values).await?;
                objects.push(
                    crate::kube::templates::render("cross-network-gateway.json", &json!({}))
                        .map_err(|e| PlanError::Render(e.to_string()))?,
                );
                spec.objects = track(&objects, &generator.describe(), store)?;
                spec.generator = generator.describe();
                spec.summary = summary(spec.objects.keys());
                d.attrs = attrs_of(&spec);
            }
            ResourceKind::Samples => {
                let kind = ResourceKind::Samples;
                let mut spec: SamplesSpec = spec_of(kind, &d.attrs)?;
                let context = samples::context(&spec.namespace, &spec.service);
                let rendered = crate::kube::templates::render(samples::TEMPLATE, &context)
                    .map_err(|e| PlanError::Render(e.to_string()))?;
                let objects = rendered.as_array().cloned().unwrap_or_default();
                spec.objects = track(&objects, "meshform's templates", store)?;
                d.attrs = attrs_of(&spec);
                continue;
            }
            ResourceKind::IstioReader => {
                let kind = ResourceKind::IstioReader;
                let mut spec: IstioReaderSpec = spec_of(kind, &d.attrs)?;
                let rendered = crate::kube::templates::render(istio_reader::TEMPLATE, &json!({}))
                    .map_err(|e| PlanError::Render(e.to_string()))?;
                let objects = rendered.as_array().cloned().unwrap_or_default();
                spec.objects = track(&objects, "meshform's templates", store)?;
                d.attrs = attrs_of(&spec);
                continue;
            }
            _ => continue,
        }
        if matches!(generator, Some(Generator::Emulated { .. })) {
            let what = match d.address.kind {
                ResourceKind::Istio => "a representative control plane",
                _ => "a representative east-west gateway",
            };
            d.notes.insert(
                "generator".into(),
                format!("EMULATION: {what} for the embedded emulator, not Istio's manifests"),
            );
        }
    }
    Ok(out)
}

fn note_rendering(d: &DesiredResource, generator: &Generator) {
    crate::progress::note(format!(
        "rendering {} with {}",
        d.address,
        generator.describe()
    ));
}

/// Puts every object `source` rendered in `store`: reference → digest.
fn track(
    objects: &[serde_json::Value],
    source: &str,
    store: &ObjectStore,
) -> Result<BTreeMap<String, String>, PlanError> {
    let mut tracked = BTreeMap::new();
    for object in objects {
        let r = ObjectRef::of(object)
            .expect("the manifest parser keeps only objects with apiVersion, kind and name")
            .to_string();
        let digest = store.put(object)?;
        if tracked.insert(r.clone(), digest).is_some() {
            return Err(PlanError::Render(format!("{source} renders {r} twice")));
        }
    }
    Ok(tracked)
}

/// Notes when each certificate about to be issued would expire, if
/// applied at `now` (an intermediate never outlives its root).
pub fn note_expiry(desired: &mut [DesiredResource], now: std::time::SystemTime) {
    let date = |days: u32| {
        let at = now + std::time::Duration::from_secs(u64::from(days) * 86_400);
        humantime::format_rfc3339_seconds(at).to_string()[..10].to_string()
    };
    for d in desired.iter_mut() {
        let days = match d.address.kind {
            ResourceKind::RootCa | ResourceKind::IntermediateCa => d.attrs.get("validity_days"),
            _ => None,
        };
        if let Some(days) = days
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
        {
            d.notes
                .entry("validity_days".into())
                .or_insert_with(|| format!("expires {} if issued now", date(days)));
        }
    }
}

/// The three phases of a root rotation (MESH.md, "Plugged-in CA").
pub const ROTATION_PHASES: &str =
    "Replacing the mesh's root CA without an outage takes three phases:\n  \
     1. both roots in every cluster's trust bundle, intermediates still from the old root;\n  \
     2. new intermediates signed by the new root, both roots still trusted;\n  \
     3. the old root removed.\n  \
     Workloads restart between phases where needed.";

/// Refuses a plan that would replace the root CA silently: a changed root,
/// or one made again because its entry vanished from the secret store.
///
/// # Errors
/// [`PlanError::RootChange`] when a root CA the clusters trust would be
/// replaced.
pub fn guard_root(changes: &[Change]) -> Result<(), PlanError> {
    let root = changes.iter().find(|c| {
        c.address.kind == ResourceKind::RootCa
            && (c.action == Action::Replace
                || (c.action == Action::Create && c.reason == Some(Reason::DeletedOutside)))
    });
    match root {
        Some(c) => Err(PlanError::RootChange {
            address: c.address.to_string(),
            why: c
                .reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }),
        None => Ok(()),
    }
}
