//! The subset of the list `filter` syntax the emulator understands:
//! `field = "value"`, `field != value` (`*` wildcards), `field eq regex`,
//! `field ne regex` (a full match, see [`super::regex`]), and several
//! parenthesised terms joined by spaces or `AND`. Link values compare by path.

use serde_json::Value;

use super::super::errors::ApiError;
use super::super::refs;
use super::regex::Regex;

#[derive(Debug)]
struct Term {
    field: String,
    negate: bool,
    pattern: Pattern,
}

#[derive(Debug)]
enum Pattern {
    /// Literal pieces between `*` wildcards.
    Glob(Vec<String>),
    /// A regular expression, matched in full against the value as the API
    /// returns it or as a relative path.
    Regex(Regex),
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Default)]
pub struct Filter {
    terms: Vec<Term>,
    project: String,
}

impl Filter {
    /// Parses `filter` for a list in `project`.
    ///
    /// # Errors
    /// 400 `invalid` for expressions outside the supported subset.
    pub fn parse(filter: &str, project: &str) -> Result<Filter, ApiError> {
        let mut terms = Vec::new();
        let mut rest = filter.trim();
        while !rest.is_empty() {
            let (expr, tail) = if let Some(inner) = rest.strip_prefix('(') {
                let end = closing(inner).ok_or_else(|| bad(filter))?;
                (&inner[..end], &inner[end + 1..])
            } else {
                (rest, "")
            };
            terms.push(parse_term(expr.trim(), filter)?);
            rest = tail.trim();
            rest = rest.strip_prefix("AND").map(str::trim).unwrap_or(rest);
        }
        Ok(Filter {
            terms,
            project: project.to_string(),
        })
    }

    /// Whether `resource` passes every term.
    pub fn matches(&self, resource: &Value) -> bool {
        self.terms.iter().all(|t| {
            let value = match &resource[&t.field] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let rel = refs::to_rel(&value, &self.project);
            let hit = match &t.pattern {
                Pattern::Glob(pattern) => glob(pattern, rel.as_deref().unwrap_or(&value)),
                Pattern::Regex(re) => {
                    re.full_match(&value) || rel.as_deref().is_some_and(|r| re.full_match(r))
                }
            };
            hit != t.negate
        })
    }
}

/// The index of the `)` that closes a term opened just before `text`,
/// skipping quoted values and nested parentheses (regex groups).
fn closing(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth == 0 => return Some(i),
            ')' if !quoted => depth -= 1,
            _ => {}
        }
    }
    None
}

fn bad(filter: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value for field 'filter': '{filter}'. Invalid list filter expression."
    ))
}

fn parse_term(expr: &str, filter: &str) -> Result<Term, ApiError> {
    let mut words = expr.splitn(3, ' ');
    let (Some(field), Some(op), Some(value)) = (words.next(), words.next(), words.next()) else {
        return Err(bad(filter));
    };
    let value = value.trim().trim_matches('"');
    let (negate, regex) = match op {
        "=" | ":" => (false, false),
        "!=" => (true, false),
        "eq" => (false, true),
        "ne" => (true, true),
        _ => return Err(bad(filter)),
    };
    if regex {
        let re = Regex::new(value).ok_or_else(|| bad(filter))?;
        return Ok(Term {
            field: field.to_string(),
            negate,
            pattern: Pattern::Regex(re),
        });
    }
    let pattern: Vec<String> = value.split('*').map(str::to_string).collect();
    let pattern = if pattern.len() == 1 {
        refs::to_rel(&pattern[0], "")
            .map(|r| vec![r])
            .unwrap_or(pattern)
    } else {
        pattern
    };
    Ok(Term {
        field: field.to_string(),
        negate,
        pattern: Pattern::Glob(pattern),
    })
}

fn glob(pattern: &[String], value: &str) -> bool {
    match pattern {
        [] => value.is_empty(),
        [only] => only == value,
        [first, middle @ .., last] => {
            let Some(mut rest) = value.strip_prefix(first.as_str()) else {
                return false;
            };
            for piece in middle {
                match rest.find(piece.as_str()) {
                    Some(i) => rest = &rest[i + piece.len()..],
                    None => return false,
                }
            }
            rest.len() >= last.len() && rest.ends_with(last.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_filters() {
        let r = json!({"name": "k8s2-abc", "network": "https://compute.googleapis.com/compute/v1/projects/p/global/networks/n"});
        assert!(Filter::parse("", "p").expect("parse").matches(&r));
        assert!(Filter::parse("name = \"k8s2-abc\"", "p")
            .expect("parse")
            .matches(&r));
        assert!(Filter::parse("name eq k8s2-.*", "p")
            .expect("parse")
            .matches(&r));
        assert!(!Filter::parse("name ne k8s2-.*", "p")
            .expect("parse")
            .matches(&r));
        assert!(Filter::parse(
            "(name = k8s*) (network = \"projects/p/global/networks/n\")",
            "p"
        )
        .expect("parse")
        .matches(&r));
        assert!(Filter::parse("name eq (k8s2-abc|b)", "p")
            .expect("parse")
            .matches(&r));
        assert!(Filter::parse("name eq (a", "p").is_err());
        assert!(Filter::parse(
            r#"(name eq ".*\bk8s2\b.*")(network eq ".*(networks).*")"#,
            "p"
        )
        .expect("parse")
        .matches(&r));
        assert!(Filter::parse(r#"network eq ".*\bn\b.*""#, "p")
            .expect("parse")
            .matches(&r));
    }
}
