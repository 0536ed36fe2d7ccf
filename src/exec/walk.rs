//! The parallel walk: start every step as soon as its dependencies are done,
//! at most `parallelism` at once in each lane (Google's APIs; each cluster's
//! Kubernetes API), the step with the longest chain of steps after it first
//! (so a lane full of short steps does not hold back the long path); a
//! failure stops only what depends on it, and an interrupt stops starting
//! new steps.

use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::{DependencyQueue, Step, StepPlan};
use crate::address::Address;
use crate::progress::{Interrupt, StepContext};

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
    /// It never started because the run was interrupted.
    Interrupted,
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
    /// A running step says something (see [`crate::progress::note`]).
    Note(&'a Step, &'a str),
    /// A step succeeded after this long.
    Finished(&'a Step, Duration),
    /// A step failed after this long.
    Failed(&'a Step, Duration, &'a str),
    /// A step will not run because `blocked_by` failed.
    Skipped(&'a Step, &'a Address),
    /// The run was interrupted: no new step starts; `running` steps are
    /// left to finish or to stop at a point the next run can join.
    Interrupted {
        /// Steps still running.
        running: usize,
    },
}

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Steps run at once at most in each lane (at least 1).
    pub parallelism: usize,
    /// How often running steps report that they still run.
    pub tick: Duration,
    /// Stops starting new steps when it fires.
    pub interrupt: Interrupt,
}

impl WalkOptions {
    /// `parallelism` steps at once, a still-running event every `tick`, never interrupted.
    pub fn new(parallelism: usize, tick: Duration) -> WalkOptions {
        WalkOptions {
            parallelism,
            tick,
            interrupt: Interrupt::never(),
        }
    }
}

/// For every step, how many steps the longest chain that waits for it has
/// (itself included): the list scheduler's priority.
fn heights(plan: &StepPlan) -> Vec<usize> {
    let n = plan.steps.len();
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for &(b, a) in plan.edges.iter().chain(&plan.soft_edges) {
        after[b].push(a);
        waiting[a] += 1;
    }
    // Kahn's order, then heights from the end.
    let mut order: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let i = order[next];
        next += 1;
        for &a in &after[i] {
            waiting[a] -= 1;
            if waiting[a] == 0 {
                order.push(a);
            }
        }
    }
    let mut height = vec![1usize; n];
    for &i in order.iter().rev() {
        height[i] = 1 + after[i].iter().map(|&a| height[a]).max().unwrap_or(0);
    }
    height
}

