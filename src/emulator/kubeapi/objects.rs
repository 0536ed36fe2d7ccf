//! Object requests: get, list, create, replace, patch (server-side apply,
//! merge and strategic merge), delete, delete collection, and the `status`
//! subresource.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::apply;
use super::cluster::{all_types, Cluster};
use super::crd;
use super::defaults;
use super::deployments;
use super::finalizers;
use super::jsonpatch;
use super::meta::{self, meta_str};
use super::paths::Target;
use super::protobuf;
use super::query::Params;
use super::resources::{self, ResourceType};
use super::scale;
use super::selectors::{FieldSelector, Selector};
use super::status::Failure;
use super::store::{key, prefix_of, Entry, Store};
use super::validate;
use super::watch::{self, Event};

/// One object request, as the router hands it over.
#[derive(Debug)]
pub struct ObjectRequest<'a> {
    /// HTTP method.
    pub method: &'a Method,
    /// What the path addresses.
    pub target: &'a Target,
    /// Query parameters.
    pub query: &'a HashMap<String, String>,
    /// `Content-Type` without parameters.
    pub content_type: &'a str,
    /// `User-Agent`, for the default field manager.
    pub user_agent: &'a str,
    /// Request body.
    pub body: &'a [u8],
    /// The parsed query parameters.
    pub params: &'a Params,
}

/// The resource type `target` addresses, after checking that its scope
/// matches the path.
///
/// # Errors
/// 404 for an unknown resource or a path of the wrong scope.
pub fn resolve(store: &Store, target: &Target, method: &Method) -> Result<ResourceType, Failure> {
    let types = all_types(store);
    let t = target;
    let rt = resources::find(&types, &t.group, &t.version, &t.plural)
        .ok_or_else(|| Failure::no_route(&format!("{} {}", t.group, t.plural)))?
        .clone();
    let ns = t.namespace.as_deref();
    if ns.is_some() && !rt.namespaced {
        return Err(Failure::no_route(&rt.plural));
    }
    if rt.namespaced && ns.is_none() && !(t.name.is_none() && method == Method::GET) {
        return Err(Failure::no_route(&rt.plural));
    }
    Ok(rt)
}

/// An object as clients see it: `apiVersion` of `rt`, computed status.
pub fn present(rt: &ResourceType, entry: &Entry, now: u64, latency_scale: f64) -> Value {
    let mut object = entry.object.clone();
    object["apiVersion"] = json!(rt.api_version());
    object["kind"] = json!(rt.kind);
    if rt.group == "apps" && rt.plural == "deployments" {
        object["status"] = deployments::status(&object, entry.spec_changed_ms, now, latency_scale);
    }
    object
}

/// `object` without what changes on every write (resource version,
/// generation, managed-fields times): equal values mean a no-op write.
fn comparable(object: &Value) -> Value {
    let mut copy = object.clone();
    let m = meta::metadata_mut(&mut copy);
    m.remove("resourceVersion");
    m.remove("generation");
    if let Some(list) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
        for e in list.iter_mut().filter_map(Value::as_object_mut) {
            e.remove("time");
        }
    }
    copy
}

