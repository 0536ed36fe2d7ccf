#![warn(missing_docs)]
//! meshform: a private, multi-region service mesh on Google Cloud from one
//! plan file. DESIGN.md holds the vocabulary (plan file, resource, state,
//! live, change set, apply, emulator); the code uses the same words.
//!
//! How a command flows, and the module that owns each step:
//!
//! ```text
//! plan file ─[plan]─▶ Plan ─[resource]─▶ desired resources (typed specs of [kinds]) ─[graph]─▶ DAG
//! state file ─[state]─▶ State (locked) ─┐
//! live cloud ─[ops::refresh via cloud]──┴─[changeset::diff]─▶ ChangeSet ─[render]─▶ text / JSON
//! ChangeSet ─[exec]─▶ steps walked in parallel ─[cloud → kinds → gcp | kube]─▶ cloud,
//!           state saved after each resource with its outputs
//! ```
//!
//! - [`plan`]: the plan file: typed model, parsing, validation with file:line:col diagnostics.
//! - [`address`]: resource addresses (`subnet.europe-west2`).
//! - [`kinds`]: one module per resource kind (typed spec, the rule of each field, its API,
//!   what it lives in, its outputs, read / create / update / delete) and the one registry
//!   that lists them; adding a kind is one file and one registry line. Kinds talk to
//!   Compute, GKE, a cluster's Kubernetes API, or nothing (`Api::Local`: the mesh's CAs,
//!   which live beside the state). Istio's control plane and each east-west gateway are
//!   tracked groups of rendered objects (`kinds::object_group`); `gke_leftovers` is the
//!   sweep of what GKE's load balancers left on the network, run after its cluster is gone;
//!   `istio_reader` (the reader identity and its token) and `remote_secret` (one per
//!   ordered pair of clusters) federate the control planes.
//! - [`resource`]: the kind-independent form the engine works with: JSON attributes, ids,
//!   outputs and references to them (known after apply), sensitive references, time
//!   limits; desired resources from a plan, and which root CAs a mesh has (`roots`: the
//!   phases of a root rotation, decided from state).
//! - [`graph`]: the dependency graph (petgraph), cycle check, DOT output.
//! - [`state`]: the state in a file (serial, lineage, atomic writes, backup, outputs,
//!   cluster connections) or a Cloud Storage bucket (writes conditional on the generation),
//!   its lock (a file lock, or a lock object across machines), the secret store (files
//!   beside a local state, 0700/0600; Secret Manager for a state in a bucket: keys, tokens
//!   and the CAs' entries) and the object store of rendered manifests.
//! - [`changeset`]: the change set and the pure diff that produces it; every change records
//!   its reason as a closed type and the fields that force a replace.
//! - [`render`]: the change set as Terraform-style text or JSON; it only reads decisions.
//! - [`exec`]: the ready-queue executor: steps, ordering (edges that need success, and
//!   "after, whatever the outcome" edges for sweeps), bounded parallel walk, interrupts.
//! - [`progress`]: what the running step reports without threading parameters: notes for
//!   the user, the last retried error, the operation it waits for, the interrupt.
//! - [`cloud`]: one face for all kinds, dispatching through the registry; idempotent creates
//!   (adopt or conflict), and calls refused because an earlier operation still runs join
//!   that operation and go on.
//! - [`gcp`]: transport to Google: compute and container clients, retries, operation waits
//!   and joins, the preflight checks of credentials, project and APIs. It knows no kind.
//! - [`kube`]: transport to each cluster's Kubernetes API: clients per cluster from its
//!   connection settings (CA from GKE, Google bearer tokens), the generic server-side apply /
//!   read / delete-and-wait of objects rendered from `templates/` or of any type by reference
//!   (`kube::manifest`: Istio's manifests, waits for Established CRDs and rollouts),
//!   kubeconfig.
//! - [`mesh`]: the Istio control plane's and east-west gateway's values, their IstioOperator
//!   overlays, the generator of their objects (istioctl of the pinned version — found, downloaded, verified — or the
//!   emulated stand-in), YAML streams, and the certificate authority (`mesh::ca`, rcgen).
//! - [`ops`]: the operations behind each command (plan, apply, destroy, refresh, verify,
//!   state migrate); for a
//!   mesh, planning renders the control planes and guards the root of trust (`ops::mesh`).
//! - [`verify`]: `meshform verify`: reads the clusters, GKE and the firewall (`verify::facts`),
//!   judges each link of the mesh as a pure function of those facts (`verify::checks`), decides
//!   flows by every firewall rule on the network as VPC does (`verify::firewall`), and reports.
//! - [`cli`]: argument parsing, the printer, exit codes.
//! - [`emulator`]: the embedded, persisted imitation of the compute, GKE, Service Usage,
//!   Network Management, Secret Manager and Cloud Storage APIs and of each cluster's
//!   Kubernetes API (axum on loopback), answering gcloud and kubectl too.

pub mod address;
pub mod changeset;
pub mod cli;
pub mod cloud;
pub mod emulator;
pub mod exec;
pub mod gcp;
pub mod graph;
pub mod kinds;
pub mod kube;
pub mod mesh;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod render;
pub mod resource;
pub mod state;
pub mod verify;
