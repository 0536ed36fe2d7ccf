//! The plan file.
pub mod model;
pub use model::*;
