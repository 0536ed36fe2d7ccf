//! GKE describes the control plane twice: in today's
//! `controlPlaneEndpointsConfig.ipEndpointsConfig` (and
//! `networkConfig.defaultEnablePrivateNodes`) and in the deprecated
//! `privateClusterConfig.enablePrivateEndpoint` / `.masterGlobalAccessConfig`
//! / `.enablePrivateNodes` and `masterAuthorizedNetworksConfig`. A create
//! may use either form; this brings a request to one set of values, so that
//! the rest of the emulator can read the deprecated fields and the cluster
//! returns both (see `clusters::build` for the other direction, and
//! `update.rs` for updates).

use serde_json::{json, Map, Value};

use super::errors::invalid;
use crate::emulator::errors::ApiError;

/// Fills the deprecated fields from today's ones in a create request.
///
/// # Errors
/// 400 when the two forms of one setting are both given and disagree (the
/// API documents giving both as invalid).
pub fn normalize_create(cluster: &mut Map<String, Value>) -> Result<(), ApiError> {
    let ip = cluster
        .get("controlPlaneEndpointsConfig")
        .map(|c| c["ipEndpointsConfig"].clone())
        .unwrap_or(Value::Null);
    let default_private_nodes = cluster
        .get("networkConfig")
        .and_then(|n| n["defaultEnablePrivateNodes"].as_bool());
    let pcc = cluster
        .entry("privateClusterConfig")
        .or_insert_with(|| json!({}));
    let mut set_old = |old: &str, value: Value, new: &str| -> Result<(), ApiError> {
        match pcc.get(old) {
            Some(given) if !given.is_null() && *given != value => Err(invalid(format!(
                "It is invalid to specify both {new} and private_cluster_config.{} with different values.",
                crate::emulator::schema::snake(old)
            ))),
            _ => {
                pcc[old] = value;
                Ok(())
            }
        }
    };
    if let Some(public) = ip["enablePublicEndpoint"].as_bool() {
        set_old(
            "enablePrivateEndpoint",
            json!(!public),
            "control_plane_endpoints_config.ip_endpoints_config.enable_public_endpoint",
        )?;
    }
    if let Some(global) = ip["globalAccess"].as_bool() {
        set_old(
            "masterGlobalAccessConfig",
            json!({"enabled": global}),
            "control_plane_endpoints_config.ip_endpoints_config.global_access",
        )?;
    }
    if let Some(private_nodes) = default_private_nodes {
        set_old(
            "enablePrivateNodes",
            json!(private_nodes),
            "network_config.default_enable_private_nodes",
        )?;
    }
    if let Some(subnet) = ip["privateEndpointSubnetwork"].as_str() {
        set_old(
            "privateEndpointSubnetwork",
            json!(subnet),
            "control_plane_endpoints_config.ip_endpoints_config.private_endpoint_subnetwork",
        )?;
    }
    if pcc.as_object().is_some_and(Map::is_empty) {
        cluster.remove("privateClusterConfig");
    }
    let authorized = &ip["authorizedNetworksConfig"];
    if !authorized.is_null() {
        match cluster.get("masterAuthorizedNetworksConfig") {
            Some(given) if given != authorized => {
                return Err(invalid(
                    "It is invalid to specify both control_plane_endpoints_config.ip_endpoints_config.authorized_networks_config and master_authorized_networks_config with different values.",
                ))
            }
            _ => {
                cluster.insert("masterAuthorizedNetworksConfig".into(), authorized.clone());
            }
        }
    }
    Ok(())
}

/// Makes the deprecated fields of a built cluster agree with its
/// `controlPlaneEndpointsConfig` and `networkConfig`.
pub fn mirror_into_deprecated(cluster: &mut Map<String, Value>) {
    let ip = cluster
        .get("controlPlaneEndpointsConfig")
        .map(|c| c["ipEndpointsConfig"].clone())
        .unwrap_or(Value::Null);
    let private_nodes = cluster
        .get("networkConfig")
        .and_then(|n| n["defaultEnablePrivateNodes"].as_bool());
    let pcc = cluster
        .entry("privateClusterConfig")
        .or_insert_with(|| json!({}));
    if let Some(public) = ip["enablePublicEndpoint"].as_bool() {
        pcc["enablePrivateEndpoint"] = json!(!public);
    }
    if let Some(global) = ip["globalAccess"].as_bool() {
        pcc["masterGlobalAccessConfig"] = json!({"enabled": global});
    }
    if let Some(p) = private_nodes.or(pcc["enablePrivateNodes"].as_bool()) {
        pcc["enablePrivateNodes"] = json!(p);
        if let Some(n) = cluster.get_mut("networkConfig") {
            n["defaultEnablePrivateNodes"] = json!(p);
        }
    }
    if !ip["authorizedNetworksConfig"].is_null() {
        cluster.insert(
            "masterAuthorizedNetworksConfig".into(),
            ip["authorizedNetworksConfig"].clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn todays_form_fills_the_deprecated_fields() {
        let mut c = map(json!({
            "networkConfig": {"defaultEnablePrivateNodes": true},
            "privateClusterConfig": {"masterIpv4CidrBlock": "172.16.0.32/28"},
            "controlPlaneEndpointsConfig": {"ipEndpointsConfig": {
                "enabled": true, "enablePublicEndpoint": false, "globalAccess": true,
                "authorizedNetworksConfig": {"enabled": true, "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]}
            }}
        }));
        normalize_create(&mut c).unwrap();
        assert_eq!(c["privateClusterConfig"]["enablePrivateEndpoint"], true);
        assert_eq!(c["privateClusterConfig"]["enablePrivateNodes"], true);
        assert_eq!(
            c["privateClusterConfig"]["masterGlobalAccessConfig"]["enabled"],
            true
        );
        assert_eq!(
            c["masterAuthorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"],
            "10.0.0.0/8"
        );
    }

    #[test]
    fn the_two_forms_disagreeing_is_refused() {
        let mut c = map(json!({
            "privateClusterConfig": {"enablePrivateEndpoint": false},
            "controlPlaneEndpointsConfig": {"ipEndpointsConfig": {"enablePublicEndpoint": false}}
        }));
        assert_eq!(normalize_create(&mut c).unwrap_err().code, 400);
    }
}
