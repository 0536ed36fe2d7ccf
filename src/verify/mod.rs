//! `meshform verify`: proves, per cluster and per pair of clusters, that the
//! mesh is wired — trust, configuration and network paths — by reading the
//! cloud and the clusters (never writing). `facts` reads, `checks` judges,
//! `firewall` decides flows as VPC firewall rules do, and this module
//! prints the report as a table or as JSON.

pub mod checks;
pub mod facts;
pub mod firewall;

use std::time::SystemTime;

use serde::Serialize;

pub use checks::{Check, Outcome};

use crate::cloud::{Cloud, CloudError};
use crate::plan::Plan;

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every check, clusters first, then pairs.
    pub checks: Vec<Check>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
}

impl Report {
    /// A report of `checks`.
    pub fn of(checks: Vec<Check>) -> Report {
        let failed = checks.iter().filter(|c| c.result == Outcome::Fail).count();
        Report {
            passed: checks.len() - failed,
            failed,
            checks,
        }
    }

    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// The report as a table in kubectl's style, with a summary line.
    pub fn table(&self) -> String {
        let header = ("CLUSTER / PAIR", "CHECK", "RESULT", "WHY");
        let result = |c: &Check| match c.result {
            Outcome::Pass => "ok",
            Outcome::Fail => "FAIL",
        };
        let w0 = self
            .checks
            .iter()
            .map(|c| c.subject.chars().count())
            .chain([header.0.len()])
            .max()
            .unwrap_or(0);
        let w1 = self
            .checks
            .iter()
            .map(|c| c.check.len())
            .chain([header.1.len()])
            .max()
            .unwrap_or(0);
        let w2 = header.2.len();
        let line = |a: &str, b: &str, c: &str, d: &str| {
            let pad = w0 - a.chars().count();
            format!("{a}{}   {b:<w1$}   {c:<w2$}   {d}\n", " ".repeat(pad))
        };
        let mut out = line(header.0, header.1, header.2, header.3);
        for c in &self.checks {
            out += &line(&c.subject, c.check, result(c), &c.why);
        }
        out += &format!(
            "\nVerify: {} passed, {} failed.\n",
            self.passed, self.failed
        );
        out
    }
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
    Ok(Report::of(checks::run(&facts, trusted_roots, now)))
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
        let r = Report::of(vec![
            check("istio-cluster1", Outcome::Pass),
            check("istio-cluster1 -> istio-cluster2", Outcome::Fail),
        ]);
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
