//! What every resource kind declares: its typed spec, the rule of each
//! field, the API it talks to, what it lives in, its outputs, and its
//! read / create / update / delete. [`Registered`] turns a typed [`Kind`]
//! into the [`Behaviour`] the engine calls with JSON attributes.

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::future::Future;
use std::marker::PhantomData;

use super::ResourceKind;
use crate::cloud::{Cloud, CloudError};
use crate::gcp::InFlight;
use crate::resource::{Attrs, Ids, Live, Outputs};

/// How a change to one field can be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// The API can patch it in place.
    Updatable,
    /// The API cannot change it: the resource must be replaced.
    ForcesReplacement,
    /// Reported by reads, never asked for: a difference is not a change
    /// (what a sweep would remove, listed in `plan --destroy`).
    Observed,
}

/// The rule of one field of a kind's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The field's name in the spec (and in state and plan output).
    pub name: &'static str,
    /// How a change of it is applied.
    pub rule: FieldRule,
    /// Whether its value is secret material (held as a digest in the spec).
    pub sensitive: bool,
}

/// A field the API patches in place.
pub const fn updatable(name: &'static str) -> Field {
    Field {
        name,
        rule: FieldRule::Updatable,
        sensitive: false,
    }
}

/// A field whose change replaces the resource.
pub const fn forces_replacement(name: &'static str) -> Field {
    Field {
        name,
        rule: FieldRule::ForcesReplacement,
        sensitive: false,
    }
}

impl Field {
    /// The same field, holding secret material.
    pub const fn sensitive(self) -> Field {
        Field {
            sensitive: true,
            ..self
        }
    }
}

/// Which API a kind talks to: decides joins, refresh fallbacks, preflight
/// checks and what goes with a destroyed cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Compute Engine (operations, `*Operations.list`, deletes in flight).
    Compute,
    /// Google Kubernetes Engine.
    Gke,
    /// A cluster's Kubernetes API (server-side apply).
    Kubernetes,
    /// No API: files beside the state (the mesh's certificate authorities).
    Local,
}

/// A field reads report and the plan never asks for.
pub const fn observed(name: &'static str) -> Field {
    Field {
        name,
        rule: FieldRule::Observed,
        sensitive: false,
    }
}

/// Default time limits of a kind's steps, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Creating (and replacing).
    pub create: u64,
    /// Updating in place.
    pub update: u64,
    /// Deleting.
    pub delete: u64,
}

/// The typed attributes of a kind: what the plan asks for and what a read
/// reports, in the same form.
pub trait Spec: Serialize + DeserializeOwned + Clone + PartialEq + Debug + Send + Sync {}
impl<T: Serialize + DeserializeOwned + Clone + PartialEq + Debug + Send + Sync> Spec for T {}

/// What a read found: the spec as it is, with ids and outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<S> {
    /// Ids the cloud gave it.
    pub ids: Ids,
    /// The managed attributes as they are.
    pub spec: S,
    /// What it produced (an endpoint, a CA digest).
    pub outputs: Outputs,
    /// Why it is going away, when a delete of it is under way.
    pub deleting: Option<String>,
}

/// What a create or update left: the resource's ids and its outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Ids the cloud gave it (empty when the API does not report them).
    pub ids: Ids,
    /// Its outputs (empty for kinds without outputs).
    pub outputs: Outputs,
}

impl From<Ids> for Applied {
    fn from(ids: Ids) -> Self {
        Applied {
            ids,
            outputs: Outputs::new(),
        }
    }
}

