//! Diagnostics: what is wrong in a plan file, where (file:line:column), and how to fix it.
//!
//! Rendered like rustc and cargo:
//!
//! ```text
//! error: plans/vpc.toml:14:8: subnet range 172.20.0.0/20 of region "europe-west2" overlaps …
//!   help: give each range its own block of addresses; …
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The plan file, as the user named it.
    pub path: PathBuf,
    /// 1-based line of the offending value (or of the key or table when something is missing).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it; empty when there is nothing useful to say.
    pub help: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )?;
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

/// Every problem found in one plan file, in file order.
///
/// Displays every diagnostic followed by a blank line, then `N errors in PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The file the diagnostics are about (taken from the first one).
    fn path(&self) -> Option<&Path> {
        self.0.first().map(|d| d.path.as_path())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}\n")?;
        }
        let n = self.0.len();
        let noun = if n == 1 { "error" } else { "errors" };
        match self.path() {
            Some(path) => write!(f, "{n} {noun} in {}", path.display()),
            None => write!(f, "{n} {noun}"),
        }
    }
}

/// Turns byte offsets of one source text into 1-based line and column.
pub(crate) struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Indexes `text`, which was read from `path`.
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and character column of byte `offset`.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }

    /// A diagnostic pointing at the start of `span`.
    pub(crate) fn diagnostic(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_column(span.start);
        Diagnostic {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: help.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let src = Source::new(Path::new("p.toml"), "a = 1\nné = \"x\"\n");
        assert_eq!(src.line_column(0), (1, 1));
        assert_eq!(src.line_column(4), (1, 5));
        assert_eq!(src.line_column(6), (2, 1));
        // "né = " is 6 bytes but 5 characters.
        assert_eq!(src.line_column(12), (2, 6));
    }

    #[test]
    fn renders_like_cargo() {
        let d = Diagnostic {
            path: PathBuf::from("plans/vpc.toml"),
            line: 14,
            column: 8,
            message: "bad".into(),
            help: "fix it".into(),
        };
        let all = Diagnostics(vec![d.clone(), d]);
        assert_eq!(
            all.to_string(),
            "error: plans/vpc.toml:14:8: bad\n  help: fix it\n\n\
             error: plans/vpc.toml:14:8: bad\n  help: fix it\n\n\
             2 errors in plans/vpc.toml"
        );
    }
}