/// Handles one object request.
///
/// # Errors
/// A Kubernetes `Status` failure (404, 409, 400, 422, 405, 415, 500).
pub fn handle(cluster: &Cluster, req: &ObjectRequest<'_>) -> Result<(StatusCode, Value), Failure> {
    let mut store = cluster.lock_caught_up();
    let t = req.target;
    let rt = resolve(&store, t, req.method)?;
    // A delete may carry `DeleteOptions` in its body, `dryRun` among them.
    let delete_dry_run = req.method == Method::DELETE
        && serde_json::from_slice::<Value>(req.body).is_ok_and(|o| {
            o["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|v| v == "All"))
        });
    let dry_run = req.params.dry_run || delete_dry_run;
    let mut op = Op {
        cluster,
        store: &mut store,
        rt: &rt,
        req,
        now: meta::now_ms(),
        dry_run,
        events: Vec::new(),
    };
    let (code, body, mutated) = match (req.method, t.name.as_deref(), t.subresource.as_deref()) {
        (&Method::GET, None, None) => (StatusCode::OK, op.list()?, false),
        (&Method::POST, None, None) => (StatusCode::CREATED, op.create()?, true),
        (&Method::DELETE, None, None) => (StatusCode::OK, op.delete_collection()?, true),
        (&Method::GET, Some(name), None) => (StatusCode::OK, op.get(name)?, false),
        (&Method::PUT, Some(name), None) => (StatusCode::OK, op.replace(name, false)?, true),
        (&Method::PATCH, Some(name), None) => {
            let (code, body) = op.patch(name, false)?;
            (code, body, true)
        }
        (&Method::DELETE, Some(name), None) => (StatusCode::OK, op.delete(name)?, true),
        (&Method::GET, Some(name), Some("status")) if rt.status_subresource => {
            (StatusCode::OK, op.get(name)?, false)
        }
        (&Method::PUT, Some(name), Some("status")) if rt.status_subresource => {
            (StatusCode::OK, op.replace(name, true)?, true)
        }
        (&Method::PATCH, Some(name), Some("status")) if rt.status_subresource => {
            let (_, body) = op.patch(name, true)?;
            (StatusCode::OK, body, true)
        }
        (&Method::GET, Some(name), Some("scale")) if rt.plural == "deployments" => {
            (StatusCode::OK, op.scale_request(name, false)?, false)
        }
        (&Method::PUT | &Method::PATCH, Some(name), Some("scale"))
            if rt.plural == "deployments" =>
        {
            (StatusCode::OK, op.scale_request(name, true)?, true)
        }
        (_, _, Some(sub)) => return Err(Failure::no_route(&format!("{}/{sub}", rt.plural))),
        (m, _, _) => {
            return Err(Failure::method_not_allowed(format!(
                "{m} is not supported on {}",
                rt.plural
            )))
        }
    };
    let events = op.events;
    if mutated && !dry_run && !events.is_empty() {
        cluster.persist(&store)?;
        watch::publish(cluster, &mut store, events);
    }
    Ok((code, body))
}

struct Op<'a, 'r> {
    cluster: &'a Cluster,
    store: &'a mut Store,
    rt: &'a ResourceType,
    req: &'a ObjectRequest<'r>,
    now: u64,
    dry_run: bool,
    events: Vec<Event>,
}

impl Op<'_, '_> {
    fn ns(&self) -> Option<&str> {
        self.req.target.namespace.as_deref()
    }

    fn key(&self, name: &str) -> String {
        key(&self.rt.store_prefix(), self.ns(), name)
    }

    fn not_found(&self, name: &str) -> Failure {
        Failure::not_found(&self.rt.group, &self.rt.plural, name)
    }

    fn now_str(&self) -> String {
        meta::timestamp(self.now)
    }

    /// The `fieldManager` query parameter, or the client's program name.
    fn manager(&self) -> String {
        match self.req.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => {
                let ua = self.req.user_agent.split('/').next().unwrap_or("").trim();
                if ua.is_empty() {
                    "unknown".into()
                } else {
                    ua.to_string()
                }
            }
        }
    }

    fn body_json(&self) -> Result<Value, Failure> {
        if self.req.content_type == "application/vnd.kubernetes.protobuf" {
            let mut value = protobuf::decode(&self.rt.kind, self.req.body).map_err(
                |(code, message)| match code {
                    415 => {
                        let mut f = Failure::unsupported_media_type(self.req.content_type);
                        f.message = message;
                        f
                    }
                    _ => Failure::bad_request(message),
                },
            )?;
            value["apiVersion"] = json!(self.rt.api_version());
            value["kind"] = json!(self.rt.kind);
            return Ok(value);
        }
        let value: Value = serde_json::from_slice(self.req.body).map_err(|e| {
            Failure::bad_request(format!(
                "the request body is not JSON ({e}); the emulated API server reads JSON bodies only"
            ))
        })?;
        if !value.is_object() {
            return Err(Failure::bad_request(
                "the request body must be a JSON object",
            ));
        }
        Ok(value)
    }

    /// The object as clients see it: apiVersion of the request, computed status.
    fn present(&self, entry: &Entry) -> Value {
        present(self.rt, entry, self.now, self.cluster.latency_scale)
    }

    /// Fills the API server's defaults into `object`; `old` is the stored
    /// version, whose allocated cluster IP and node ports an update keeps.
    fn default(&self, object: &mut Value, old: Option<&Value>) -> Result<(), Failure> {
        let now = self.now_str();
        let ctx = defaults::Context {
            services: self.cluster.services,
            store: self.store,
            now: &now,
            old,
        };
        defaults::apply(&self.rt.group, &self.rt.plural, object, &ctx)
    }

    fn is_namespace(&self) -> bool {
        self.rt.group.is_empty() && self.rt.plural == "namespaces"
    }

    /// 403 when the namespace of a new object is being terminated.
    fn check_create(&self, name: &str) -> Result<(), Failure> {
        finalizers::check_create(self.store, self.ns(), &self.rt.group, &self.rt.plural, name)
    }

    fn require_namespace(&self) -> Result<(), Failure> {
        match self.ns() {
            Some(ns) if self.store.get(&key("/namespaces", None, ns)).is_none() => {
                Err(Failure::not_found("", "namespaces", ns))
            }
            _ => Ok(()),
        }
    }

    /// Checks the body's name and namespace against the URL; fills them in.
    fn check_identity(&self, object: &mut Value, name: &str) -> Result<(), Failure> {
        match meta_str(object, "name") {
            Some(n) if !n.is_empty() && n != name => {
                return Err(Failure::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )))
            }
            _ => {}
        }
        self.check_namespace(object)?;
        meta::metadata_mut(object).insert("name".into(), json!(name));
        Ok(())
    }

    fn check_namespace(&self, object: &mut Value) -> Result<(), Failure> {
        match (meta_str(object, "namespace"), self.ns()) {
            (Some(b), Some(u)) if !b.is_empty() && b != u => Err(Failure::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            (_, Some(u)) => {
                meta::metadata_mut(object).insert("namespace".into(), json!(u));
                Ok(())
            }
            (_, None) => {
                meta::metadata_mut(object).remove("namespace");
                Ok(())
            }
        }
    }

    fn get(&self, name: &str) -> Result<Value, Failure> {
        let entry = self
            .store
            .get(&self.key(name))
            .ok_or_else(|| self.not_found(name))?;
        Ok(self.present(entry))
    }

    fn selected(&self) -> Result<Vec<&Entry>, Failure> {
        let labels = Selector::parse(self.req.query.get("labelSelector").map_or("", |s| s))?;
        let fields = FieldSelector::parse(self.req.query.get("fieldSelector").map_or("", |s| s))?;
        Ok(self
            .store
            .list(&self.rt.store_prefix(), self.ns())
            .into_iter()
            .filter(|e| labels.matches(&e.object) && fields.matches(&e.object))
            .collect())
    }

    fn list(&self) -> Result<Value, Failure> {
        let items: Vec<Value> = self
            .selected()?
            .into_iter()
            .map(|e| self.present(e))
            .collect();
        Ok(json!({
            "kind": format!("{}List", self.rt.kind),
            "apiVersion": self.rt.api_version(),
            "metadata": {"resourceVersion": self.store.resource_version.to_string()},
            "items": items,
        }))
    }

    fn create(&mut self) -> Result<Value, Failure> {
        let mut object = self.body_json()?;
        let name = match (meta_str(&object, "name"), meta_str(&object, "generateName")) {
            (Some(n), _) if !n.is_empty() => n.to_string(),
            (_, Some(g)) if !g.is_empty() => format!("{g}{}", meta::name_suffix()),
            _ => {
                return Err(Failure::invalid(format!(
                "{} is invalid: metadata.name: Required value: name or generateName is required",
                self.rt.kind
            )))
            }
        };
        self.check_identity(&mut object, &name)?;
        self.require_namespace()?;
        let key = self.key(&name);
        if self.store.get(&key).is_none() {
            self.check_create(&name)?;
        }
        if self.store.get(&key).is_some() {
            return Err(Failure::already_exists(
                &self.rt.group,
                &self.rt.plural,
                &name,
            ));
        }
        if self.rt.status_subresource {
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
        }
        self.default(&mut object, None)?;
        apply::record_update(None, &mut object, &self.manager(), None, &self.now_str());
        self.commit(key, None, object)
    }

    fn replace(&mut self, name: &str, status_only: bool) -> Result<Value, Failure> {
        let (key, old) = self.existing(name)?;
        let mut body = self.body_json()?;
        self.check_identity(&mut body, name)?;
        self.check_resource_version(&body, &old, name)?;
        let new = if status_only {
            let mut new = old.object.clone();
            set_status(&mut new, body.get("status").cloned());
            new
        } else {
            let mut new = body;
            if self.rt.status_subresource {
                set_status(&mut new, old.object.get("status").cloned());
            }
            new
        };
        self.finish_update(key, old, new, status_only)
    }

    fn check_resource_version(&self, body: &Value, old: &Entry, name: &str) -> Result<(), Failure> {
        match meta_str(body, "resourceVersion") {
            Some(rv) if !rv.is_empty() && Some(rv) != meta_str(&old.object, "resourceVersion") => {
                Err(Failure::conflict(
                    &self.rt.group,
                    &self.rt.plural,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ))
            }
            _ => Ok(()),
        }
    }

    fn finish_update(
        &mut self,
        key: String,
        old: Entry,
        mut new: Value,
        status_only: bool,
    ) -> Result<Value, Failure> {
        let sub = status_only.then_some("status");
        self.default(&mut new, Some(&old.object))?;
        apply::record_update(
            Some(&old.object),
            &mut new,
            &self.manager(),
            sub,
            &self.now_str(),
        );
        self.commit(key, Some(old), new)
    }

    /// The stored object `name` and its key; 404 when there is none.
    fn existing(&self, name: &str) -> Result<(String, Entry), Failure> {
        let key = self.key(name);
        let old = self
            .store
            .get(&key)
            .cloned()
            .ok_or_else(|| self.not_found(name))?;
        Ok((key, old))
    }

    /// A change of the main resource keeps its identity, and its status
    /// when the kind has a status subresource.
    fn spec_update(&self, new: &mut Value, old: &Entry, name: &str) -> Result<(), Failure> {
        self.check_identity(new, name)?;
        if self.rt.status_subresource {
            set_status(new, old.object.get("status").cloned());
        }
        Ok(())
    }

    fn patch(&mut self, name: &str, status_only: bool) -> Result<(StatusCode, Value), Failure> {
        match self.req.content_type {
            "application/apply-patch+yaml" => self.server_side_apply(name, status_only),
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                let (key, old) = self.existing(name)?;
                let patch = self.body_json()?;
                self.check_resource_version(&patch, &old, name)?;
                let mut new = old.object.clone();
                if status_only {
                    if let Some(s) = patch.get("status") {
                        let mut status = new.get("status").cloned().unwrap_or(json!({}));
                        apply::merge_patch(&mut status, s);
                        set_status(&mut new, Some(status));
                    }
                } else {
                    apply::merge_patch(&mut new, &patch);
                    self.spec_update(&mut new, &old, name)?;
                }
                Ok((
                    StatusCode::OK,
                    self.finish_update(key, old, new, status_only)?,
                ))
            }
            "application/json-patch+json" => {
                let (key, old) = self.existing(name)?;
                let patch: Value = serde_json::from_slice(self.req.body).map_err(|e| {
                    Failure::bad_request(format!("the JSON patch is not JSON: {e}"))
                })?;
                let mut new = self.present(&old);
                jsonpatch::apply(&mut new, &patch).map_err(Failure::invalid)?;
                if status_only {
                    let mut whole = old.object.clone();
                    set_status(&mut whole, new.get("status").cloned());
                    new = whole;
                } else {
                    self.spec_update(&mut new, &old, name)?;
                }
                Ok((
                    StatusCode::OK,
                    self.finish_update(key, old, new, status_only)?,
                ))
            }
            other => Err(Failure::unsupported_media_type(other)),
        }
    }

    /// The `scale` subresource of a Deployment (`autoscaling/v1` Scale).
    fn scale(&self, entry: &Entry) -> Value {
        scale::of(&self.present(entry))
    }

    /// Reads (`write` false) or changes the `scale` subresource.
    fn scale_request(&mut self, name: &str, write: bool) -> Result<Value, Failure> {
        let (key, old) = self.existing(name)?;
        let current = self.scale(&old);
        if !write {
            return Ok(current);
        }
        let wanted = match (self.req.method, self.req.content_type) {
            (&Method::PUT, _) => self.body_json()?,
            (_, "application/json-patch+json") => {
                let patch: Value = serde_json::from_slice(self.req.body).map_err(|e| {
                    Failure::bad_request(format!("the JSON patch is not JSON: {e}"))
                })?;
                let mut scale = current.clone();
                jsonpatch::apply(&mut scale, &patch).map_err(Failure::invalid)?;
                scale
            }
            (_, "application/merge-patch+json" | "application/strategic-merge-patch+json") => {
                let mut scale = current.clone();
                apply::merge_patch(&mut scale, &self.body_json()?);
                scale
            }
            (_, other) => return Err(Failure::unsupported_media_type(other)),
        };
        self.check_resource_version(&wanted, &old, name)?;
        let replicas = wanted["spec"]["replicas"].as_i64().ok_or_else(|| {
            Failure::invalid(format!(
                "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Required value"
            ))
        })?;
        let mut new = old.object.clone();
        new["spec"]["replicas"] = json!(replicas);
        let updated = self.finish_update(key.clone(), old, new, false)?;
        let entry = self.store.get(&key).cloned().unwrap_or(Entry {
            object: updated,
            spec_changed_ms: self.now,
            changed_ms: self.now,
        });
        Ok(self.scale(&entry))
    }

    fn server_side_apply(
        &mut self,
        name: &str,
        status_only: bool,
    ) -> Result<(StatusCode, Value), Failure> {
        let manager = match self.req.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => {
                return Err(Failure::bad_request(
                    "PATCH with content type application/apply-patch+yaml requires the fieldManager query parameter",
                ))
            }
        };
        let force = self.req.params.force;
        let mut applied = self.body_json()?;
        for field in ["apiVersion", "kind"] {
            if applied
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(Failure::bad_request(format!(
                    "{field} must be set in an applied configuration"
                )));
            }
        }
        self.check_identity(&mut applied, name)?;
        self.require_namespace()?;
        let key = self.key(name);
        let old = self.store.get(&key).cloned();
        if old.is_none() {
            self.check_create(name)?;
        }
        if status_only {
            let old = old.ok_or_else(|| self.not_found(name))?;
            let mut new = old.object.clone();
            let mut status = new.get("status").cloned().unwrap_or(json!({}));
            apply::merge(&mut status, applied.get("status").unwrap_or(&json!({})));
            set_status(&mut new, Some(status));
            return Ok((StatusCode::OK, self.commit(key, Some(old), new)?));
        }
        if self.rt.status_subresource {
            if let Some(map) = applied.as_object_mut() {
                map.remove("status");
            }
        }
        let merged = apply::apply(
            old.as_ref().map(|e| &e.object),
            &applied,
            &manager,
            force,
            &self.now_str(),
        )
        .map_err(|c| Failure::apply_conflict(&c))?;
        let mut merged = merged;
        if self.rt.status_subresource {
            set_status(
                &mut merged,
                old.as_ref().and_then(|e| e.object.get("status").cloned()),
            );
        }
        let code = if old.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((code, self.commit(key, old, merged)?))
    }

    /// Stamps server-set metadata and status, stores (unless dry run) and
    /// returns the object as clients see it.
    fn commit(
        &mut self,
        key: String,
        old: Option<Entry>,
        mut object: Value,
    ) -> Result<Value, Failure> {
        object["apiVersion"] = json!(self.rt.api_version());
        object["kind"] = json!(self.rt.kind);
        self.default(&mut object, old.as_ref().map(|e| &e.object))?;
        let name = meta_str(&object, "name").unwrap_or("").to_string();
        validate::name(&self.rt.group, &self.rt.plural, &self.rt.kind, &name)?;
        validate::spec(&self.rt.group, &self.rt.plural, &object)?;
        if let Some(old) = &old {
            finalizers::carry_over(&old.object, &mut object, &self.rt.kind)?;
        }
        if let Some(old) = &old {
            let mut candidate = object.clone();
            let m = meta::metadata_mut(&mut candidate);
            for field in ["uid", "creationTimestamp"] {
                m.insert(field.into(), old.object["metadata"][field].clone());
            }
            if comparable(&candidate) == comparable(&old.object) {
                return Ok(self.present(old));
            }
        }
        let rv = if self.dry_run {
            (self.store.resource_version + 1).to_string()
        } else {
            self.store.next_resource_version()
        };
        let mut spec_changed_ms = self.now;
        match &old {
            Some(old) => {
                let old_meta = &old.object["metadata"];
                let generation = old_meta["generation"].as_i64().unwrap_or(1);
                let changed =
                    meta::generation_relevant(&old.object) != meta::generation_relevant(&object);
                if !changed {
                    spec_changed_ms = old.spec_changed_ms;
                }
                let m = meta::metadata_mut(&mut object);
                for field in ["uid", "creationTimestamp"] {
                    m.insert(field.into(), old_meta[field].clone());
                }
                m.insert("resourceVersion".into(), json!(rv));
                m.insert(
                    "generation".into(),
                    json!(if changed { generation + 1 } else { generation }),
                );
            }
            None => meta::stamp_new(&mut object, &rv, self.now),
        }
        let entry = Entry {
            object,
            spec_changed_ms,
            changed_ms: self.now,
        };
        let out = self.present(&entry);
        if !self.dry_run && finalizers::finished(&entry.object, self.is_namespace()) {
            // The last finalizer of an object being deleted is gone: so is it.
            self.store.objects.insert(key.clone(), entry);
            self.events.extend(self.store.remove(&key));
            return Ok(out);
        }
        if !self.dry_run {
            self.events.push(Event {
                kind: if old.is_some() { "MODIFIED" } else { "ADDED" },
                prefix: self.rt.store_prefix(),
                entry: entry.clone(),
                rv: self.store.resource_version,
            });
            self.store.objects.insert(key, entry);
            if old.is_none() && self.rt.group.is_empty() && self.rt.plural == "namespaces" {
                self.namespace_defaults(&out);
            }
        }
        Ok(out)
    }

    /// Adds a new namespace's `default` ServiceAccount and
    /// `kube-root-ca.crt` ConfigMap, as the cluster's controllers do.
    fn namespace_defaults(&mut self, namespace: &Value) {
        let name = meta_str(namespace, "name").unwrap_or("").to_string();
        let added = self
            .store
            .namespace_defaults(&name, &self.cluster.ca_pem, self.now);
        for key in added {
            if let Some(entry) = self.store.get(&key).cloned() {
                let rv = meta_str(&entry.object, "resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(self.store.resource_version);
                self.events.push(Event {
                    kind: "ADDED",
                    prefix: prefix_of(&key),
                    entry,
                    rv,
                });
            }
        }
    }

    fn remove(&mut self, key: &str, entry: &Entry) {
        let Some(removed) = self.store.objects.remove(key) else {
            return;
        };
        let mut gone = vec![(key.to_string(), removed)];
        if (self.rt.group.as_str(), self.rt.plural.as_str())
            == ("apiextensions.k8s.io", "customresourcedefinitions")
        {
            if let Some(prefix) = crd::resource_prefix(&entry.object) {
                gone.extend(self.store.remove_prefix(&prefix));
            }
        }
        let rv = self.store.next_resource_version();
        for (key, mut entry) in gone {
            meta::metadata_mut(&mut entry.object).insert("resourceVersion".into(), json!(rv));
            self.events.push(Event {
                kind: "DELETED",
                prefix: prefix_of(&key),
                entry,
                rv: self.store.resource_version,
            });
        }
    }

    fn delete(&mut self, name: &str) -> Result<Value, Failure> {
        let key = self.key(name);
        let entry = self
            .store
            .get(&key)
            .cloned()
            .ok_or_else(|| self.not_found(name))?;
        if finalizers::delete_is_graceful(&entry.object, self.is_namespace()) {
            return Ok(self.mark_deleting(&key, entry));
        }
        let out = self.present(&entry);
        if !self.dry_run {
            self.remove(&key, &entry);
        }
        Ok(out)
    }

    /// The DELETE of an object that has finalizers (or is a Namespace):
    /// it is only marked as being deleted; a second DELETE changes nothing.
    fn mark_deleting(&mut self, key: &str, entry: Entry) -> Value {
        if finalizers::is_deleting(&entry.object) {
            return self.present(&entry);
        }
        let mut object = entry.object.clone();
        finalizers::mark_deleting(&mut object, &self.now_str(), self.is_namespace());
        if self.dry_run {
            return self.present(&Entry { object, ..entry });
        }
        let events = self.store.write(key, object, self.now);
        let out = match events.first() {
            Some(e) => self.present(&e.entry),
            None => self.present(&entry),
        };
        self.events.extend(events);
        out
    }

    fn delete_collection(&mut self) -> Result<Value, Failure> {
        let doomed: Vec<Entry> = self.selected()?.into_iter().cloned().collect();
        let mut items = Vec::new();
        for entry in doomed {
            items.push(self.present(&entry));
            let name = meta_str(&entry.object, "name").unwrap_or("").to_string();
            let ns = meta_str(&entry.object, "namespace").map(str::to_string);
            let key = key(&self.rt.store_prefix(), ns.as_deref(), &name);
            if finalizers::delete_is_graceful(&entry.object, self.is_namespace()) {
                self.mark_deleting(&key, entry);
            } else if !self.dry_run {
                self.remove(&key, &entry);
            }
        }
        Ok(json!({
            "kind": format!("{}List", self.rt.kind),
            "apiVersion": self.rt.api_version(),
            "metadata": {"resourceVersion": self.store.resource_version.to_string()},
            "items": items,
        }))
    }
}

fn set_status(object: &mut Value, status: Option<Value>) {
    if let Some(map) = object.as_object_mut() {
        match status {
            Some(s) => {
                map.insert("status".into(), s);
            }
            None => {
                map.remove("status");
            }
        }
    }
}
