//! The emulator as the official `google-cloud-compute-v1` client (and raw HTTP)
//! sees it. One test binary (each costs link time), one file per job:
//!
//! - `networks.rs`, `subnetworks.rs`: each collection's own rules;
//! - `in_use.rs`: duplicates, overlaps, and deletes of what is in use;
//! - `load_balancers.rs`: backend services, health checks, NEGs;
//! - `gke_load_balancers.rs`: GKE's L4 ILB controller for LoadBalancer Services;
//! - `raw_http.rs`: bad bodies, forwarding rules and instances over raw HTTP;
//! - `operations.rs`: latencies, wait, request ids, retention, restarts;
//! - `faults_and_access.rs`: injected faults, disabled API, missing project;
//! - `support.rs`: what they share.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod faults_and_access;
mod gke_load_balancers;
mod in_use;
mod load_balancers;
mod networks;
mod operations;
mod raw_http;
mod subnetworks;
mod support;
