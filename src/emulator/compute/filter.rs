//! The subset of the list `filter` syntax the emulator understands:
//! `field = "value"`, `field != value` (`*` wildcards), `field eq regex`,
//! `field ne regex` (only literals and `.*` in the regex), and several
//! parenthesised terms joined by spaces or `AND`. Link values compare by path.

use serde_json::Value;

use super::super::errors::ApiError;
use super::super::refs;

#[derive(Debug)]
struct Term {
    field: String,
    negate: bool,
    /// Literal pieces between wildcards.
    pattern: Vec<String>,
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
                let end = inner.find(')').ok_or_else(|| bad(filter))?;
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
            let value = refs::to_rel(&value, &self.project).unwrap_or(value);
            glob(&t.pattern, &value) != t.negate
        })
    }
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
    let pattern: Vec<String> = if regex {
        if value.chars().any(|c| "[]()|+?^$".contains(c)) {
            return Err(bad(filter));
        }
        value.split(".*").map(|p| p.replace("\\.", ".")).collect()
    } else {
        value.split('*').map(str::to_string).collect()
    };
    let value_rel_pattern = if pattern.len() == 1 {
        refs::to_rel(&pattern[0], "")
            .map(|r| vec![r])
            .unwrap_or(pattern)
    } else {
        pattern
    };
    Ok(Term {
        field: field.to_string(),
        negate,
        pattern: value_rel_pattern,
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
        assert!(Filter::parse("name eq (a|b)", "p").is_err());
    }
}
