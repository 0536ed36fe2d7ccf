//! The part of Secret Manager's list filtering the emulator understands:
//! terms on labels joined by `AND` (or by blanks, which mean `AND` too).
//!
//! - `labels.KEY=VALUE`: the label is exactly VALUE;
//! - `labels.KEY:VALUE`: the label's value contains VALUE;
//! - `labels.KEY:*`: the secret has the label.
//!
//! VALUE may be double-quoted. Any other syntax (`OR`, `NOT`, `-`,
//! parentheses, fields other than labels) is answered with a 400 that says
//! the emulator does not support it, rather than filtered wrongly.

use serde_json::Value;

use crate::emulator::errors::ApiError;

use super::rules::invalid;

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `labels.KEY=VALUE`.
    Equals(String, String),
    /// `labels.KEY:VALUE`.
    Contains(String, String),
    /// `labels.KEY:*`.
    Has(String),
}

/// A parsed filter: every term must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelFilter(pub Vec<Term>);

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(char),
}

fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '=' || c == ':' {
            out.push(Token::Op(c));
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => s.push(chars.next()?),
                    other => s.push(other),
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '=' || c == ':' || c == '"' {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Token::Word(s));
        }
    }
    Some(out)
}

impl LabelFilter {
    /// Parses `text`; an empty filter matches everything.
    ///
    /// # Errors
    /// 400 `INVALID_ARGUMENT` naming the filter, for any syntax beyond the
    /// label terms above.
    pub fn parse(text: &str) -> Result<LabelFilter, ApiError> {
        let unsupported = || {
            invalid(format!(
                "The emulator does not support the filter [{text}]: it supports only terms labels.KEY=VALUE, labels.KEY:VALUE and labels.KEY:*, joined by AND."
            ))
        };
        let toks = tokens(text).ok_or_else(unsupported)?;
        let mut terms = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if toks[i] == Token::Word("AND".into()) && !terms.is_empty() {
                i += 1;
                continue;
            }
            let key = match &toks[i] {
                Token::Word(w) => w.strip_prefix("labels.").filter(|k| !k.is_empty()),
                _ => None,
            }
            .ok_or_else(unsupported)?
            .to_string();
            let op = match toks.get(i + 1) {
                Some(Token::Op(op)) => *op,
                _ => return Err(unsupported()),
            };
            let value = match toks.get(i + 2) {
                Some(Token::Word(w)) if w != "AND" => w.clone(),
                Some(Token::Quoted(q)) => q.clone(),
                _ => return Err(unsupported()),
            };
            let quoted = matches!(toks.get(i + 2), Some(Token::Quoted(_)));
            terms.push(match op {
                '=' => Term::Equals(key, value),
                _ if value == "*" && !quoted => Term::Has(key),
                _ => Term::Contains(key, value),
            });
            i += 3;
        }
        Ok(LabelFilter(terms))
    }

    /// Whether a secret with `labels` passes.
    pub fn matches(&self, labels: &Value) -> bool {
        self.0.iter().all(|term| match term {
            Term::Equals(k, v) => labels[k].as_str() == Some(v.as_str()),
            Term::Contains(k, v) => labels[k].as_str().is_some_and(|l| l.contains(v.as_str())),
            Term::Has(k) => labels.get(k).is_some(),
        })
    }

    /// Whether there is no term.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_terms_joined_by_and_or_blanks() {
        let f = LabelFilter::parse("labels.meshform_state=abc").unwrap();
        assert_eq!(f.0, [Term::Equals("meshform_state".into(), "abc".into())]);
        let f = LabelFilter::parse(r#"labels.a = "x y" AND labels.b:* labels.c:ann"#).unwrap();
        assert_eq!(
            f.0,
            [
                Term::Equals("a".into(), "x y".into()),
                Term::Has("b".into()),
                Term::Contains("c".into(), "ann".into()),
            ]
        );
        assert!(f.matches(&json!({"a": "x y", "b": "", "c": "banner"})));
        assert!(!f.matches(&json!({"a": "x y", "c": "banner"})));
        assert!(!f.matches(&json!({"a": "x", "b": "", "c": "banner"})));
        assert!(LabelFilter::parse("").unwrap().is_empty());
        assert!(LabelFilter::parse("  ").unwrap().matches(&json!({})));
    }

    #[test]
    fn other_syntax_is_refused_by_name() {
        for bad in [
            "name:x",
            "labels.a=1 OR labels.b=2",
            "NOT labels.a=1",
            "-labels.a=1",
            "(labels.a=1)",
            "labels.a",
            "labels.a=",
            "labels.=x",
            "AND labels.a=1",
            "labels.a=\"unterminated",
        ] {
            let e = LabelFilter::parse(bad).unwrap_err();
            assert_eq!(e.code, 400, "{bad}");
            assert!(e.message.contains("does not support the filter"), "{bad}");
        }
    }
}
