//! Where each value of a plan file is: key path → byte span.
//!
//! Key paths name values the way a reader would: `project`,
//! `region[1].subnet.pod_range.cidr`, `firewall[0].allow[2]`; the root is `""`.

use std::collections::HashMap;
use std::ops::Range;

/// Byte spans of the values of one plan file, by key path.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex(HashMap<String, Range<usize>>);

impl SpanIndex {
    /// Records where the value at `path` is.
    pub(crate) fn insert(&mut self, path: &str, span: Range<usize>) {
        self.0.insert(path.to_owned(), span);
    }

    /// The span of the value at `path`, or of its nearest enclosing value that is in
    /// the file (a defaulted field points at its table; a table header for
    /// `[[region]]` stands for the whole element). The root is at `0..0`.
    pub(crate) fn locate(&self, path: &str) -> Range<usize> {
        let mut path = path;
        loop {
            if let Some(span) = self.0.get(path) {
                return span.clone();
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None if path.is_empty() => return 0..0,
                None => path = "",
            }
        }
    }

    /// The byte offset where the value at `path` starts (see [`SpanIndex::locate`]).
    pub(crate) fn start(&self, path: &str) -> usize {
        self.locate(path).start
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_fall_back_to_the_enclosing_value() {
        let mut spans = SpanIndex::default();
        spans.insert("", 0..0);
        spans.insert("region[0]", 10..20);
        spans.insert("region[0].subnet.cidr", 30..40);
        assert_eq!(spans.locate("region[0].subnet.cidr"), 30..40);
        assert_eq!(spans.locate("region[0].nat.min_ports_per_vm"), 10..20);
        assert_eq!(spans.locate("firewall[3].allow[0]"), 0..0);
        assert_eq!(join("", "project"), "project");
        assert_eq!(join("region[0]", "name"), "region[0].name");
    }
}
