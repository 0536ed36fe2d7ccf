//! The parallel walk: start every step as soon as its dependencies are done,
//! at most `parallelism` at once; a failure stops only what depends on it.

use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use super::{DependencyQueue, Step, StepPlan};
use crate::address::Address;

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and succeeded.
    Done,
    /// It ran and failed with this message.
    Failed(String),
    /// It never ran because a step it depends on failed.
    NotRun {
        /// The failed step's resource.
        blocked_by: Address,
    },
}

/// A step and how it ended.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The step.
    pub step: Step,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Progress of the walk, for the progress display.
#[derive(Debug)]
pub enum WalkEvent<'a> {
    /// A step started.
    Started(&'a Step),
    /// A step is still running after this long.
    StillRunning(&'a Step, Duration),
    /// A step succeeded after this long.
    Finished(&'a Step, Duration),
    /// A step failed after this long.
    Failed(&'a Step, Duration, &'a str),
    /// A step will not run because `blocked_by` failed.
    Skipped(&'a Step, &'a Address),
}

/// Runs every step of `plan` with `run`, dependencies first, at most
/// `parallelism` at once, reporting progress to `on_event` (with a
/// `StillRunning` event for each running step every `tick`).
///
/// Returns one result per step, in the order they ended. Cancel-safe in the
/// sense that dropping the future stops starting new steps; steps already
/// sent to the cloud finish there and are adopted by the next run.
pub async fn walk<F, Fut, E>(
    plan: &StepPlan,
    parallelism: usize,
    tick: Duration,
    run: F,
    mut on_event: impl FnMut(WalkEvent<'_>),
) -> Vec<StepResult>
where
    F: Fn(Step) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let parallelism = parallelism.max(1);
    let mut queue = DependencyQueue::new(plan.steps.len(), plan.edges.iter().copied());
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut running = FuturesUnordered::new();
    let mut started_at: Vec<Option<Instant>> = vec![None; plan.steps.len()];
    let mut results = Vec::with_capacity(plan.steps.len());
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    loop {
        ready.extend(queue.dequeue_ready());
        while running.len() < parallelism {
            let Some(i) = ready.pop_front() else { break };
            let step = &plan.steps[i];
            on_event(WalkEvent::Started(step));
            started_at[i] = Some(Instant::now());
            let fut = run(step.clone());
            running.push(async move { (i, fut.await) });
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((i, result)) = running.next() => {
                let step = &plan.steps[i];
                let elapsed = started_at[i].map(|t| t.elapsed()).unwrap_or_default();
                match result {
                    Ok(()) => {
                        queue.finish(i);
                        on_event(WalkEvent::Finished(step, elapsed));
                        results.push(StepResult { step: step.clone(), outcome: Outcome::Done, elapsed });
                    }
                    Err(e) => {
                        let message = e.to_string();
                        on_event(WalkEvent::Failed(step, elapsed, &message));
                        results.push(StepResult { step: step.clone(), outcome: Outcome::Failed(message), elapsed });
                        for b in queue.fail(i) {
                            let blocked = &plan.steps[b];
                            on_event(WalkEvent::Skipped(blocked, &step.address));
                            results.push(StepResult {
                                step: blocked.clone(),
                                outcome: Outcome::NotRun { blocked_by: step.address.clone() },
                                elapsed: Duration::ZERO,
                            });
                        }
                    }
                }
            }
            _ = ticker.tick() => {
                for (i, t) in started_at.iter().enumerate() {
                    let still = results.iter().all(|r: &StepResult| r.step != plan.steps[i]);
                    if let (Some(t), true) = (t, still) {
                        on_event(WalkEvent::StillRunning(&plan.steps[i], t.elapsed()));
                    }
                }
            }
        }
    }
    results
}