/// Runs every step of `plan` with `run`, dependencies first, reporting
/// progress to `on_event`. Each step runs inside its own
/// [`StepContext`] (so it can report notes and see the interrupt) and its
/// own tracing span carrying the resource address.
///
/// Returns one result per step, in the order they ended. Once
/// `options.interrupt` fires, no step starts any more: steps that had not
/// started end as [`Outcome::Interrupted`]; running ones end as they end.
pub async fn walk<F, Fut, E>(
    plan: &StepPlan,
    options: &WalkOptions,
    run: F,
    mut on_event: impl FnMut(WalkEvent<'_>),
) -> Vec<StepResult>
where
    F: Fn(Step) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    use tracing::Instrument;
    let parallelism = options.parallelism.max(1);
    let tick = options.tick;
    let mut queue = DependencyQueue::with_soft(
        plan.steps.len(),
        plan.edges.iter().copied(),
        plan.soft_edges.iter().copied(),
    );
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut in_lane: std::collections::BTreeMap<super::Lane, usize> = Default::default();
    let heights = heights(plan);
    let mut running = FuturesUnordered::new();
    let mut started_at: Vec<Option<Instant>> = vec![None; plan.steps.len()];
    let mut ended = vec![false; plan.steps.len()];
    let mut results = Vec::with_capacity(plan.steps.len());
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    let (notes_tx, mut notes_rx) = mpsc::unbounded_channel::<(usize, String)>();
    let interrupt = options.interrupt.clone();
    let mut stopping = interrupt.is_set();
    loop {
        if !stopping && interrupt.is_set() {
            stopping = true;
            on_event(WalkEvent::Interrupted {
                running: running.len(),
            });
        }
        if !stopping {
            let newly = queue.dequeue_ready();
            if !newly.is_empty() {
                ready.extend(newly);
                ready
                    .make_contiguous()
                    .sort_by_key(|&i| (std::cmp::Reverse(heights[i]), i));
            }
        }
        let mut next = 0;
        while !stopping && next < ready.len() {
            let i = ready[next];
            let step = &plan.steps[i];
            let busy = in_lane.entry(step.lane.clone()).or_insert(0);
            if *busy >= parallelism {
                next += 1;
                continue;
            }
            *busy += 1;
            ready.remove(next);
            on_event(WalkEvent::Started(step));
            started_at[i] = Some(Instant::now());
            let context = StepContext::new(i, notes_tx.clone(), interrupt.clone());
            let span = tracing::info_span!("step", address = %step.address, kind = ?step.kind);
            let fut = context.scope(run(step.clone())).instrument(span);
            running.push(async move { (i, fut.await) });
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((i, result)) = running.next() => {
                while let Ok((n, note)) = notes_rx.try_recv() {
                    on_event(WalkEvent::Note(&plan.steps[n], &note));
                }
                let step = &plan.steps[i];
                if let Some(busy) = in_lane.get_mut(&step.lane) {
                    *busy -= 1;
                }
                let elapsed = started_at[i].map(|t| t.elapsed()).unwrap_or_default();
                ended[i] = true;
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
            Some((n, note)) = notes_rx.recv() => {
                on_event(WalkEvent::Note(&plan.steps[n], &note));
            }
            _ = interrupt.fired(), if !stopping => {
                stopping = true;
                on_event(WalkEvent::Interrupted { running: running.len() });
            }
            _ = ticker.tick() => {
                for (i, t) in started_at.iter().enumerate() {
                    if let (Some(t), false) = (t, ended[i]) {
                        on_event(WalkEvent::StillRunning(&plan.steps[i], t.elapsed()));
                    }
                }
            }
        }
    }
    let reported: std::collections::BTreeSet<usize> =
        results.iter().map(|r| step_index(plan, &r.step)).collect();
    for (i, step) in plan.steps.iter().enumerate() {
        if !reported.contains(&i) {
            results.push(StepResult {
                step: step.clone(),
                outcome: Outcome::Interrupted,
                elapsed: Duration::ZERO,
            });
        }
    }
    results
}

fn step_index(plan: &StepPlan, step: &Step) -> usize {
    plan.steps
        .iter()
        .position(|s| s == step)
        .expect("results hold the plan's steps")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changeset::Action;
    use crate::exec::StepKind;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn plan(n: usize, edges: &[(usize, usize)]) -> StepPlan {
        StepPlan {
            steps: (0..n)
                .map(|i| {
                    let address: crate::address::Address =
                        format!("firewall.r{i}").parse().unwrap();
                    Step {
                        change: i,
                        lane: crate::exec::Lane::of(&address),
                        address,
                        kind: StepKind::Apply,
                        action: Action::Create,
                    }
                })
                .collect(),
            edges: edges.to_vec(),
            soft_edges: Vec::new(),
        }
    }

    #[tokio::test]
    async fn dependants_start_only_after_their_dependencies_finish() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3
        let p = plan(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let log = Mutex::new(Vec::new());
        let results = walk(
            &p,
            &WalkOptions::new(8, Duration::from_secs(60)),
            |s: Step| {
                let log = &log;
                async move {
                    log.lock().unwrap().push(format!("start {}", s.change));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    log.lock().unwrap().push(format!("end {}", s.change));
                    Ok::<_, String>(())
                }
            },
            |_| {},
        )
        .await;
        let log = log.into_inner().unwrap();
        let at = |e: &str| log.iter().position(|l| l == e).unwrap();
        assert!(at("end 0") < at("start 1") && at("end 0") < at("start 2"));
        assert!(at("end 1") < at("start 3") && at("end 2") < at("start 3"));
        assert!(results.iter().all(|r| r.outcome == Outcome::Done));
    }

    #[tokio::test]
    async fn independent_steps_run_together_up_to_the_parallelism() {
        let p = plan(6, &[]);
        let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
        walk(
            &p,
            &WalkOptions::new(2, Duration::from_secs(60)),
            |_s: Step| {
                let (now, max) = (&now, &max);
                async move {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, String>(())
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(max.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn each_clusters_kubernetes_api_has_a_budget_of_its_own() {
        // 3 steps through Google's APIs, 3 in cluster a, 3 in cluster b.
        let mut p = plan(9, &[]);
        for (i, s) in p.steps.iter_mut().enumerate().skip(3) {
            let region = if i < 6 { "a" } else { "b" };
            s.address = format!("namespace.{region}.n{i}").parse().unwrap();
            s.lane = crate::exec::Lane::of(&s.address);
        }
        assert_eq!(p.steps[4].lane, crate::exec::Lane::Cluster("a".into()));
        let lanes: Mutex<std::collections::BTreeMap<String, (usize, usize)>> = Default::default();
        let total = (AtomicUsize::new(0), AtomicUsize::new(0));
        walk(
            &p,
            &WalkOptions::new(2, Duration::from_secs(60)),
            |s: Step| {
                let (lanes, total) = (&lanes, &total);
                async move {
                    let key = format!("{:?}", s.lane);
                    {
                        let mut l = lanes.lock().unwrap();
                        let e = l.entry(key.clone()).or_default();
                        e.0 += 1;
                        e.1 = e.1.max(e.0);
                    }
                    let n = total.0.fetch_add(1, Ordering::SeqCst) + 1;
                    total.1.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    total.0.fetch_sub(1, Ordering::SeqCst);
                    lanes.lock().unwrap().get_mut(&key).unwrap().0 -= 1;
                    Ok::<_, String>(())
                }
            },
            |_| {},
        )
        .await;
        let lanes = lanes.into_inner().unwrap();
        assert_eq!(lanes.len(), 3);
        assert!(lanes.values().all(|(_, max)| *max == 2), "{lanes:?}");
        assert_eq!(total.1.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn with_one_slot_the_step_with_the_longest_chain_after_it_goes_first() {
        // 0 (short, nothing after it) and 1 -> 2 -> 3: 1 starts first.
        let p = plan(4, &[(1, 2), (2, 3)]);
        assert_eq!(heights(&p), [1, 3, 2, 1]);
        let order = Mutex::new(Vec::new());
        walk(
            &p,
            &WalkOptions::new(1, Duration::from_secs(60)),
            |s: Step| {
                let order = &order;
                async move {
                    order.lock().unwrap().push(s.change);
                    Ok::<_, String>(())
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(order.into_inner().unwrap()[0], 1);
    }

    #[tokio::test]
    async fn a_failure_stops_its_dependants_and_nothing_else() {
        // 0 -> 1 -> 2, and 3 independent. 0 fails.
        let p = plan(4, &[(0, 1), (1, 2)]);
        let mut skipped = Vec::new();
        let results = walk(
            &p,
            &WalkOptions::new(4, Duration::from_secs(60)),
            |s: Step| async move {
                if s.change == 0 {
                    Err("quota exceeded".to_string())
                } else {
                    Ok(())
                }
            },
            |e| {
                if let WalkEvent::Skipped(s, by) = e {
                    skipped.push((s.change, by.to_string()));
                }
            },
        )
        .await;
        let outcome = |i: usize| {
            results
                .iter()
                .find(|r| r.step.change == i)
                .unwrap()
                .outcome
                .clone()
        };
        assert_eq!(outcome(0), Outcome::Failed("quota exceeded".into()));
        let blocked = Outcome::NotRun {
            blocked_by: "firewall.r0".parse().unwrap(),
        };
        assert_eq!(outcome(1), blocked);
        assert_eq!(outcome(2), blocked);
        assert_eq!(outcome(3), Outcome::Done);
        assert_eq!(skipped.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn long_steps_report_that_they_are_still_running() {
        let p = plan(1, &[]);
        let mut ticks = 0;
        walk(
            &p,
            &WalkOptions::new(1, Duration::from_secs(10)),
            |_s: Step| async move {
                tokio::time::sleep(Duration::from_secs(25)).await;
                Ok::<_, String>(())
            },
            |e| {
                if matches!(e, WalkEvent::StillRunning(..)) {
                    ticks += 1;
                }
            },
        )
        .await;
        assert_eq!(ticks, 2);
    }

    #[tokio::test]
    async fn an_interrupt_lets_running_steps_end_and_starts_nothing_new() {
        // 0 -> 1, and 2 independent; parallelism 1: 0 runs, 2 waits its turn.
        let p = plan(3, &[(0, 1)]);
        let (handle, interrupt) = crate::progress::Interrupt::new();
        let options = WalkOptions {
            interrupt,
            ..WalkOptions::new(1, Duration::from_secs(60))
        };
        let handle = &handle;
        let mut interrupted = None;
        let mut notes = Vec::new();
        let results = walk(
            &p,
            &options,
            |s: Step| async move {
                if s.change == 0 {
                    crate::progress::note("waiting for operation-1");
                    handle.fire();
                    crate::progress::interrupted().await;
                    return Err("interrupted while waiting for operation-1".to_string());
                }
                Ok(())
            },
            |e| match e {
                WalkEvent::Interrupted { running } => interrupted = Some(running),
                WalkEvent::Note(s, n) => notes.push((s.change, n.to_string())),
                _ => {}
            },
        )
        .await;
        let outcome = |i: usize| {
            results
                .iter()
                .find(|r| r.step.change == i)
                .unwrap()
                .outcome
                .clone()
        };
        assert!(matches!(outcome(0), Outcome::Failed(m) if m.contains("operation-1")));
        assert_eq!(
            outcome(1),
            Outcome::NotRun {
                blocked_by: "firewall.r0".parse().unwrap()
            }
        );
        assert_eq!(outcome(2), Outcome::Interrupted);
        assert!(interrupted.is_some());
        assert_eq!(notes, [(0, "waiting for operation-1".to_string())]);
        assert_eq!(results.len(), 3);
    }
}
