//! The dependency graph of resources (petgraph), its cycle check and DOT output.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

use crate::address::Address;

/// A directed acyclic graph: an edge `a → b` means `b` depends on `a`.
#[derive(Debug, Clone)]
pub struct ResourceGraph {
    graph: DiGraph<Address, ()>,
    index: BTreeMap<Address, NodeIndex>,
}

/// The graph could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Resources depend on each other in a loop.
    #[error("dependency cycle: {}", .0.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<Address>),
    /// A resource depends on one that is not in the graph.
    #[error("{from} depends on {missing}, which is not part of the plan")]
    MissingDependency {
        /// The dependant.
        from: Address,
        /// The absent dependency.
        missing: Address,
    },
}

impl ResourceGraph {
    /// Builds the graph from `(address, dependencies)` pairs.
    ///
    /// # Errors
    /// [`GraphError::MissingDependency`] when a dependency is not among the
    /// nodes, [`GraphError::Cycle`] when the dependencies loop.
    pub fn build<'a>(
        nodes: impl IntoIterator<Item = (&'a Address, &'a [Address])>,
    ) -> Result<Self, GraphError> {
        let nodes: Vec<_> = nodes.into_iter().collect();
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for (address, _) in &nodes {
            index.insert((*address).clone(), graph.add_node((*address).clone()));
        }
        for (address, deps) in &nodes {
            for dep in deps.iter() {
                let from = *index
                    .get(dep)
                    .ok_or_else(|| GraphError::MissingDependency {
                        from: (*address).clone(),
                        missing: dep.clone(),
                    })?;
                graph.add_edge(from, index[*address], ());
            }
        }
        let built = ResourceGraph { graph, index };
        built.check_acyclic()?;
        Ok(built)
    }

    fn check_acyclic(&self) -> Result<(), GraphError> {
        let Err(cycle) = toposort(&self.graph, None) else {
            return Ok(());
        };
        // Walk dependencies from the reported node until one repeats: that loop is the cycle.
        let mut path = vec![cycle.node_id()];
        loop {
            let last = *path.last().expect("path starts non-empty");
            let next = self
                .graph
                .neighbors_directed(last, petgraph::Direction::Incoming)
                .find(|n| petgraph::algo::has_path_connecting(&self.graph, last, *n, None))
                .expect("a node on a cycle has a dependency on the cycle");
            if let Some(pos) = path.iter().position(|n| *n == next) {
                let mut looped: Vec<Address> = path[pos..]
                    .iter()
                    .rev()
                    .map(|n| self.graph[*n].clone())
                    .collect();
                looped.push(looped[0].clone());
                return Err(GraphError::Cycle(looped));
            }
            path.push(next);
        }
    }

    /// Addresses with every dependency before its dependants.
    pub fn topological_order(&self) -> Vec<Address> {
        toposort(&self.graph, None)
            .expect("checked acyclic at build")
            .into_iter()
            .map(|n| self.graph[n].clone())
            .collect()
    }

    /// Direct dependencies of `address`.
    pub fn dependencies(&self, address: &Address) -> Vec<Address> {
        self.neighbours(address, petgraph::Direction::Incoming)
    }

    /// Direct dependants of `address`.
    pub fn dependants(&self, address: &Address) -> Vec<Address> {
        self.neighbours(address, petgraph::Direction::Outgoing)
    }

    fn neighbours(&self, address: &Address, dir: petgraph::Direction) -> Vec<Address> {
        let Some(&n) = self.index.get(address) else {
            return vec![];
        };
        let mut out: Vec<_> = self
            .graph
            .neighbors_directed(n, dir)
            .map(|m| self.graph[m].clone())
            .collect();
        out.sort();
        out
    }

    /// The graph in Graphviz DOT, edges pointing from a dependant to what it needs
    /// (the convention of `terraform graph`).
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph meshform {\n  rankdir = \"RL\";\n");
        for address in self.index.keys() {
            out.push_str(&format!("  \"{address}\";\n"));
        }
        let mut edges: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(dep, dependant)| (self.graph[dependant].clone(), self.graph[dep].clone()))
            .collect();
        edges.sort();
        for (dependant, dep) in edges {
            out.push_str(&format!("  \"{dependant}\" -> \"{dep}\";\n"));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceKind::*;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    #[test]
    fn order_puts_dependencies_first() {
        let (n, s, r) = (a("network.vpc"), a("subnet.eu"), a("router.eu"));
        let nodes = [
            (r.clone(), vec![n.clone(), s.clone()]),
            (s.clone(), vec![n.clone()]),
            (n.clone(), vec![]),
        ];
        let g = ResourceGraph::build(nodes.iter().map(|(a, d)| (a, d.as_slice()))).unwrap();
        let order = g.topological_order();
        let pos = |x: &Address| order.iter().position(|o| o == x).unwrap();
        assert!(pos(&n) < pos(&s) && pos(&s) < pos(&r));
        assert_eq!(g.dependants(&n), vec![s.clone(), r.clone()]);
        assert_eq!(g.dependencies(&r), vec![n, s]);
    }

    #[test]
    fn cycle_is_reported_with_its_path() {
        let (x, y, z) = (
            Address::new(Subnet, "x"),
            Address::new(Subnet, "y"),
            Address::new(Subnet, "z"),
        );
        let nodes = [
            (x.clone(), vec![z.clone()]),
            (y.clone(), vec![x.clone()]),
            (z.clone(), vec![y.clone()]),
        ];
        let err = ResourceGraph::build(nodes.iter().map(|(a, d)| (a, d.as_slice()))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("dependency cycle: "), "{msg}");
        for name in ["subnet.x", "subnet.y", "subnet.z"] {
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn missing_dependency_names_both_ends() {
        let s = a("subnet.eu");
        let deps = [a("network.gone")];
        let err = ResourceGraph::build([(&s, &deps[..])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "subnet.eu depends on network.gone, which is not part of the plan"
        );
    }

    #[test]
    fn dot_lists_every_node_and_edge() {
        let (n, s) = (a("network.vpc"), a("subnet.eu"));
        let nodes = [(n.clone(), vec![]), (s.clone(), vec![n.clone()])];
        let g = ResourceGraph::build(nodes.iter().map(|(a, d)| (a, d.as_slice()))).unwrap();
        let dot = g.to_dot();
        assert!(dot.contains("\"subnet.eu\" -> \"network.vpc\";"), "{dot}");
        assert!(dot.starts_with("digraph meshform {"));
    }
}
