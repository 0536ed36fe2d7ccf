//! GCP's naming rules: resource names, network tags, project ids, region names.

/// The longest resource name or network tag GCP accepts.
pub const MAX_NAME_LEN: usize = 63;

/// Why `name` breaks GCP's resource name rule `[a-z]([-a-z0-9]*[a-z0-9])?`
/// (at most 63 characters), or `None` if it is a good name. Network tags follow
/// the same rule.
pub fn gcp_name_problem(name: &str) -> Option<String> {
    name_problem(name, MAX_NAME_LEN)
}

/// Why `name` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at
/// most 63 characters), as Kubernetes and Istio require of names.
pub fn dns1123_label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > 63 {
        return Some(format!(
            "is {} characters long; at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Some(format!("contains {c:?}; only a-z, 0-9 and '-' are allowed"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// Why `name` is not a DNS-1123 subdomain (dot-separated labels, at most
/// 253 characters).
pub fn dns1123_subdomain_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!(
            "is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    name.split('.')
        .find_map(dns1123_label_problem)
        .map(|p| format!("has a part that {p}"))
}

/// The longest GKE cluster name.
pub const MAX_CLUSTER_NAME_LEN: usize = 40;

/// Why `name` breaks GKE's cluster name rule: GCP's rule, but at most 40
/// characters.
pub fn cluster_name_problem(name: &str) -> Option<String> {
    name_problem(name, MAX_CLUSTER_NAME_LEN)
}

fn name_problem(name: &str, max_len: usize) -> Option<String> {
    let len = name.chars().count();
    if name.is_empty() {
        return Some("is empty".into());
    }
    if len > max_len {
        return Some(format!(
            "is {len} characters long; at most {max_len} are allowed"
        ));
    }
    chars_problem(name)
}

/// Why `id` breaks the project id rule `[a-z][-a-z0-9]{4,28}[a-z0-9]` (6 to 30
/// characters), or `None` if it is a good project id.
pub fn project_id_problem(id: &str) -> Option<String> {
    let len = id.chars().count();
    if !(6..=30).contains(&len) {
        return Some(format!("is {len} characters long; it must have 6 to 30"));
    }
    chars_problem(id)
}

/// The character part of both rules: lowercase letter first, then lowercase
/// letters, digits and hyphens, not ending with a hyphen.
fn chars_problem(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    if !first.is_ascii_lowercase() {
        return Some(format!(
            "starts with '{first}'; it must start with a lowercase letter"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "contains '{c}'; only lowercase letters, digits and hyphens are allowed"
        ));
    }
    if name.ends_with('-') {
        return Some("ends with '-'; it must end with a letter or digit".into());
    }
    None
}

/// A name close to `name` that follows GCP's rule, if one can be made: lowercase,
/// other characters turned into hyphens, leading non-letters and trailing hyphens
/// dropped, cut to `max_len` characters.
pub fn suggest_name(name: &str, max_len: usize) -> Option<String> {
    let mut out = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if out.is_empty() && !c.is_ascii_lowercase() {
            continue;
        }
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out.truncate(max_len);
    let out = out.trim_end_matches('-').to_owned();
    (!out.is_empty() && out != name).then_some(out)
}

/// Whether `name` looks like a GCP region: `^[a-z]+-[a-z]+[0-9]+$`, e.g. `europe-west2`.
pub fn looks_like_region(name: &str) -> bool {
    let Some((area, rest)) = name.split_once('-') else {
        return false;
    };
    let letters = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &rest[letters.len()..];
    !area.is_empty()
        && area.chars().all(|c| c.is_ascii_lowercase())
        && !letters.is_empty()
        && letters.chars().all(|c| c.is_ascii_lowercase())
        && !digits.is_empty()
}

/// The region of a zone name `<region>-<letter>`, e.g. `europe-west2` for
/// `europe-west2-a`; `None` if `zone` does not look like a zone.
pub fn zone_region(zone: &str) -> Option<&str> {
    let (region, letter) = zone.rsplit_once('-')?;
    let mut chars = letter.chars();
    let one_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.next().is_none();
    (one_letter && looks_like_region(region)).then_some(region)
}

/// Whether `name` looks like a Compute Engine machine type:
/// `^[a-z0-9]+-[a-z0-9-]+$`, e.g. `e2-standard-4`, `n1-standard-2`.
pub fn looks_like_machine_type(name: &str) -> bool {
    let Some((family, rest)) = name.split_once('-') else {
        return false;
    };
    !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcp_names() {
        assert_eq!(gcp_name_problem("cross-region-vpc"), None);
        assert_eq!(gcp_name_problem("a"), None);
        assert!(gcp_name_problem("").is_some());
        assert!(gcp_name_problem("1abc")
            .unwrap()
            .contains("lowercase letter"));
        assert!(gcp_name_problem("ab_c").unwrap().contains("'_'"));
        assert!(gcp_name_problem("abc-").unwrap().contains("ends with"));
        assert!(gcp_name_problem(&"a".repeat(64)).unwrap().contains("64"));
        assert_eq!(gcp_name_problem(&"a".repeat(63)), None);
    }

    #[test]
    fn project_ids() {
        assert_eq!(project_id_problem("meshform-demo"), None);
        assert!(project_id_problem("short").is_some());
        assert!(project_id_problem(&"a".repeat(31)).is_some());
        assert!(project_id_problem("Meshform-demo").is_some());
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_name("EU_Subnet", 63).as_deref(), Some("eu-subnet"));
        assert_eq!(suggest_name("1-web--", 63).as_deref(), Some("web"));
        assert_eq!(suggest_name("ok", 63), None);
        assert_eq!(suggest_name("123", 63), None);
    }

    #[test]
    fn regions() {
        assert!(looks_like_region("europe-west2"));
        assert!(looks_like_region("us-central1"));
        assert!(!looks_like_region("europe-west2-a"));
        assert!(!looks_like_region("Europe-west2"));
        assert!(!looks_like_region("europe-west"));
        assert!(!looks_like_region("europewest2"));
    }

    #[test]
    fn cluster_names() {
        assert_eq!(cluster_name_problem("istio-cluster1"), None);
        assert_eq!(cluster_name_problem(&"c".repeat(40)), None);
        assert_eq!(
            cluster_name_problem(&"c".repeat(41)).as_deref(),
            Some("is 41 characters long; at most 40 are allowed")
        );
        assert!(cluster_name_problem("Istio").is_some());
    }

    #[test]
    fn zones() {
        assert_eq!(zone_region("europe-west2-a"), Some("europe-west2"));
        assert_eq!(zone_region("us-central1-f"), Some("us-central1"));
        assert_eq!(zone_region("europe-west2"), None);
        assert_eq!(zone_region("europe-west2-ab"), None);
        assert_eq!(zone_region("europe-west2-A"), None);
        assert_eq!(zone_region("europe-a"), None);
        assert_eq!(zone_region("-a"), None);
    }

    #[test]
    fn machine_types() {
        for good in [
            "e2-standard-4",
            "n1-standard-2",
            "e2-micro",
            "n2d-highmem-96",
            "c3-standard-4-lssd",
        ] {
            assert!(looks_like_machine_type(good), "{good}");
        }
        for bad in [
            "",
            "e2",
            "E2-standard-4",
            "e2-",
            "-standard",
            "e2_standard_4",
            "e2 standard",
        ] {
            assert!(!looks_like_machine_type(bad), "{bad}");
        }
    }
}