/// One kind of resource, all in one module.
pub trait Kind: Send + Sync + 'static {
    /// The typed attributes.
    type Spec: Spec;
    /// Its kind in addresses.
    const KIND: ResourceKind;
    /// The API it talks to.
    const API: Api;
    /// The rule of every field of [`Kind::Spec`]; a field missing here
    /// forces replacement (and a test per kind fails).
    const FIELDS: &'static [Field];
    /// The kinds of the dependencies it lives in: when one is replaced, so is it.
    const LIVES_IN: &'static [ResourceKind] = &[];
    /// The outputs its reads (and creates and updates) report.
    const OUTPUTS: &'static [&'static str] = &[];
    /// Whether an in-place update gives new outputs (a re-issued
    /// certificate): then what is built from them changes too.
    const OUTPUTS_CHANGE_ON_UPDATE: bool = false;
    /// Whether it makes cloud resources outside what it lives in (a
    /// LoadBalancer Service makes GKE create a load balancer): then it is
    /// deleted before its container, never dropped with it, and a failed
    /// delete does not stop the container's (a sweep removes what remains).
    const LEAVES_CLOUD_RESOURCES: bool = false;
    /// The kinds of the dependencies it sweeps up after: its delete runs
    /// after theirs (not before, as other dependants' do), and after the
    /// deletes of everything living in them, whatever their outcome.
    const SWEEPS_AFTER: &'static [ResourceKind] = &[];
    /// Default time limits (Terraform's Google provider for compute).
    const LIMITS: Limits = Limits {
        create: 20,
        update: 20,
        delete: 20,
    };

    /// Why it must be done again at `now` although nothing changed (a
    /// certificate within its re-issue window), judged from its outputs.
    fn renewal(
        _spec: &Self::Spec,
        _outputs: &Outputs,
        _now: std::time::SystemTime,
    ) -> Option<String> {
        None
    }

    /// The operations on it to join when the API says it is busy.
    fn in_flight(_spec: &Self::Spec, _project: &str) -> InFlight {
        InFlight::None
    }

    /// Reads it like `spec` (its name and place are taken from it); `None`
    /// when it does not exist.
    fn read(
        cloud: &Cloud,
        spec: &Self::Spec,
    ) -> impl Future<Output = Result<Option<Observed<Self::Spec>>, CloudError>> + Send;

    /// Creates it and waits until it exists; "already exists" is an error the
    /// caller may adopt. A kind with outputs returns them.
    fn create(
        cloud: &Cloud,
        spec: &Self::Spec,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    /// Changes the updatable fields from `before` to `after` in place. A kind
    /// with outputs returns them.
    fn update(
        cloud: &Cloud,
        before: &Self::Spec,
        after: &Self::Spec,
    ) -> impl Future<Output = Result<Applied, CloudError>> + Send;

    /// Deletes it and waits until it is gone; "not found" is done.
    fn delete(
        cloud: &Cloud,
        spec: &Self::Spec,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}

/// A kind as the engine sees it: JSON attributes in and out.
pub trait Behaviour: Send + Sync {
    /// Its kind.
    fn kind(&self) -> ResourceKind;
    /// The API it talks to.
    fn api(&self) -> Api;
    /// The rule of every field.
    fn fields(&self) -> &'static [Field];
    /// The kinds it lives in.
    fn lives_in(&self) -> &'static [ResourceKind];
    /// Default time limits.
    fn limits(&self) -> Limits;
    /// [`Kind::OUTPUTS_CHANGE_ON_UPDATE`].
    fn outputs_change_on_update(&self) -> bool;
    /// [`Kind::LEAVES_CLOUD_RESOURCES`].
    fn leaves_cloud_resources(&self) -> bool;
    /// [`Kind::SWEEPS_AFTER`].
    fn sweeps_after(&self) -> &'static [ResourceKind];
    /// [`Kind::renewal`]; `None` also when the attributes do not fit.
    fn renewal(
        &self,
        attrs: &Attrs,
        outputs: &Outputs,
        now: std::time::SystemTime,
    ) -> Option<String>;
    /// What to join when it is busy.
    fn in_flight(&self, attrs: &Attrs, project: &str) -> Result<InFlight, CloudError>;
    /// [`Kind::read`].
    fn read<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<Option<Live>, CloudError>>;
    /// [`Kind::create`].
    fn create<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<Applied, CloudError>>;
    /// [`Kind::update`].
    fn update<'a>(
        &'a self,
        cloud: &'a Cloud,
        before: &'a Attrs,
        after: &'a Attrs,
    ) -> BoxFuture<'a, Result<Applied, CloudError>>;
    /// [`Kind::delete`].
    fn delete<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<(), CloudError>>;
}

