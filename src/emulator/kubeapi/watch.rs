//! `watch` on lists and objects: JSON watch events (`ADDED`, `MODIFIED`,
//! `DELETED`, `BOOKMARK`, `ERROR`), one per line, from a resource version.
//!
//! Every stored change becomes an [`Event`], kept in a bounded in-memory
//! history (so watches resume from a recent `resourceVersion`) and sent to
//! open watches. A resource version older than the history gets `410 Gone`
//! (`Expired`), as the real server answers after compaction; clients relist.
//! Deployment status is computed from time, so a watch of Deployments also
//! sends `MODIFIED` when a rollout it shows completes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use super::cluster::Cluster;
use super::deployments;
use super::meta::{self, meta_str};
use super::objects::present;
use super::query::Params;
use super::resources::ResourceType;
use super::selectors::{FieldSelector, Selector};
use super::status::Failure;
use super::store::{Entry, Store};
use super::table;

/// How many events the history keeps.
pub const HISTORY: usize = 10_000;

/// One stored change.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The store prefix of the object's resource (`group/plural`).
    pub prefix: String,
    /// The object after the change (before it, for `DELETED`, with the
    /// deletion's resource version).
    pub entry: Entry,
    /// The resource version of the change.
    pub rv: u64,
}

/// Records `events` in the history of `store` and sends them to watches.
pub fn publish(cluster: &Cluster, store: &mut Store, events: Vec<Event>) {
    for e in events {
        store.history.push_back(e.clone());
        while store.history.len() > HISTORY {
            if let Some(old) = store.history.pop_front() {
                store.history_floor = old.rv;
            }
        }
        let _ = cluster.events.send(e);
    }
}

/// What a watch selects.
struct Filter {
    prefix: String,
    namespace: Option<String>,
    name: Option<String>,
    labels: Selector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, prefix: &str, object: &Value) -> bool {
        prefix == self.prefix
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| meta_str(object, "namespace") == Some(ns))
            && self
                .name
                .as_deref()
                .is_none_or(|n| meta_str(object, "name") == Some(n))
            && self.labels.matches(object)
            && self.fields.matches(object)
    }
}

/// How to write the objects of events.
#[derive(Clone)]
struct Writer {
    cluster: Arc<Cluster>,
    rt: ResourceType,
    table: Option<String>,
}

