//! What `verify` reads, and only reads: every cluster from GKE and from its
//! Kubernetes API, the project's firewall rules, the gateways' forwarding
//! rules, and, for every remote secret, whether the peer accepts its token
//! (a TokenReview and a SubjectAccessReview in the peer). The checks are
//! pure functions of these facts (`checks.rs`). No token or key is kept.

use std::collections::BTreeMap;

use futures::future::join_all;
use ipnet::Ipv4Net;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, ListParams, PostParams};
use serde_json::Value;

use super::firewall::Rule;
use super::samples::{SamplesFacts, SamplesSettings};
use crate::cloud::{Cloud, CloudError};
use crate::kinds::cluster::{self as cluster_kind, OUTPUT_ENDPOINT};
use crate::kinds::eastwest_gateway::FORWARDING_RULE_ANNOTATION;
use crate::kinds::remote_secret::{held_kubeconfig, CLUSTER_ANNOTATION, LABEL};
use crate::mesh::gateway::GATEWAY_NAME;
use crate::plan::Plan;
use crate::resource::desired::{node_tag, ISTIO_NAMESPACE};

/// The files of `cacerts` that verify reads (never `ca-key.pem`).
pub const CACERTS_FILES: [&str; 3] = ["ca-cert.pem", "root-cert.pem", "cert-chain.pem"];

/// Everything verify knows.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The network's name.
    pub network: String,
    /// Every cluster of the plan, in plan order.
    pub clusters: Vec<ClusterFacts>,
    /// Every firewall rule of the project.
    pub firewalls: Vec<Rule>,
    /// The mesh's settings, when the plan has a mesh.
    pub mesh: Option<MeshFacts>,
}

/// What the plan says about the mesh that checks need.
#[derive(Debug, Clone)]
pub struct MeshFacts {
    /// istiod's Deployment name.
    pub istiod: String,
    /// How long before expiry an intermediate must be re-issued.
    pub reissue_window: std::time::Duration,
    /// `[samples]`, when the plan deploys them.
    pub samples: Option<SamplesSettings>,
}

/// One cluster: what the plan says and what was found.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    /// Its region.
    pub region: String,
    /// Its GKE name.
    pub name: String,
    /// Its name in the mesh.
    pub mesh_name: String,
    /// Its location.
    pub location: String,
    /// Its subnet's primary range.
    pub subnet: Ipv4Net,
    /// Its pods' range.
    pub pod_range: Ipv4Net,
    /// Its control plane's range.
    pub master_cidr: Ipv4Net,
    /// The node tag meshform gives its nodes.
    pub plan_node_tag: String,
    /// What GKE says; `None` when the cluster does not exist.
    pub gke: Option<GkeFacts>,
    /// What its Kubernetes API says, or why it could not be read.
    pub kube: Result<KubeFacts, String>,
}

/// A cluster as GKE reports it.
#[derive(Debug, Clone)]
pub struct GkeFacts {
    /// `RUNNING`, `PROVISIONING`, …
    pub status: String,
    /// The private endpoint (what peers' istiods reach).
    pub endpoint: String,
    /// The cluster CA, PEM.
    pub ca_pem: String,
    /// The network tag GKE gives its nodes.
    pub node_tag: String,
    /// Master global access.
    pub master_global_access: bool,
    /// Authorized networks.
    pub authorized: Vec<Ipv4Net>,
}

/// A cluster as its Kubernetes API shows it.
#[derive(Debug, Clone, Default)]
pub struct KubeFacts {
    /// istiod's Deployment.
    pub istiod: Option<Value>,
    /// Whether `istio-ca-secret` exists (istiod made its own CA).
    pub istio_ca_secret: bool,
    /// The certificates of `cacerts`, by file name; `None` without it.
    pub cacerts: Option<BTreeMap<String, String>>,
    /// The east-west gateway's Service.
    pub gateway: Option<GatewayFacts>,
    /// Remote secrets by the peer they read (its name in the mesh).
    pub remote_secrets: BTreeMap<String, RemoteSecretFacts>,
    /// The samples, when the plan deploys them.
    pub samples: Option<SamplesFacts>,
}

/// The east-west gateway's Service and its load balancer.
#[derive(Debug, Clone, Default)]
pub struct GatewayFacts {
    /// The load balancer's address.
    pub address: Option<String>,
    /// The Service's annotations.
    pub annotations: BTreeMap<String, String>,
    /// GKE's forwarding rule: its name and its `allowGlobalAccess`
    /// (`None` when the rule does not exist).
    pub forwarding_rule: Option<(String, Option<bool>)>,
}