/// The [`Behaviour`] of a typed [`Kind`].
pub struct Registered<K>(PhantomData<K>);

impl<K> Registered<K> {
    /// The behaviour of `K`.
    pub const fn new() -> Self {
        Registered(PhantomData)
    }
}

impl<K> Default for Registered<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// A spec from attributes.
///
/// # Errors
/// [`CloudError::Attributes`] when they do not fit.
pub fn spec_of<S: Spec>(kind: ResourceKind, attrs: &Attrs) -> Result<S, CloudError> {
    let value = serde_json::Value::Object(attrs.clone().into_iter().collect());
    serde_json::from_value(value).map_err(|e| CloudError::Attributes {
        kind,
        message: e.to_string(),
    })
}

/// Attributes from a spec.
pub fn attrs_of<S: Spec>(spec: &S) -> Attrs {
    match serde_json::to_value(spec).expect("specs serialize") {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => unreachable!("specs are structs"),
    }
}

impl<K: Kind> Behaviour for Registered<K> {
    fn kind(&self) -> ResourceKind {
        K::KIND
    }
    fn api(&self) -> Api {
        K::API
    }
    fn fields(&self) -> &'static [Field] {
        K::FIELDS
    }
    fn lives_in(&self) -> &'static [ResourceKind] {
        K::LIVES_IN
    }
    fn limits(&self) -> Limits {
        K::LIMITS
    }
    fn outputs_change_on_update(&self) -> bool {
        K::OUTPUTS_CHANGE_ON_UPDATE
    }
    fn leaves_cloud_resources(&self) -> bool {
        K::LEAVES_CLOUD_RESOURCES
    }
    fn sweeps_after(&self) -> &'static [ResourceKind] {
        K::SWEEPS_AFTER
    }
    fn renewal(
        &self,
        attrs: &Attrs,
        outputs: &Outputs,
        now: std::time::SystemTime,
    ) -> Option<String> {
        K::renewal(&spec_of(K::KIND, attrs).ok()?, outputs, now)
    }
    fn in_flight(&self, attrs: &Attrs, project: &str) -> Result<InFlight, CloudError> {
        Ok(K::in_flight(&spec_of(K::KIND, attrs)?, project))
    }
    fn read<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<Option<Live>, CloudError>> {
        Box::pin(async move {
            let spec = spec_of::<K::Spec>(K::KIND, attrs)?;
            Ok(K::read(cloud, &spec).await?.map(|o| Live {
                ids: o.ids,
                attrs: attrs_of(&o.spec),
                outputs: o.outputs,
                deleting: o.deleting,
            }))
        })
    }
    fn create<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<Applied, CloudError>> {
        Box::pin(async move { K::create(cloud, &spec_of(K::KIND, attrs)?).await })
    }
    fn update<'a>(
        &'a self,
        cloud: &'a Cloud,
        before: &'a Attrs,
        after: &'a Attrs,
    ) -> BoxFuture<'a, Result<Applied, CloudError>> {
        Box::pin(async move {
            let before = spec_of(K::KIND, before)?;
            K::update(cloud, &before, &spec_of(K::KIND, after)?).await
        })
    }
    fn delete<'a>(
        &'a self,
        cloud: &'a Cloud,
        attrs: &'a Attrs,
    ) -> BoxFuture<'a, Result<(), CloudError>> {
        Box::pin(async move { K::delete(cloud, &spec_of(K::KIND, attrs)?).await })
    }
}

/// Checks that `K`'s field rules name exactly the fields of `sample`
/// (a spec with every optional field set): for the per-kind tests.
///
/// # Panics
/// A field without a rule, or a rule for no field.
pub fn assert_every_field_has_a_rule<K: Kind>(sample: &K::Spec) {
    let attrs = attrs_of(sample);
    let fields: Vec<&str> = attrs.keys().map(String::as_str).collect();
    let mut ruled: Vec<&str> = K::FIELDS.iter().map(|f| f.name).collect();
    ruled.sort();
    assert_eq!(
        fields,
        ruled,
        "{}: every spec field needs exactly one rule",
        K::KIND
    );
}
