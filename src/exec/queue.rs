//! A ready-queue over a DAG (after cargo's `DependencyQueue`): hand out what
//! is ready, and on `finish` say what became ready.

use std::collections::{BTreeMap, BTreeSet};

/// Nodes `0..n` with "waits for" edges: a hard edge's node never starts
/// when the node it waits for fails; a soft edge's node only waits for the
/// other to end, however it ends.
#[derive(Debug, Clone)]
pub struct DependencyQueue {
    waiting_on: Vec<BTreeSet<usize>>,
    dependants: Vec<BTreeSet<usize>>,
    soft_dependants: Vec<BTreeSet<usize>>,
    queued: BTreeSet<usize>,
    taken: BTreeSet<usize>,
}

impl DependencyQueue {
    /// `n` nodes; `edges` are `(before, after)`: `after` waits for `before`.
    pub fn new(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Self {
        Self::with_soft(n, edges, [])
    }

    /// [`DependencyQueue::new`], where the edges also in `soft` only order:
    /// `after` starts once `before` ended, whether it failed or not.
    pub fn with_soft(
        n: usize,
        edges: impl IntoIterator<Item = (usize, usize)>,
        soft: impl IntoIterator<Item = (usize, usize)>,
    ) -> Self {
        let soft: BTreeSet<(usize, usize)> = soft.into_iter().collect();
        let mut waiting_on = vec![BTreeSet::new(); n];
        let mut dependants = vec![BTreeSet::new(); n];
        let mut soft_dependants = vec![BTreeSet::new(); n];
        for (before, after) in edges.into_iter().chain(soft.iter().copied()) {
            waiting_on[after].insert(before);
            if soft.contains(&(before, after)) {
                soft_dependants[before].insert(after);
            } else {
                dependants[before].insert(after);
            }
        }
        DependencyQueue {
            waiting_on,
            dependants,
            soft_dependants,
            queued: (0..n).collect(),
            taken: BTreeSet::new(),
        }
    }

    /// Takes every node whose dependencies are all finished.
    pub fn dequeue_ready(&mut self) -> Vec<usize> {
        let ready: Vec<usize> = self
            .queued
            .iter()
            .copied()
            .filter(|n| self.waiting_on[*n].is_empty())
            .collect();
        for n in &ready {
            self.queued.remove(n);
            self.taken.insert(*n);
        }
        ready
    }

    /// Marks `node` done, releasing its dependants.
    pub fn finish(&mut self, node: usize) {
        self.taken.remove(&node);
        for d in self.dependants[node]
            .iter()
            .chain(&self.soft_dependants[node])
        {
            self.waiting_on[*d].remove(&node);
        }
    }

    /// Marks `node` failed: every node that transitively waits for it by
    /// hard edges is removed from the queue and returned, so it is never
    /// started; nodes waiting by soft edges (on it or on those) are released.
    pub fn fail(&mut self, node: usize) -> Vec<usize> {
        self.taken.remove(&node);
        let mut blocked = BTreeMap::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            for &d in &self.soft_dependants[n] {
                self.waiting_on[d].remove(&n);
            }
            for &d in &self.dependants[n] {
                if self.queued.remove(&d) {
                    blocked.insert(d, ());
                    stack.push(d);
                }
            }
        }
        blocked.into_keys().collect()
    }

    /// Whether nothing is queued or running.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.taken.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_releases_dependants_in_order() {
        // 0 -> 1 -> 2, 0 -> 3
        let mut q = DependencyQueue::new(4, [(0, 1), (1, 2), (0, 3)]);
        assert_eq!(q.dequeue_ready(), vec![0]);
        assert!(q.dequeue_ready().is_empty());
        q.finish(0);
        assert_eq!(q.dequeue_ready(), vec![1, 3]);
        q.finish(3);
        q.finish(1);
        assert_eq!(q.dequeue_ready(), vec![2]);
        q.finish(2);
        assert!(q.is_empty());
    }

    #[test]
    fn a_soft_dependant_runs_after_a_failure_and_after_what_it_blocked() {
        // 0 -> 1 (hard), 0 ~> 2 (soft), 1 ~> 3 (soft), 2 -> 4 (hard)
        let mut q = DependencyQueue::with_soft(5, [(0, 1), (2, 4)], [(0, 2), (1, 3)]);
        assert_eq!(q.dequeue_ready(), vec![0]);
        assert_eq!(q.fail(0), vec![1]);
        assert_eq!(q.dequeue_ready(), vec![2, 3]);
        q.finish(2);
        q.finish(3);
        assert_eq!(q.dequeue_ready(), vec![4]);
        q.finish(4);
        assert!(q.is_empty());
    }

    #[test]
    fn fail_blocks_only_transitive_dependants() {
        let mut q = DependencyQueue::new(4, [(0, 1), (1, 2)]);
        assert_eq!(q.dequeue_ready(), vec![0, 3]);
        assert_eq!(q.fail(0), vec![1, 2]);
        q.finish(3);
        assert!(q.dequeue_ready().is_empty());
        assert!(q.is_empty());
    }
}