/// A remote secret as found (without its token).
#[derive(Debug, Clone)]
pub struct RemoteSecretFacts {
    /// Labelled `istio/multiCluster: "true"`.
    pub labelled: bool,
    /// Its `networking.istio.io/cluster` annotation.
    pub annotated_for: Option<String>,
    /// Its data keys.
    pub keys: Vec<String>,
    /// The kubeconfig's server.
    pub server: Option<String>,
    /// The kubeconfig's CA, PEM.
    pub ca_pem: Option<String>,
    /// Whether the peer authenticates the token and lets it list services.
    pub token: Result<(), String>,
}

/// Reads every fact `verify` judges.
///
/// # Errors
/// GKE or compute cannot be read. A cluster whose Kubernetes API fails is
/// a fact (a failed check), not an error.
pub async fn gather(cloud: &Cloud, plan: &Plan) -> Result<Facts, CloudError> {
    let planned: Vec<_> = plan
        .regions
        .iter()
        .filter_map(|r| r.cluster.as_ref().map(|c| (r, c)))
        .collect();
    let mut clusters = Vec::new();
    for (region, c) in &planned {
        let gke = cloud.gcp.get_cluster(&c.location, &c.name).await?;
        let gke = gke.map(|api| {
            let spec = cluster_kind::spec_of(&api);
            let outputs = cluster_kind::outputs_of(&api);
            GkeFacts {
                status: api.status.name().unwrap_or("UNKNOWN").to_string(),
                endpoint: outputs[OUTPUT_ENDPOINT]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ca_pem: crate::gcp::ca_pem(&api).unwrap_or_default(),
                node_tag: cluster_kind::node_tag(&api.name, &api.id),
                master_global_access: spec.master_global_access,
                authorized: spec
                    .authorized_networks
                    .iter()
                    .filter_map(|n| n.cidr.parse().ok())
                    .collect(),
            }
        });
        clusters.push(ClusterFacts {
            region: region.name.clone(),
            name: c.name.clone(),
            mesh_name: c.mesh_name().to_string(),
            location: c.location.clone(),
            subnet: region.subnet.cidr,
            pod_range: region.subnet.pod_range.cidr,
            master_cidr: c.master_cidr,
            plan_node_tag: node_tag(&c.name),
            gke,
            kube: Err(String::new()),
        });
    }
    let mesh = plan.mesh.as_ref().map(|m| MeshFacts {
        istiod: m.istiod_name(),
        reissue_window: std::time::Duration::from_secs(
            u64::from(m.ca.reissue_window_days) * 86_400,
        ),
        samples: plan.samples().map(|s| SamplesSettings {
            namespace: s.namespace.clone(),
            injection: match &m.revision {
                Some(rev) => ("istio.io/rev".into(), rev.clone()),
                None => ("istio-injection".into(), "enabled".into()),
            },
        }),
    });
    let reads = clusters
        .iter()
        .map(|c| kube_facts(cloud, c, &clusters, mesh.as_ref()));
    let found = join_all(reads).await;
    for (c, kube) in clusters.iter_mut().zip(found) {
        c.kube = kube;
    }
    let firewalls = cloud.gcp.list_firewalls().await?;
    Ok(Facts {
        network: plan.network.name.clone(),
        clusters,
        firewalls: firewalls.iter().map(Rule::from_api).collect(),
        mesh,
    })
}

/// Reads one cluster's objects; an error is kept as the reason.
async fn kube_facts(
    cloud: &Cloud,
    c: &ClusterFacts,
    all: &[ClusterFacts],
    mesh: Option<&MeshFacts>,
) -> Result<KubeFacts, String> {
    if c.gke.is_none() {
        return Err(format!("cluster {} does not exist", c.name));
    }
    let Some(mesh) = mesh else {
        return Ok(KubeFacts::default());
    };
    let connected = cloud
        .kube
        .connected(&c.location, &c.name)
        .await
        .map_err(|e| e.to_string())?;
    let client = connected.client;
    let why = |what: &str| {
        let what = what.to_string();
        move |e: kube::Error| format!("reading {what} in {}: {e}", c.name)
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ISTIO_NAMESPACE);
    let istiod = deployments
        .get_opt(&mesh.istiod)
        .await
        .map_err(why("istiod"))?
        .map(|d| serde_json::to_value(d).unwrap_or_default());
    // One list of istio-system's Secrets: cacerts, istio-ca-secret and the
    // remote secrets, in one call.
    let mut secrets: BTreeMap<String, Secret> =
        Api::<Secret>::namespaced(client.clone(), ISTIO_NAMESPACE)
            .list(&ListParams::default())
            .await
            .map_err(why("the Secrets of istio-system"))?
            .items
            .into_iter()
            .filter_map(|s| Some((s.metadata.name.clone()?, s)))
            .collect();
    let istio_ca_secret = secrets.contains_key("istio-ca-secret");
    let cacerts = secrets.remove("cacerts").map(|s| {
        let data = s.data.unwrap_or_default();
        CACERTS_FILES
            .iter()
            .filter_map(|f| {
                data.get(*f)
                    .map(|b| (f.to_string(), String::from_utf8_lossy(&b.0).into_owned()))
            })
            .collect()
    });
    let gateway = gateway_facts(cloud, c, &client).await?;
    let mut remote_secrets = BTreeMap::new();
    for peer in all.iter().filter(|p| p.name != c.name) {
        let name = format!("istio-remote-secret-{}", peer.mesh_name);
        let Some(secret) = secrets.get(&name) else {
            continue;
        };
        remote_secrets.insert(
            peer.mesh_name.clone(),
            remote_secret_facts(cloud, secret, peer).await,
        );
    }
    let samples = match &mesh.samples {
        Some(settings) => Some(
            super::samples::read(&client, settings, &c.mesh_name)
                .await
                .map_err(why("the samples"))?,
        ),
        None => None,
    };
    Ok(KubeFacts {
        istiod,
        istio_ca_secret,
        cacerts,
        gateway,
        remote_secrets,
        samples,
    })
}

