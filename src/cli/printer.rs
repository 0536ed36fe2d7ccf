//! The one place user-facing output is written: plan text, progress lines
//! in Terraform's style, and the closing summary.

use std::io::Write;
use std::time::Duration;

use crate::changeset::Action;
use crate::exec::{Outcome, StepKind, WalkEvent};
use crate::ops::ApplyReport;

/// Writes to stdout; errors go to stderr.
#[derive(Debug, Default)]
pub struct Printer;

impl Printer {
    /// Prints `text` as is.
    pub fn out(&self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    /// Prints a line.
    pub fn line(&self, text: &str) {
        self.out(&format!("{text}\n"));
    }

    /// Prints an error to stderr.
    pub fn error(&self, text: &str) {
        if text.starts_with("error:") {
            eprintln!("{text}");
        } else {
            eprintln!("Error: {text}");
        }
    }

    /// One progress line per walk event.
    pub fn progress(&self, event: WalkEvent<'_>) {
        let line = match event {
            WalkEvent::Started(s) => match verb(s.kind, s.action) {
                Some(v) => format!("{}: {}...", s.address, v.doing),
                None => return,
            },
            WalkEvent::StillRunning(s, t) => match verb(s.kind, s.action) {
                Some(v) => format!(
                    "{}: Still {}... [{} elapsed]",
                    s.address,
                    v.doing.to_lowercase(),
                    secs(t)
                ),
                None => return,
            },
            WalkEvent::Finished(s, t) => match verb(s.kind, s.action) {
                Some(v) => format!("{}: {} complete after {}", s.address, v.done, secs(t)),
                None => return,
            },
            WalkEvent::Failed(s, t, _) => match verb(s.kind, s.action) {
                Some(v) => format!("{}: {} failed after {}", s.address, v.done, secs(t)),
                None => format!("{}: failed", s.address),
            },
            WalkEvent::Skipped(s, by) => {
                format!("{}: Not run: it depends on {by}, which failed", s.address)
            }
            WalkEvent::Note(s, note) => format!("{}: {note}", s.address),
            WalkEvent::Interrupted { running } => format!(
                "\nInterrupt received.\nPlease wait for meshform to exit or data loss may occur.\n\
                 Gracefully shutting down: no new step starts; {running} running step(s) finish or stop \
                 where the next run can join them. Press Ctrl-C again to exit at once.\n"
            ),
        };
        self.line(&line);
    }

    /// The closing lines of an apply or destroy.
    pub fn apply_summary(&self, report: &ApplyReport, destroy: bool) {
        let (added, changed, destroyed) = report.counts();
        if !report.failed() {
            if destroy {
                self.line(&format!(
                    "\nDestroy complete! Resources: {destroyed} destroyed."
                ));
            } else {
                self.line(&format!(
                    "\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
                ));
            }
            return;
        }
        for r in &report.results {
            if let Outcome::Failed(message) = &r.outcome {
                eprintln!("\nError: {message}\n  with {}", r.step.address);
            }
        }
        let failed: Vec<_> = report
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect();
        let not_run: Vec<_> = report
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::NotRun { .. }))
            .collect();
        // A step that would have done nothing is not worth listing.
        let not_started: Vec<_> = report
            .results
            .iter()
            .filter(|r| {
                r.outcome == Outcome::Interrupted && verb(r.step.kind, r.step.action).is_some()
            })
            .collect();
        let done = report
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Done)
            .count();
        let what = if destroy { "Destroy" } else { "Apply" };
        let how = if report.interrupted() {
            "interrupted"
        } else {
            "failed"
        };
        eprintln!(
            "\n{what} {how}: {done} done ({added} added, {changed} changed, {destroyed} destroyed), {} failed, {} not run, {} not started.",
            failed.len(),
            not_run.len(),
            not_started.len()
        );
        for r in failed {
            eprintln!("  failed:  {}", r.step.address);
        }
        for r in not_run {
            if let Outcome::NotRun { blocked_by } = &r.outcome {
                eprintln!("  not run: {} (depends on {blocked_by})", r.step.address);
            }
        }
        for r in not_started {
            eprintln!("  not started: {}", r.step.address);
        }
        if report.interrupted() {
            eprintln!("State was saved after every finished resource; run the same command again to finish the job (operations still running are joined).");
        } else {
            eprintln!("State was saved after every finished resource; fix the cause and run the same command again.");
        }
    }
}

struct Verb {
    doing: &'static str,
    done: &'static str,
}

fn verb(kind: StepKind, action: Action) -> Option<Verb> {
    let (doing, done) = match (kind, action) {
        (StepKind::Delete, _) => ("Destroying", "Destruction"),
        (StepKind::Apply, Action::Create | Action::Replace) => ("Creating", "Creation"),
        (StepKind::Apply, Action::Update) => ("Modifying", "Modifications"),
        _ => return None,
    };
    Some(Verb { doing, done })
}

fn secs(t: Duration) -> String {
    let s = t.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
