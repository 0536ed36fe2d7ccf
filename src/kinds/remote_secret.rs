//! `remote_secret.<A>.<B>`: in cluster A, the Secret through which A's
//! istiod reads cluster B (MESH.md, "Remote secrets"):
//! `istio-remote-secret-<B>` in `istio-system`, label
//! `istio/multiCluster: "true"`, annotation `networking.istio.io/cluster:
//! <B>`, one data key `<B>` holding a kubeconfig with B's **private**
//! endpoint, B's CA and B's reader token. The kubeconfig and the token are
//! sensitive: the spec holds the endpoint, the CA's digest and the token's
//! reference, each an output of B's resources, so a new endpoint, CA or
//! token rebuilds the Secret and `plan` names the output that changed.

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    forces_replacement, updatable, Api, Applied, Field, Kind, Limits, Observed, ResourceKind,
};
use crate::cloud::{Cloud, CloudError};
use crate::gcp::{ca_digest, ca_pem};
use crate::kube::Placement;
use crate::resource::outputs::Known;
use crate::resource::{Ids, Sensitive};

/// The kind.
pub struct RemoteSecret;

/// The namespace remote secrets live in.
pub const NAMESPACE: &str = "istio-system";

/// The label istiod's secret controller watches.
pub const LABEL: &str = "istio/multiCluster";

/// The annotation naming the cluster a remote secret reads.
pub const CLUSTER_ANNOTATION: &str = "networking.istio.io/cluster";

/// A remote secret's managed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteSecretSpec {
    /// The cluster it is in (A).
    pub cluster: String,
    /// A's location.
    pub location: String,
    /// The digest of A's CA: a new cluster A is a new Secret.
    pub cluster_ca: Known<String>,
    /// B's name in the mesh: the Secret's data key (istiod's cluster id for B).
    pub peer: String,
    /// B's GKE name.
    pub peer_cluster: String,
    /// B's location.
    pub peer_location: String,
    /// B's private endpoint, as A's istiod reaches it.
    pub server: Known<String>,
    /// The digest of B's CA.
    pub peer_ca: Known<String>,
    /// B's reader token.
    pub token: Known<Sensitive>,
}

impl RemoteSecretSpec {
    /// `istio-remote-secret-<peer>`.
    pub fn secret_name(&self) -> String {
        format!("istio-remote-secret-{}", self.peer)
    }
}

/// `https://<endpoint>` (GKE gives the address alone).
fn server_url(endpoint: &str) -> String {
    if endpoint.starts_with("https://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    }
}

/// The kubeconfig istioctl's `create-remote-secret` writes: one cluster, one
/// user with a bearer token, one context, all named after the peer.
pub fn kubeconfig(peer: &str, server: &str, ca_pem: &str, token: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": peer, "cluster": {"server": server, "certificate-authority-data": b64}}],
        "users": [{"name": peer, "user": {"token": token}}],
        "contexts": [{"name": peer, "context": {"cluster": peer, "user": peer}}],
        "current-context": peer,
        "preferences": {},
    })
}

/// What the kubeconfig under key `peer` of a remote secret holds; each part
/// `None` when missing or unreadable. No `Debug`: it holds a token.
#[derive(Default)]
pub struct HeldKubeconfig {
    /// The cluster's server URL.
    pub server: Option<String>,
    /// The cluster's CA, PEM.
    pub ca_pem: Option<String>,
    /// The user's bearer token.
    pub token: Option<String>,
}

/// Reads the kubeconfig under key `peer` of `secret`.
pub fn held_kubeconfig(secret: &Secret, peer: &str) -> HeldKubeconfig {
    let config: Option<Value> = secret
        .data
        .as_ref()
        .and_then(|d| d.get(peer))
        .and_then(|b| serde_saphyr::from_slice(&b.0).ok());
    let Some(config) = config else {
        return HeldKubeconfig::default();
    };
    let cluster = &config["clusters"][0]["cluster"];
    HeldKubeconfig {
        server: cluster["server"].as_str().map(str::to_string),
        ca_pem: cluster["certificate-authority-data"]
            .as_str()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
        token: config["users"][0]["user"]["token"]
            .as_str()
            .map(str::to_string),
    }
}

/// What a live Secret's kubeconfig says: server, CA digest, token reference.
fn read_back(secret: &Secret, peer: &str) -> Option<(String, String, Sensitive)> {
    let held = held_kubeconfig(secret, peer);
    Some((
        held.server?,
        ca_digest(&held.ca_pem?),
        Sensitive::of(held.token?.as_bytes()),
    ))
}

fn placement<'a>(spec: &'a RemoteSecretSpec, name: &'a str) -> Placement<'a> {
    Placement {
        location: &spec.location,
        cluster: &spec.cluster,
        namespace: Some(NAMESPACE),
        name,
    }
}