impl Writer {
    fn line(&self, kind: &str, entry: &Entry) -> Bytes {
        let now = meta::now_ms();
        let object = present(&self.rt, entry, now, self.cluster.latency_scale);
        let object = match &self.table {
            Some(include) => {
                let rv = meta_str(&object, "resourceVersion")
                    .unwrap_or("")
                    .to_string();
                table::table(&self.rt, &[object], include, &rv, now)
            }
            None => object,
        };
        encode(&json!({"type": kind, "object": object}))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        encode(&json!({"type": "BOOKMARK", "object": {
            "kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}}))
    }
}

fn encode(v: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(v).expect("serializable");
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn expired(rv: &str) -> Bytes {
    encode(&json!({"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {rv}"),
        "reason": "Expired", "code": 410}}))
}

/// Answers a watch request on `rt` (a list, or one object when `name` is
/// given) with a stream of events.
///
/// # Errors
/// 400 for bad selectors or a non-numeric `resourceVersion`.
pub fn serve(
    cluster: Arc<Cluster>,
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    query: &HashMap<String, String>,
    params: &Params,
    table_include: Option<String>,
) -> Result<Response, Failure> {
    let filter = Filter {
        prefix: rt.store_prefix(),
        namespace,
        name,
        labels: Selector::parse(query.get("labelSelector").map_or("", |s| s))?,
        fields: FieldSelector::parse(query.get("fieldSelector").map_or("", |s| s))?,
    };
    let since = match params.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| Failure::bad_request(format!("invalid resource version: {rv:?}")))?,
        ),
    };
    let writer = Writer {
        cluster: cluster.clone(),
        rt,
        table: table_include,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut first: Vec<Bytes> = Vec::new();
    let mut pending: HashMap<String, u64> = HashMap::new();
    let (events, current_rv) = {
        let store = cluster.lock_caught_up();
        let events = cluster.events.subscribe();
        let current: Vec<(&String, &Entry)> = store
            .objects
            .iter()
            .filter(|(k, e)| {
                k.starts_with(&format!("{}/", filter.prefix))
                    && filter.matches(&filter.prefix, &e.object)
            })
            .collect();
        for (k, e) in &current {
            track(&writer, &mut pending, k, e);
        }
        match since {
            Some(rv) if params.send_initial_events => {
                for (_, e) in &current {
                    first.push(writer.line("ADDED", e));
                }
                first.push(writer.bookmark(rv.max(store.resource_version), true));
            }
            Some(rv) if rv < store.history_floor => first.push(expired(&rv.to_string())),
            Some(rv) => {
                for e in store.history.iter().filter(|e| e.rv > rv) {
                    if filter.matches(&e.prefix, &e.entry.object) {
                        first.push(writer.line(e.kind, &e.entry));
                    }
                }
            }
            None => {
                for (_, e) in &current {
                    first.push(writer.line("ADDED", e));
                }
                if params.send_initial_events {
                    first.push(writer.bookmark(store.resource_version, true));
                }
            }
        }
        (events, store.resource_version)
    };
    let timeout = Duration::from_secs(params.timeout_seconds.unwrap_or(1800));
    let bookmarks = params.bookmarks;
    let live = Live {
        tx,
        events,
        filter,
        writer,
        pending,
        timeout,
        bookmarks,
        rv: current_rv,
    };
    tokio::spawn(live.run(first));
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Remembers when a Deployment shown by the watch finishes its rollout.
fn track(writer: &Writer, pending: &mut HashMap<String, u64>, key: &str, entry: &Entry) {
    if writer.rt.group != "apps" || writer.rt.plural != "deployments" {
        return;
    }
    let ready_at = deployments::available_at(entry.spec_changed_ms, writer.cluster.latency_scale);
    if ready_at > meta::now_ms() {
        pending.insert(key.to_string(), ready_at);
    } else {
        pending.remove(key);
    }
}

/// The live part of a watch: what it forwards and how.
struct Live {
    tx: mpsc::Sender<Bytes>,
    events: broadcast::Receiver<Event>,
    filter: Filter,
    writer: Writer,
    /// Deployments shown whose rollout completes later: key → ms.
    pending: HashMap<String, u64>,
    timeout: Duration,
    bookmarks: bool,
    /// The last resource version seen.
    rv: u64,
}

impl Live {
    /// Sends `first`, then live events until the timeout, the client
    /// going away, or the watch falling behind (410).
    async fn run(self, first: Vec<Bytes>) {
        let Live {
            tx,
            mut events,
            filter,
            writer,
            mut pending,
            timeout,
            bookmarks,
            mut rv,
        } = self;
        for line in first {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut bookmark = tokio::time::interval(Duration::from_secs(10));
        bookmark.tick().await;
        loop {
            let next_rollout = pending.values().min().copied();
            let rollout_sleep = async {
                match next_rollout {
                    Some(at) => {
                        let wait = at.saturating_sub(meta::now_ms());
                        tokio::time::sleep(Duration::from_millis(wait)).await
                    }
                    None => std::future::pending().await,
                }
            };
            let line = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
                _ = bookmark.tick(), if bookmarks => Some(writer.bookmark(rv, false)),
                _ = rollout_sleep => {
                    let now = meta::now_ms();
                    let due: Vec<String> = pending.iter().filter(|(_, at)| **at <= now).map(|(k, _)| k.clone()).collect();
                    for key in &due {
                        pending.remove(key);
                        let entry = writer.cluster.lock().get(key).cloned();
                        if let Some(entry) = entry {
                            if tx.send(writer.line("MODIFIED", &entry)).await.is_err() {
                                return;
                            }
                        }
                    }
                    None
                }
                received = events.recv() => match received {
                    Ok(e) => {
                        rv = e.rv;
                        if filter.matches(&e.prefix, &e.entry.object) {
                            let key = super::store::key(
                                &e.prefix,
                                meta_str(&e.entry.object, "namespace"),
                                meta_str(&e.entry.object, "name").unwrap_or(""),
                            );
                            if e.kind == "DELETED" {
                                pending.remove(&key);
                            } else {
                                track(&writer, &mut pending, &key, &e.entry);
                            }
                            Some(writer.line(e.kind, &e.entry))
                        } else {
                            None
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(expired(&rv.to_string())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if let Some(line) = line {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
    }
}
