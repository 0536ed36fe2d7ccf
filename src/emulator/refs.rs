//! References between resources: full URLs or partial paths, as the real API accepts them.

use super::errors::ApiError;

/// Turns a reference into a relative path `projects/{p}/…`.
///
/// Accepted forms: `https://<host>/compute/v1/projects/p/global/networks/n`,
/// `projects/p/global/networks/n`, `global/networks/n`, `regions/r/subnetworks/s`,
/// `zones/z/…` (partial paths use `project`). Returns `None` for anything else.
pub fn to_rel(reference: &str, project: &str) -> Option<String> {
    let mut s = reference.trim();
    if let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    {
        let idx = rest.find("/compute/v1/")?;
        s = &rest[idx + "/compute/v1/".len()..];
    }
    let s = s.trim_start_matches('/');
    let s = s.strip_prefix("compute/v1/").unwrap_or(s);
    if s.is_empty() || s.split('/').any(str::is_empty) {
        return None;
    }
    if s.starts_with("projects/") {
        Some(s.to_string())
    } else if s.starts_with("global/") || s.starts_with("regions/") || s.starts_with("zones/") {
        Some(format!("projects/{project}/{s}"))
    } else {
        None
    }
}

/// Parses `reference` (field `field`) as a resource of `collection`, e.g. `networks`.
///
/// # Errors
/// 400 `invalid` if the reference is malformed or names another kind of resource.
pub fn typed(
    reference: &str,
    project: &str,
    collection: &str,
    field: &str,
) -> Result<String, ApiError> {
    let rel = to_rel(reference, project).ok_or_else(|| malformed(field, reference))?;
    let parts: Vec<&str> = rel.split('/').collect();
    let ok = match collection {
        "networks" | "firewalls" | "healthChecks" => parts.len() == 5 && parts[2] == "global",
        _ => parts.len() == 6 && (parts[2] == "regions" || parts[2] == "zones"),
    };
    if ok && parts[parts.len() - 2] == collection {
        Ok(rel)
    } else {
        Err(malformed(field, reference))
    }
}

fn malformed(field: &str, reference: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value for field '{field}': '{reference}'. The URL is malformed."
    ))
}

/// The scope segment (`regions/r`) of a regional or zonal relative path.
pub fn scope_of(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    (parts.len() >= 4 && parts[2] != "global").then(|| format!("{}/{}", parts[2], parts[3]))
}

/// The last segment (the name) of a path.
pub fn name_of(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_urls_and_partial_paths() {
        let want = Some("projects/p/global/networks/n".to_string());
        assert_eq!(
            to_rel(
                "https://www.googleapis.com/compute/v1/projects/p/global/networks/n",
                "x"
            ),
            want
        );
        assert_eq!(
            to_rel(
                "http://127.0.0.1:9/compute/v1/projects/p/global/networks/n",
                "x"
            ),
            want
        );
        assert_eq!(to_rel("projects/p/global/networks/n", "x"), want);
        assert_eq!(to_rel("global/networks/n", "p"), want);
        assert_eq!(to_rel("n", "p"), None);
        assert!(typed(
            "regions/r/subnetworks/s",
            "p",
            "subnetworks",
            "resource.subnetwork"
        )
        .is_ok());
        assert!(typed(
            "global/networks/n",
            "p",
            "subnetworks",
            "resource.subnetwork"
        )
        .is_err());
        assert_eq!(
            scope_of("projects/p/regions/r/subnetworks/s").as_deref(),
            Some("regions/r")
        );
    }
}
