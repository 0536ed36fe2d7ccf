//! `meshform verify`: proves, per cluster and per pair of clusters, that the
//! mesh is wired — trust, configuration and network paths — by reading the
//! cloud and the clusters (never writing). `facts` reads, `checks` judges,
//! `firewall` decides flows as VPC firewall rules do, `paths` asks Google's
//! reachability analysis about every path between clusters, `samples`
//! checks `[samples]` and sends `--traffic` between them, and this module
//! prints the report as tables or as JSON.

pub mod checks;
pub mod facts;
pub mod firewall;
pub mod paths;
pub mod samples;

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
    /// `--traffic`: a request per ordered pair of clusters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<samples::Request>,
    /// Whether the requests were modelled (the emulator) instead of sent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub traffic_modelled: bool,
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
            traffic: Vec::new(),
            traffic_modelled: false,
        }
    }

    /// The report with `--traffic`'s requests, each also a check.
    pub fn with_traffic(mut self, traffic: Vec<samples::Request>, modelled: bool) -> Report {
        let checks = traffic.iter().map(samples::Request::check);
        self.checks.extend(checks);
        self.failed = self
            .checks
            .iter()
            .filter(|c| c.result == Outcome::Fail)
            .count();
        self.passed = self.checks.len() - self.failed;
        self.traffic = traffic;
        self.traffic_modelled = modelled;
        self
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
        if !self.traffic.is_empty() {
            out += "\n";
            if self.traffic_modelled {
                out += "On the emulator no real traffic flows: each STATUS below is the modelled verdict\nof the checks and paths the request rests on, not an HTTP answer.\n";
            }
            let mut rows = vec![["FROM", "TO", "URL", "STATUS", "NOTE"]
                .map(String::from)
                .to_vec()];
            rows.extend(self.traffic.iter().map(|r| {
                vec![
                    r.from.clone(),
                    r.to.clone(),
                    r.url.clone(),
                    r.status.clone(),
                    r.note.clone(),
                ]
            }));
            out += &columns(&rows)
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>();
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
    traffic: bool,
) -> Result<Report, CloudError> {
    let facts = facts::gather(cloud, plan).await?;
    let mut checks = checks::run(&facts, trusted_roots, now);
    let questions = paths::questions(&facts, cloud.gcp.project());
    let found = paths::ask(cloud, &facts.network, &questions).await;
    checks.extend(questions.iter().zip(&found).map(|(q, p)| p.check(q)));
    let report = Report::of(checks, found);
    if !traffic {
        return Ok(report);
    }
    let modelled = matches!(cloud.gcp.target(), crate::gcp::Target::Emulator(_));
    let requests = requests(cloud, &facts, &report.checks, modelled).await;
    Ok(report.with_traffic(requests, modelled))
}

/// `--traffic`: a request from every cluster's sleep to every other
/// cluster's httpbin, sent (the real cloud) or modelled (the emulator).
async fn requests(
    cloud: &Cloud,
    facts: &facts::Facts,
    checks: &[Check],
    modelled: bool,
) -> Vec<samples::Request> {
    let Some(settings) = facts.mesh.as_ref().and_then(|m| m.samples.as_ref()) else {
        return vec![samples::Request {
            from: "mesh".into(),
            to: "mesh".into(),
            url: String::new(),
            status: "none".into(),
            ok: false,
            note: "the plan has no [samples] to send traffic between; add `[samples]` to the plan file and run `meshform apply`".into(),
        }];
    };
    let mut out = Vec::new();
    for a in &facts.clusters {
        for b in facts.clusters.iter().filter(|b| b.name != a.name) {
            let url = samples::url(&settings.namespace, &b.mesh_name);
            out.push(if modelled {
                samples::modelled(checks, &a.name, &b.name, url)
            } else {
                let call = samples::Call {
                    location: &a.location,
                    from: &a.name,
                    to: &b.name,
                    namespace: &settings.namespace,
                    url,
                };
                samples::request(cloud, call).await
            });
        }
    }
    out
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
