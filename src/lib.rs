//! meshform: a private, multi-region service mesh on Google Cloud from one plan file.
//!
//! See DESIGN.md for the vocabulary. The module map:
//!
//! - [`plan`]: the plan file: its typed model, parsing and validation with file:line:col diagnostics.
//! - [`emulator`]: the embedded, persisted imitation of the compute API (axum on loopback).
pub mod address;
pub mod changeset;
pub mod cli;
pub mod emulator;
pub mod exec;
pub mod gcp;
pub mod graph;
pub mod ops;
pub mod plan;
pub mod render;
pub mod resource;
pub mod state;
