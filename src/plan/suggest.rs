//! "Did you mean …?": the closest known word to a misspelt one.

/// The candidate closest to `word`, if one is close enough to be a likely typo.
///
/// A case-insensitive match wins; otherwise the candidate with the smallest edit
/// distance (transpositions count as one edit), if that distance is at most a third
/// of the word's length (at least 1).
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(c);
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance between `a` and `b`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_case_slips() {
        let keys = ["name", "cidr", "pod_range", "service_range"];
        assert_eq!(closest("cdir", &keys), Some("cidr"));
        assert_eq!(closest("pod_rnage", &keys), Some("pod_range"));
        assert_eq!(closest("Name", &keys), Some("name"));
        assert_eq!(
            closest("regional", &["REGIONAL", "GLOBAL"]),
            Some("REGIONAL")
        );
        assert_eq!(closest("zone", &keys), None);
    }
}
