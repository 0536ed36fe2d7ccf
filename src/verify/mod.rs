//! `meshform verify`: proves, per cluster and per pair of clusters, that the
//! mesh is wired — trust, configuration and network paths — by reading the
//! cloud and the clusters (never writing). `facts` reads, `checks` judges,
//! `firewall` decides flows as VPC firewall rules do, `paths` asks Google's
//! reachability analysis about every path between clusters, and this module
//! prints the report as tables or as JSON.

pub mod checks;
pub mod facts;
pub mod firewall;
pub mod paths;

use std::time::SystemTime;

use serde::Serialize;

pub use checks::{Check, Outcome};

use crate::cloud::{Cloud, CloudError};
use crate::plan::Plan;

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every check, clusters first, then pairs, then paths.
    pub checks: Vec<Check>,
    /// The path table: what Connectivity Tests found between clusters.
    pub paths: Vec<paths::Path>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
}

impl Report {
    /// A report of `checks` and the path table `paths`.
    pub fn of(checks: Vec<Check>, paths: Vec<paths::Path>) -> Report {
        let failed = checks.iter().filter(|c| c.result == Outcome::Fail).count();
        Report {
            passed: checks.len() - failed,
            failed,
            checks,
            paths,
        }
    }

    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// The report as a table in kubectl's style, the path table, and a
    /// summary line.
    pub fn table(&self) -> String {
        let result = |c: &Check| match c.result {
            Outcome::Pass => "ok",
            Outcome::Fail => "FAIL",
        };
        let mut rows = vec![["CLUSTER / PAIR", "CHECK", "RESULT", "WHY"]
            .map(String::from)
            .to_vec()];
        rows.extend(self.checks.iter().map(|c| {
            vec![
                c.subject.clone(),
                c.check.to_string(),
                result(c).to_string(),
                c.why.clone(),
            ]
        }));
        let mut out: String = columns(&rows).iter().map(|l| format!("{l}\n")).collect();
        if !self.paths.is_empty() {
            out += "\n";
            out += &paths::table(&self.paths);
        }
        out += &format!(
            "\nVerify: {} passed, {} failed.\n",
            self.passed, self.failed
        );
        out
    }
}

/// Rows as columns separated by three spaces, each as wide as its widest
/// cell (the last one unpadded), as kubectl prints tables.
pub fn columns(rows: &[Vec<String>]) -> Vec<String> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                line += cell;
                if i + 1 < r.len() {
                    line += &" ".repeat(widths[i] - cell.chars().count() + 3);
                }
            }
            line
        })
        .collect()
}

/// Reads everything and runs every check of the plan's mesh, trusting the
/// roots whose fingerprints are `trusted_roots` (from state).
///
/// # Errors
/// GKE or compute cannot be read.
pub async fn verify(
    cloud: &Cloud,
    plan: &Plan,
    trusted_roots: &[String],
    now: SystemTime,
) -> Result<Report, CloudError> {
    let facts = facts::gather(cloud, plan).await?;
    let mut checks = checks::run(&facts, trusted_roots, now);
    let questions = paths::questions(&facts, cloud.gcp.project());
    let found = paths::ask(cloud, &facts.network, &questions).await;
    checks.extend(questions.iter().zip(&found).map(|(q, p)| p.check(q)));
    Ok(Report::of(checks, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(subject: &str, result: Outcome) -> Check {
        Check {
            subject: subject.into(),
            check: "cluster running",
            result,
            why: "RUNNING".into(),
        }
    }

    #[test]
    fn the_table_aligns_columns_and_counts() {
        let r = Report::of(
            vec![
                check("istio-cluster1", Outcome::Pass),
                check("istio-cluster1 -> istio-cluster2", Outcome::Fail),
            ],
            Vec::new(),
        );
        assert!(!r.ok());
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "CLUSTER / PAIR                     CHECK             RESULT   WHY"
        );
        assert_eq!(
            lines[1],
            "istio-cluster1                     cluster running   ok       RUNNING"
        );
        assert!(lines[2].contains("   FAIL     RUNNING"), "{table}");
        assert!(table.ends_with("Verify: 1 passed, 1 failed.\n"), "{table}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["checks"][1]["result"], "fail");
        assert_eq!(json["failed"], 1);
    }
}
