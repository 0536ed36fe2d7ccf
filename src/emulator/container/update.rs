//! `clusters.update`: a `ClusterUpdate` carries exactly one `desired*`
//! field, like the real API requires; this turns it into the new values of
//! the cluster's top-level fields, applied when the operation is DONE.
//!
//! Control-plane access is visible in two places on a real cluster
//! (`privateClusterConfig`/`masterAuthorizedNetworksConfig` and the newer
//! `controlPlaneEndpointsConfig.ipEndpointsConfig`); an update of either
//! keeps both in step.

use serde_json::{json, Map, Value};

use super::errors::invalid;
use super::validate;
use crate::emulator::errors::ApiError;
use crate::emulator::schema;
use crate::emulator::world::merge;

/// The new values of the top-level fields `update` changes on `current`.
///
/// # Errors
/// 400 unless exactly one update field is set, or when its value is invalid
/// or not one the emulator implements.
pub fn change(
    current: &Value,
    update: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let fields: Vec<&String> = update
        .iter()
        .filter(|(k, v)| *k != "etag" && !v.is_null())
        .map(|(k, _)| k)
        .collect();
    let field = match fields.as_slice() {
        [] => return Err(invalid("Must specify a field to update.")),
        [one] => one.as_str(),
        many => {
            let names: Vec<String> = many.iter().map(|f| schema::snake(f)).collect();
            return Err(invalid(format!(
                "At most one update can be modified at a time; the request sets {}: {}.",
                many.len(),
                names.join(", ")
            )));
        }
    };
    let value = update[field].clone();
    let mut out = Map::new();
    let mut cpec = current["controlPlaneEndpointsConfig"].clone();
    let mut pcc = current["privateClusterConfig"].clone();
    match field {
        "desiredMasterAuthorizedNetworksConfig" => {
            validate::authorized_networks(
                &value,
                "update.desired_master_authorized_networks_config",
            )?;
            cpec["ipEndpointsConfig"]["authorizedNetworksConfig"] = value.clone();
            out.insert("masterAuthorizedNetworksConfig".into(), value);
            out.insert("controlPlaneEndpointsConfig".into(), cpec);
        }
        "desiredControlPlaneEndpointsConfig" => {
            let ip = &value["ipEndpointsConfig"];
            if !ip["authorizedNetworksConfig"].is_null() {
                validate::authorized_networks(
                    &ip["authorizedNetworksConfig"],
                    "update.desired_control_plane_endpoints_config.ip_endpoints_config.authorized_networks_config",
                )?;
                out.insert(
                    "masterAuthorizedNetworksConfig".into(),
                    ip["authorizedNetworksConfig"].clone(),
                );
            }
            if let Some(global) = ip["globalAccess"].as_bool() {
                pcc["masterGlobalAccessConfig"] = json!({"enabled": global});
            }
            if let Some(public) = ip["enablePublicEndpoint"].as_bool() {
                pcc["enablePrivateEndpoint"] = json!(!public);
            }
            merge(&mut cpec, value);
            out.insert("controlPlaneEndpointsConfig".into(), cpec);
            if !pcc.is_null() {
                out.insert("privateClusterConfig".into(), pcc);
            }
        }
        "desiredPrivateClusterConfig" => {
            let Value::Object(wanted) = &value else {
                return Err(invalid(
                    "update.desired_private_cluster_config must be an object.",
                ));
            };
            for (k, v) in wanted {
                if k != "masterGlobalAccessConfig" && pcc.get(k) != Some(v) {
                    return Err(invalid(format!(
                        "Only master_global_access_config can be changed by desired_private_cluster_config; {} cannot.",
                        schema::snake(k)
                    )));
                }
            }
            if let Some(global) = wanted.get("masterGlobalAccessConfig") {
                pcc["masterGlobalAccessConfig"] = global.clone();
                cpec["ipEndpointsConfig"]["globalAccess"] =
                    json!(global["enabled"].as_bool().unwrap_or(false));
            }
            out.insert("privateClusterConfig".into(), pcc);
            out.insert("controlPlaneEndpointsConfig".into(), cpec);
        }
        "desiredEnablePrivateEndpoint" => {
            let private = value.as_bool().unwrap_or(false);
            pcc["enablePrivateEndpoint"] = json!(private);
            cpec["ipEndpointsConfig"]["enablePublicEndpoint"] = json!(!private);
            out.insert("privateClusterConfig".into(), pcc);
            out.insert("controlPlaneEndpointsConfig".into(), cpec);
        }
        "desiredMasterVersion" => {
            let version = match value.as_str() {
                Some("latest" | "-") | None => current["currentMasterVersion"].clone(),
                Some(v) => json!(v),
            };
            out.insert("currentMasterVersion".into(), version);
        }
        "desiredDatapathProvider" => {
            let mut network = current["networkConfig"].clone();
            network["datapathProvider"] = value;
            out.insert("networkConfig".into(), network);
        }
        other => {
            let target = other
                .strip_prefix("desired")
                .map(|rest| {
                    let mut chars = rest.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .filter(|t| cluster_has(t))
                .ok_or_else(|| {
                    invalid(format!(
                        "The emulator does not implement update.{}.",
                        schema::snake(other)
                    ))
                })?;
            out.insert(target, value);
        }
    }
    Ok(out)
}

/// Whether the `Cluster` schema has a top-level field `name`.
fn cluster_has(name: &str) -> bool {
    schema::container()
        .schemas
        .get("Cluster")
        .and_then(|s| s.properties.as_ref())
        .is_some_and(|p| p.contains_key(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn exactly_one_desired_field() {
        let current = json!({"privateClusterConfig": {"enablePrivateNodes": true}});
        assert!(change(&current, &map(json!({}))).is_err());
        let two = map(json!({"desiredReleaseChannel": {"channel": "RAPID"},
            "desiredMasterAuthorizedNetworksConfig": {"enabled": true}}));
        let err = change(&current, &two).unwrap_err();
        assert_eq!(err.code, 400);
        let one = map(json!({"desiredReleaseChannel": {"channel": "RAPID"}, "etag": "x"}));
        assert_eq!(
            change(&current, &one).expect("one field")["releaseChannel"],
            json!({"channel": "RAPID"})
        );
    }

    #[test]
    fn global_access_is_kept_in_step() {
        let current = json!({"privateClusterConfig": {"enablePrivateNodes": true,
            "masterIpv4CidrBlock": "172.16.0.32/28"}});
        let out = change(
            &current,
            &map(json!({"desiredPrivateClusterConfig": {"masterGlobalAccessConfig": {"enabled": true}}})),
        )
        .expect("allowed");
        assert_eq!(
            out["privateClusterConfig"]["masterGlobalAccessConfig"]["enabled"],
            true
        );
        assert_eq!(
            out["controlPlaneEndpointsConfig"]["ipEndpointsConfig"]["globalAccess"],
            true
        );
        let moved = change(
            &current,
            &map(json!({"desiredPrivateClusterConfig": {"masterIpv4CidrBlock": "172.16.0.64/28"}})),
        );
        assert!(moved.is_err());
    }
}
