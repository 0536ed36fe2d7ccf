//! Refresh: read every state resource from the live cloud, in parallel.

use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;

use crate::address::Address;
use crate::cloud::{Cloud, CloudError};
use crate::kinds::{Api, ResourceKind};
use crate::resource::Live;
use crate::state::State;

/// Reads each resource of `state`, at most `parallelism` at once.
/// `None` in the result means the resource no longer exists; a Kubernetes
/// object whose API cannot be reached is left out (not refreshed). A compute
/// resource that an earlier, interrupted run is still deleting is marked
/// [`Live::deleting`] (one list of the deletes in flight per refresh).
///
/// # Errors
/// The first read that fails (after the client's retries).
pub async fn refresh(
    cloud: &Cloud,
    state: &State,
    parallelism: usize,
) -> Result<BTreeMap<Address, Option<Live>>, CloudError> {
    let compute = |kind: ResourceKind| kind.api() == Api::Compute;
    let deleting = if state.resources.iter().any(|r| compute(r.address.kind)) {
        cloud.gcp.deletes_in_flight().await?
    } else {
        BTreeMap::new()
    };
    let mut live: BTreeMap<Address, Option<Live>> = stream::iter(state.resources.iter())
        .map(|r| async move {
            match cloud.read(&r.address, &r.attributes).await {
                Ok(live) => Ok(Some((r.address.clone(), live))),
                // A Kubernetes API that cannot be reached (a closed tunnel, a
                // cluster being deleted) must not block planning: the state's
                // copy stands in, and planning says so.
                Err(CloudError::Kube(e)) if r.address.kind.api() == Api::Kubernetes => {
                    tracing::warn!(address = %r.address, error = %e, "not refreshed: using the state's copy");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(parallelism.max(1))
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;
    for (address, found) in live.iter_mut() {
        let Some(l) = found.as_mut().filter(|_| compute(address.kind)) else {
            continue;
        };
        let rel = l
            .ids
            .self_link
            .as_deref()
            .and_then(|link| link.find("projects/").map(|i| &link[i..]));
        if let Some(op) = rel.and_then(|rel| deleting.get(rel)) {
            l.deleting = Some(format!("an earlier delete ({op}) is still running"));
        }
    }
    Ok(live)
}