/// Builds the Secret from B's current CA and the stored token, checking
/// they are what the plan saw.
async fn secret(cloud: &Cloud, spec: &RemoteSecretSpec) -> Result<Value, CloudError> {
    let stale = |message: String| CloudError::Stale {
        address: format!("remote secret {} in {}", spec.secret_name(), spec.cluster),
        message,
    };
    let server = spec.server.value().map_err(CloudError::Unknown)?;
    let want_ca = spec.peer_ca.value().map_err(CloudError::Unknown)?;
    let token = spec.token.value().map_err(CloudError::Unknown)?;
    let peer = cloud
        .gcp
        .get_cluster(&spec.peer_location, &spec.peer_cluster)
        .await?
        .ok_or_else(|| stale(format!("cluster {} is gone", spec.peer_cluster)))?;
    let ca = ca_pem(&peer).unwrap_or_default();
    if &ca_digest(&ca) != want_ca {
        return Err(stale(format!(
            "the CA of {} changed since the plan",
            spec.peer_cluster
        )));
    }
    let material = cloud.secrets.get(token).await?;
    let token = String::from_utf8_lossy(&material.0);
    let config = kubeconfig(&spec.peer, &server_url(server), &ca, &token);
    let text = serde_json::to_string_pretty(&config).expect("a kubeconfig serializes");
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": spec.secret_name(),
            "namespace": NAMESPACE,
            "labels": {LABEL: "true"},
            "annotations": {CLUSTER_ANNOTATION: spec.peer},
        },
        "type": "Opaque",
        "data": {spec.peer.clone(): b64},
    }))
}

impl Kind for RemoteSecret {
    type Spec = RemoteSecretSpec;
    const KIND: ResourceKind = ResourceKind::RemoteSecret;
    const API: Api = Api::Kubernetes;
    const FIELDS: &'static [Field] = &[
        forces_replacement("cluster"),
        forces_replacement("location"),
        forces_replacement("cluster_ca"),
        forces_replacement("peer"),
        updatable("peer_cluster"),
        updatable("peer_location"),
        updatable("server"),
        updatable("peer_ca"),
        updatable("token").sensitive(),
    ];
    const LIVES_IN: &'static [ResourceKind] = &[ResourceKind::Cluster, ResourceKind::Namespace];
    const LIMITS: Limits = Limits {
        create: 5,
        update: 5,
        delete: 5,
    };

    async fn read(
        cloud: &Cloud,
        spec: &RemoteSecretSpec,
    ) -> Result<Option<Observed<RemoteSecretSpec>>, CloudError> {
        let name = spec.secret_name();
        let Some((secret, ca)) = cloud
            .kube
            .read_object::<Secret>(&placement(spec, &name))
            .await?
        else {
            return Ok(None);
        };
        let (server, peer_ca, token) = read_back(&secret, &spec.peer)
            .unwrap_or_else(|| (String::new(), String::new(), Sensitive::of(b"")));
        let stripped = server
            .strip_prefix("https://")
            .unwrap_or(&server)
            .to_string();
        Ok(Some(Observed {
            ids: Ids {
                id: secret.metadata.uid.clone(),
                self_link: None,
            },
            spec: RemoteSecretSpec {
                cluster_ca: Known::Value(ca),
                server: Known::Value(stripped),
                peer_ca: Known::Value(peer_ca),
                token: Known::Value(token),
                ..spec.clone()
            },
            outputs: Default::default(),
            deleting: secret
                .metadata
                .deletion_timestamp
                .map(|_| "Kubernetes is deleting it".to_string()),
        }))
    }

    async fn create(cloud: &Cloud, spec: &RemoteSecretSpec) -> Result<Applied, CloudError> {
        let object = secret(cloud, spec).await?;
        let name = spec.secret_name();
        let ids = cloud
            .kube
            .apply_value::<Secret>(&placement(spec, &name), &object)
            .await?;
        Ok(ids.into())
    }

    async fn update(
        cloud: &Cloud,
        _before: &RemoteSecretSpec,
        after: &RemoteSecretSpec,
    ) -> Result<Applied, CloudError> {
        Self::create(cloud, after).await
    }

    async fn delete(cloud: &Cloud, spec: &RemoteSecretSpec) -> Result<(), CloudError> {
        let name = spec.secret_name();
        Ok(cloud
            .kube
            .delete_object::<Secret>(&placement(spec, &name))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RemoteSecretSpec {
        RemoteSecretSpec {
            cluster: "c1".into(),
            location: "europe-west2-a".into(),
            cluster_ca: Known::Value("sha256:a".into()),
            peer: "istio-cluster2".into(),
            peer_cluster: "istio-cluster2".into(),
            peer_location: "us-central1-a".into(),
            server: Known::Value("172.16.0.66".into()),
            peer_ca: Known::Value("sha256:b".into()),
            token: Known::Value(Sensitive::of(b"t")),
        }
    }

    #[test]
    fn every_field_has_a_rule() {
        super::super::assert_every_field_has_a_rule::<RemoteSecret>(&spec());
    }

    #[test]
    fn the_kubeconfig_reads_back_as_server_ca_and_token() {
        let config = kubeconfig(
            "istio-cluster2",
            "https://172.16.0.66",
            "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
            "tok",
        );
        assert_eq!(config["current-context"], "istio-cluster2");
        assert_eq!(config["users"][0]["user"]["token"], "tok");
        let text = serde_json::to_vec(&config).unwrap();
        let secret = Secret {
            data: Some(std::collections::BTreeMap::from([(
                "istio-cluster2".to_string(),
                k8s_openapi::ByteString(text),
            )])),
            ..Default::default()
        };
        let (server, ca, token) = read_back(&secret, "istio-cluster2").unwrap();
        assert_eq!(server, "https://172.16.0.66");
        assert_eq!(
            ca,
            ca_digest("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
        );
        assert_eq!(token, Sensitive::of(b"tok"));
        assert_eq!(spec().secret_name(), "istio-remote-secret-istio-cluster2");
        assert_eq!(server_url("127.0.0.1:443"), "https://127.0.0.1:443");
    }
}
