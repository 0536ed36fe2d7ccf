//! Query parameters as the Kubernetes API server parses them: booleans
//! through apimachinery's `Convert_Slice_string_To_bool` (only absence,
//! `0` and `false` in any case are false), `dryRun` (only `All`),
//! `fieldValidation` (`Ignore`, `Warn`, `Strict`); unknown parameters are
//! ignored, as the API server ignores them.

use std::collections::HashMap;

use super::status::Failure;

/// The parsed query of a resource request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// `watch` (or a `/watch/` path).
    pub watch: bool,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `force` (server-side apply).
    pub force: bool,
    /// `pretty`: indented JSON.
    pub pretty: bool,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: bool,
    /// `timeoutSeconds` of a watch.
    pub timeout_seconds: Option<u64>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `includeObject` of a Table: `None`, `Metadata` (default) or `Object`.
    pub include_object: String,
}

/// A boolean parameter as apimachinery converts it: absent → false; `0` or
/// `false` (any case) → false; any other value, even empty → true.
pub fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    match query.get(name) {
        None => false,
        Some(v) => !(v == "0" || v.eq_ignore_ascii_case("false")),
    }
}

/// Parses and checks the parameters the emulated server acts on.
///
/// # Errors
/// 400 for a `dryRun` other than `All`, a `fieldValidation` other than
/// `Ignore`/`Warn`/`Strict`, a non-numeric `timeoutSeconds`, or an
/// `includeObject` other than `None`/`Metadata`/`Object`.
pub fn parse(query: &HashMap<String, String>) -> Result<Params, Failure> {
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "Invalid dryRun value: {other:?}: supported values: \"All\""
            )))
        }
    };
    match query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Ignore") | Some("Warn") | Some("Strict") => {}
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "invalid fieldValidation directive: {other}, must be one of: Ignore, Warn, Strict"
            )))
        }
    }
    let timeout_seconds = match query.get("timeoutSeconds").map(String::as_str) {
        None | Some("") => None,
        Some(t) => Some(t.parse::<u64>().map_err(|_| {
            Failure::bad_request(format!("invalid timeoutSeconds: {t:?} is not a number"))
        })?),
    };
    let include_object = match query.get("includeObject").map(String::as_str) {
        None | Some("") => "Metadata".to_string(),
        Some(v @ ("None" | "Metadata" | "Object")) => v.to_string(),
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \"None\", \"Object\""
            )))
        }
    };
    Ok(Params {
        watch: flag(query, "watch"),
        dry_run,
        force: flag(query, "force"),
        pretty: flag(query, "pretty"),
        bookmarks: flag(query, "allowWatchBookmarks"),
        send_initial_events: flag(query, "sendInitialEvents"),
        timeout_seconds,
        resource_version: query.get("resourceVersion").cloned(),
        include_object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn booleans_follow_apimachinery() {
        for (v, want) in [
            ("true", true),
            ("True", true),
            ("1", true),
            ("", true),
            ("yes", true),
            ("false", false),
            ("FALSE", false),
            ("0", false),
        ] {
            assert_eq!(flag(&q(&[("watch", v)]), "watch"), want, "{v:?}");
        }
        assert!(!flag(&q(&[]), "watch"));
    }

    #[test]
    fn dry_run_and_field_validation_are_checked_unknown_ignored() {
        let p = parse(&q(&[
            ("dryRun", "All"),
            ("whatever", "x"),
            ("fieldValidation", "Strict"),
        ]))
        .unwrap();
        assert!(p.dry_run);
        assert_eq!(parse(&q(&[("dryRun", "Some")])).unwrap_err().code, 400);
        assert_eq!(
            parse(&q(&[("fieldValidation", "Loose")])).unwrap_err().code,
            400
        );
        assert_eq!(parse(&q(&[])).unwrap().include_object, "Metadata");
    }
}
