//! Refresh: read every state resource from the live cloud, in parallel.

use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;

use crate::address::Address;
use crate::cloud::{Cloud, CloudError};
use crate::resource::Live;
use crate::state::State;

/// Reads each resource of `state`, at most `parallelism` at once.
/// `None` in the result means the resource no longer exists.
///
/// # Errors
/// The first read that fails (after the client's retries).
pub async fn refresh(
    cloud: &Cloud,
    state: &State,
    parallelism: usize,
) -> Result<BTreeMap<Address, Option<Live>>, CloudError> {
    stream::iter(state.resources.iter())
        .map(|r| async move {
            let live = cloud.read(&r.address, &r.attributes).await?;
            Ok::<_, CloudError>((r.address.clone(), live))
        })
        .buffer_unordered(parallelism.max(1))
        .try_collect()
        .await
}
