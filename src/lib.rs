#![warn(missing_docs)]
//! meshform: a private, multi-region service mesh on Google Cloud from one
//! plan file. DESIGN.md holds the vocabulary (plan file, resource, state,
//! live, change set, apply, emulator); the code uses the same words.
//!
//! How a command flows, and the module that owns each step:
//!
//! ```text
//! plan file ─[plan]─▶ Plan ─[resource]─▶ desired resources ─[graph]─▶ DAG
//! state file ─[state]─▶ State (locked) ─┐
//! live cloud ─[ops::refresh via gcp]────┴─[changeset::diff]─▶ ChangeSet ─[render]─▶ text / JSON
//! ChangeSet ─[exec]─▶ steps walked in parallel ─[gcp]─▶ cloud, state saved after each resource
//! ```
//!
//! - [`plan`]: the plan file: typed model, parsing, validation with file:line:col diagnostics.
//! - [`address`]: resource addresses (`subnet.europe-west2`).
//! - [`resource`]: resource kinds, their attributes and update rules; desired resources from a plan.
//! - [`graph`]: the dependency graph (petgraph), cycle check, DOT output.
//! - [`state`]: the state file (serial, lineage, atomic writes, backup) and its lock.
//! - [`changeset`]: the change set and the pure diff that produces it.
//! - [`render`]: the change set as Terraform-style text or JSON.
//! - [`exec`]: the ready-queue executor: steps, ordering, bounded parallel walk, interrupts.
//! - [`progress`]: what the running step reports without threading parameters: notes for
//!   the user, the last retried error, the operation it waits for, the interrupt.
//! - [`cloud`]: one face for all kinds; idempotent creates (adopt or conflict), and calls
//!   refused because an earlier operation still runs join that operation and go on.
//! - [`gcp`]: Google's compute and container clients per resource kind, retries, operation
//!   waits and joins, the preflight checks of credentials, project and APIs.
//! - [`kube`]: Kubernetes clients per cluster (CA from GKE, Google bearer tokens), objects rendered
//!   from `templates/` and applied server-side, kubeconfig.
//! - [`ops`]: the operations behind each command (plan, apply, destroy, refresh).
//! - [`cli`]: argument parsing, the printer, exit codes.
//! - [`emulator`]: the embedded, persisted imitation of the compute, GKE and Service Usage APIs
//!   and of each cluster's Kubernetes API (axum on loopback), answering gcloud and kubectl too.

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
pub mod ops;
pub mod plan;
pub mod progress;
pub mod render;
pub mod resource;
pub mod state;
