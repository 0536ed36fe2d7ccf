//! The executor: turns a change set into steps and walks them in dependency
//! order, in parallel, bounded by `--parallelism`. It makes no decisions.

mod queue;
mod steps;
mod walk;

pub use queue::DependencyQueue;
pub use steps::{Lane, Step, StepKind, StepPlan};
pub use walk::{walk, Outcome, StepResult, WalkEvent, WalkOptions};
