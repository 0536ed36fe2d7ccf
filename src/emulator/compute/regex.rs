//! A small RE2-style regular expression matcher for the `eq` / `ne` terms of
//! list filters, which the real API matches as a full match. gcloud turns
//! `--filter="network:cross-region-vpc"` into
//! `network eq ".*\bcross\-region\-vpc\b.*"`.
//!
//! Supported: literals, `\` escapes (`\b`, `\d`, `\w`, `\s`, escaped
//! punctuation), `.`, `[...]` classes with ranges and `^` negation, groups
//! (`(...)`, `(?:...)`) with `|`, the quantifiers `*`, `+`, `?`, and the
//! anchors `^` and `$`.

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    WordBoundary,
    Start,
    End,
    Group(Vec<Vec<Node>>),
    Repeat(Box<Node>, usize, Option<usize>),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regex(Vec<Vec<Node>>);

impl Regex {
    /// Compiles `pattern`, or `None` if it is malformed or unsupported.
    pub fn new(pattern: &str) -> Option<Regex> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let alts = parse_alts(&chars, &mut pos)?;
        (pos == chars.len()).then_some(Regex(alts))
    }

    /// Whether the whole of `text` matches.
    pub fn full_match(&self, text: &str) -> bool {
        let input: Vec<char> = text.chars().collect();
        let m = Matcher { input: &input };
        self.0
            .iter()
            .any(|alt| m.seq(alt, 0, &|p| p == input.len()))
    }
}

fn parse_alts(chars: &[char], pos: &mut usize) -> Option<Vec<Vec<Node>>> {
    let mut alts = vec![parse_seq(chars, pos)?];
    while chars.get(*pos) == Some(&'|') {
        *pos += 1;
        alts.push(parse_seq(chars, pos)?);
    }
    Some(alts)
}

fn parse_seq(chars: &[char], pos: &mut usize) -> Option<Vec<Node>> {
    let mut seq = Vec::new();
    while let Some(&c) = chars.get(*pos) {
        if c == '|' || c == ')' {
            break;
        }
        *pos += 1;
        let atom = match c {
            '(' => {
                if chars.get(*pos) == Some(&'?') {
                    if chars.get(*pos + 1) != Some(&':') {
                        return None;
                    }
                    *pos += 2;
                }
                let alts = parse_alts(chars, pos)?;
                if chars.get(*pos) != Some(&')') {
                    return None;
                }
                *pos += 1;
                Node::Group(alts)
            }
            '[' => parse_class(chars, pos)?,
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => {
                let e = *chars.get(*pos)?;
                *pos += 1;
                escape(e)
            }
            '*' | '+' | '?' => return None,
            c => Node::Char(c),
        };
        let atom = match chars.get(*pos) {
            Some('*') => Node::Repeat(Box::new(atom), 0, None),
            Some('+') => Node::Repeat(Box::new(atom), 1, None),
            Some('?') => Node::Repeat(Box::new(atom), 0, Some(1)),
            _ => {
                seq.push(atom);
                continue;
            }
        };
        *pos += 1;
        if chars.get(*pos) == Some(&'?') {
            *pos += 1; // lazy: same set of full matches
        }
        seq.push(atom);
    }
    Some(seq)
}

fn escape(e: char) -> Node {
    match e {
        'b' => Node::WordBoundary,
        'd' => Node::Class(vec![('0', '9')], false),
        'w' => Node::Class(WORD.to_vec(), false),
        's' => Node::Class(vec![(' ', ' '), ('\t', '\r')], false),
        'n' => Node::Char('\n'),
        't' => Node::Char('\t'),
        other => Node::Char(other),
    }
}

const WORD: [(char, char); 4] = [('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];

fn parse_class(chars: &[char], pos: &mut usize) -> Option<Node> {
    let negated = chars.get(*pos) == Some(&'^');
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(*pos)?;
        *pos += 1;
        if c == ']' && !first {
            return Some(Node::Class(ranges, negated));
        }
        first = false;
        let lo = if c == '\\' {
            let e = *chars.get(*pos)?;
            *pos += 1;
            match escape(e) {
                Node::Class(r, _) => {
                    ranges.extend(r);
                    continue;
                }
                Node::Char(c) => c,
                _ => return None,
            }
        } else {
            c
        };
        if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1).is_some_and(|c| *c != ']') {
            let hi = chars[*pos + 1];
            *pos += 2;
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
}

struct Matcher<'a> {
    input: &'a [char],
}

impl Matcher<'_> {
    fn is_word(&self, i: usize) -> bool {
        self.input
            .get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
    }

    fn seq(&self, seq: &[Node], pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        let Some((node, rest)) = seq.split_first() else {
            return k(pos);
        };
        let next = |p: usize| self.seq(rest, p, k);
        match node {
            Node::Char(_) | Node::Any | Node::Class(..) => {
                self.input.get(pos).is_some_and(|c| single(node, *c)) && next(pos + 1)
            }
            Node::WordBoundary => {
                let before = pos > 0 && self.is_word(pos - 1);
                before != self.is_word(pos) && next(pos)
            }
            Node::Start => pos == 0 && next(pos),
            Node::End => pos == self.input.len() && next(pos),
            Node::Group(alts) => alts.iter().any(|alt| self.seq(alt, pos, &next)),
            Node::Repeat(inner, min, max) => self.repeat(inner, *min, *max, 0, pos, &next),
        }
    }

    fn repeat(
        &self,
        inner: &Node,
        min: usize,
        max: Option<usize>,
        count: usize,
        pos: usize,
        k: &dyn Fn(usize) -> bool,
    ) -> bool {
        if max.is_none_or(|m| count < m) {
            let more = |p: usize| p != pos && self.repeat(inner, min, max, count + 1, p, k);
            if self.seq(std::slice::from_ref(inner), pos, &more) {
                return true;
            }
        }
        count >= min && k(pos)
    }
}

fn single(node: &Node, c: char) -> bool {
    match node {
        Node::Char(x) => *x == c,
        Node::Any => c != '\n',
        Node::Class(ranges, negated) => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).expect("valid").full_match(t)
    }

    #[test]
    fn matches_what_gcloud_sends() {
        let p = r".*\bcross\-region\-vpc\b.*";
        assert!(m(
            p,
            "https://x/projects/p/global/networks/cross-region-vpc"
        ));
        assert!(!m(
            p,
            "https://x/projects/p/global/networks/cross-region-vpc2"
        ));
        assert!(m("k8s2-.*", "k8s2-abc"));
        assert!(!m("k8s2-.*", "xk8s2-abc"));
        assert!(m("(a|bc)+d?", "abca"));
        assert!(m("[a-c]+[^x]", "abcy"));
        assert!(!m("[a-c]+[^x]", "abcx"));
        assert!(m(r"\d+\.\d+", "10.5"));
        assert!(m("^ab$", "ab"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["(a", "a)", "*a", "[ab", "(?i)a", "\\"] {
            assert!(Regex::new(bad).is_none(), "{bad}");
        }
    }
}