async fn gateway_facts(
    cloud: &Cloud,
    c: &ClusterFacts,
    client: &kube::Client,
) -> Result<Option<GatewayFacts>, String> {
    let services: Api<Service> = Api::namespaced(client.clone(), ISTIO_NAMESPACE);
    let Some(service) = services
        .get_opt(GATEWAY_NAME)
        .await
        .map_err(|e| format!("reading {GATEWAY_NAME} in {}: {e}", c.name))?
    else {
        return Ok(None);
    };
    let annotations = service.metadata.annotations.unwrap_or_default();
    let address = service
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|lb| lb.ingress)
        .and_then(|i| i.into_iter().find_map(|i| i.ip));
    let forwarding_rule = match annotations.get(FORWARDING_RULE_ANNOTATION) {
        Some(name) => {
            let rule = cloud
                .gcp
                .get_forwarding_rule(&c.region, name)
                .await
                .map_err(|e| e.to_string())?;
            Some((
                name.clone(),
                rule.map(|r| r.allow_global_access.unwrap_or(false)),
            ))
        }
        None => None,
    };
    Ok(Some(GatewayFacts {
        address,
        annotations,
        forwarding_rule,
    }))
}

/// What a remote secret holds, and whether `peer` accepts its token.
async fn remote_secret_facts(
    cloud: &Cloud,
    secret: &Secret,
    peer: &ClusterFacts,
) -> RemoteSecretFacts {
    let meta = &secret.metadata;
    let held = held_kubeconfig(secret, &peer.mesh_name);
    let accepted = match held.token {
        Some(t) => token_accepted(cloud, peer, t).await,
        None => Err("the kubeconfig has no bearer token".into()),
    };
    RemoteSecretFacts {
        labelled: meta
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL))
            .is_some_and(|v| v == "true"),
        annotated_for: meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(CLUSTER_ANNOTATION))
            .cloned(),
        keys: secret
            .data
            .as_ref()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default(),
        server: held.server,
        ca_pem: held.ca_pem,
        token: accepted,
    }
}

/// Whether `peer` authenticates `token` (TokenReview) and lets its holder
/// list services in every namespace (SubjectAccessReview), as istiod does.
async fn token_accepted(cloud: &Cloud, peer: &ClusterFacts, token: String) -> Result<(), String> {
    let connected = cloud
        .kube
        .connected(&peer.location, &peer.name)
        .await
        .map_err(|e| e.to_string())?;
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token),
            ..Default::default()
        },
        ..Default::default()
    };
    let reviewed = Api::<TokenReview>::all(connected.client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| format!("TokenReview in {}: {e}", peer.name))?;
    let status = reviewed.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        return Err(format!(
            "{} does not accept the token{}",
            peer.name,
            status.error.map(|e| format!(": {e}")).unwrap_or_default()
        ));
    }
    let user = status.user.unwrap_or_default();
    let access = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username.clone(),
            groups: user.groups,
            uid: user.uid,
            resource_attributes: Some(ResourceAttributes {
                verb: Some("list".into()),
                resource: Some("services".into()),
                group: Some(String::new()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let decided = Api::<SubjectAccessReview>::all(connected.client)
        .create(&PostParams::default(), &access)
        .await
        .map_err(|e| format!("SubjectAccessReview in {}: {e}", peer.name))?;
    if decided.status.is_some_and(|s| s.allowed) {
        Ok(())
    } else {
        Err(format!(
            "{} authenticates the token as {} but does not let it list services",
            peer.name,
            user.username.unwrap_or_default()
        ))
    }
}
