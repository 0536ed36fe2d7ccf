//! `meshform kubeconfig`: a kubeconfig for the plan's clusters.

use super::Workspace;
use crate::cloud::CloudError;
use crate::gcp::Target;
use crate::kube::kubeconfig::{kubeconfig as build, KubeconfigAuth, KubeconfigCluster};
use crate::kube::EMULATOR_TOKEN;
use crate::plan::Plan;

/// One context per cluster of `plan`, with the server and CA GKE reports for
/// the cluster's access mode. Real clusters authenticate with
/// `gke-gcloud-auth-plugin`, as gcloud sets up; emulated ones with the
/// emulator's token.
///
/// # Errors
/// A cluster cannot be read (e.g. it was not applied yet).
pub async fn kubeconfig(
    ws: &Workspace,
    plan: &Plan,
) -> Result<kube::config::Kubeconfig, CloudError> {
    let gcp = &ws.connection.cloud.gcp;
    let mut clusters = Vec::new();
    for region in &plan.regions {
        let Some(c) = &region.cluster else { continue };
        let access = match c.access_mode() {
            crate::plan::ControlPlaneAccess::Dns => "dns",
            crate::plan::ControlPlaneAccess::Public => "public",
            crate::plan::ControlPlaneAccess::Proxy => "proxy",
        };
        let endpoint = gcp.cluster_endpoint(&c.location, &c.name, access).await?;
        clusters.push(KubeconfigCluster {
            project: plan.project.clone(),
            location: c.location.clone(),
            name: c.name.clone(),
            endpoint,
            proxy_url: c.proxy_url.clone(),
        });
    }
    let auth = match gcp.target() {
        Target::Cloud => KubeconfigAuth::GcloudPlugin,
        Target::Emulator(_) => KubeconfigAuth::Token(EMULATOR_TOKEN.into()),
    };
    Ok(build(&clusters, &auth))
}
