//! kubeconfig files for the plan's clusters, with contexts named like
//! gcloud's (`gke_PROJECT_LOCATION_NAME`).

use base64::Engine;
use kube::config::{
    AuthInfo, Cluster, Context, ExecConfig, ExecInteractiveMode, Kubeconfig, NamedAuthInfo,
    NamedCluster, NamedContext,
};

use crate::gcp::ClusterEndpoint;

/// One cluster of the file.
#[derive(Debug, Clone)]
pub struct KubeconfigCluster {
    /// The project.
    pub project: String,
    /// Zone or region.
    pub location: String,
    /// Cluster name.
    pub name: String,
    /// Server and CA.
    pub endpoint: ClusterEndpoint,
    /// Proxy URL (`access = "proxy"`).
    pub proxy_url: Option<String>,
}

/// How kubectl authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeconfigAuth {
    /// `gke-gcloud-auth-plugin`, as `gcloud container clusters get-credentials` writes.
    GcloudPlugin,
    /// A fixed token (for the emulator).
    Token(String),
}

/// The context (and cluster and user) name gcloud uses.
pub fn context_name(project: &str, location: &str, name: &str) -> String {
    format!("gke_{project}_{location}_{name}")
}

/// A kubeconfig with one context per cluster; the first is current.
pub fn kubeconfig(clusters: &[KubeconfigCluster], auth: &KubeconfigAuth) -> Kubeconfig {
    let user = |name: &str| {
        let auth_info = match auth {
            KubeconfigAuth::GcloudPlugin => AuthInfo {
                exec: Some(ExecConfig {
                    api_version: Some("client.authentication.k8s.io/v1beta1".into()),
                    command: Some("gke-gcloud-auth-plugin".into()),
                    args: None,
                    env: None,
                    drop_env: None,
                    install_hint: Some(
                        "Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin".into(),
                    ),
                    provide_cluster_info: true,
                    cluster: None,
                    interactive_mode: Some(ExecInteractiveMode::IfAvailable),
                    other: Default::default(),
                }),
                ..AuthInfo::default()
            },
            KubeconfigAuth::Token(t) => serde_json::from_value(serde_json::json!({ "token": t }))
                .expect("a token-only user deserializes"),
        };
        NamedAuthInfo {
            name: name.to_string(),
            auth_info: Some(auth_info),
            other: Default::default(),
        }
    };
    let mut config = Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        ..Kubeconfig::default()
    };
    for c in clusters {
        let name = context_name(&c.project, &c.location, &c.name);
        config.clusters.push(NamedCluster {
            name: name.clone(),
            cluster: Some(Cluster {
                server: Some(c.endpoint.server.clone()),
                certificate_authority_data: Some(
                    base64::engine::general_purpose::STANDARD.encode(&c.endpoint.ca_pem),
                ),
                proxy_url: c.proxy_url.clone(),
                ..Cluster::default()
            }),
            other: Default::default(),
        });
        config.auth_infos.push(user(&name));
        config.contexts.push(NamedContext {
            name: name.clone(),
            context: Some(Context {
                cluster: name.clone(),
                user: Some(name.clone()),
                ..Context::default()
            }),
            other: Default::default(),
        });
    }
    config.current_context = config.contexts.first().map(|c| c.name.clone());
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> KubeconfigCluster {
        KubeconfigCluster {
            project: "p".into(),
            location: "europe-west2-a".into(),
            name: "istio-cluster1".into(),
            endpoint: ClusterEndpoint {
                server: "https://10.0.0.2".into(),
                ca_pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            },
            proxy_url: None,
        }
    }

    #[test]
    fn contexts_are_named_like_gcloud_and_use_the_auth_plugin() {
        let k = kubeconfig(&[cluster()], &KubeconfigAuth::GcloudPlugin);
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(
            json["current-context"],
            "gke_p_europe-west2-a_istio-cluster1"
        );
        assert_eq!(json["clusters"][0]["cluster"]["server"], "https://10.0.0.2");
        assert_eq!(
            json["users"][0]["user"]["exec"]["command"],
            "gke-gcloud-auth-plugin"
        );
        assert_eq!(json["users"][0]["user"]["exec"]["provideClusterInfo"], true);
    }

    #[test]
    fn emulator_users_carry_a_token() {
        let k = kubeconfig(&[cluster()], &KubeconfigAuth::Token("t0k".into()));
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["users"][0]["user"]["token"], "t0k");
    }
}
