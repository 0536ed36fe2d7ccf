//! Validation the real API server does before storing, for the mistakes
//! a test against the emulator should catch: object names (RFC 1123 /
//! RFC 1035 / path segments, per kind), Service ports and types,
//! Deployment selectors, templates and containers, the service-account
//! annotation of a token Secret. Errors are 422
//! `Invalid`, worded as the API server words them.

use serde_json::Value;

use super::meta::meta_str;
use super::status::Failure;

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

fn invalid(kind: &str, name: &str, field: &str, value: &str, why: &str) -> Failure {
    Failure::invalid(format!(
        "{kind} \"{name}\" is invalid: {field}: Invalid value: \"{value}\": {why}"
    ))
}

/// Checks `metadata.name` of an object of `group`/`plural`.
///
/// # Errors
/// 422 when the name does not have the form the kind requires.
pub fn name(group: &str, plural: &str, kind: &str, name: &str) -> Result<(), Failure> {
    let bad = |why: &str| Err(invalid(kind, name, "metadata.name", name, why));
    match (group, plural) {
        ("", "namespaces") if !is_label(name) => bad(LABEL_MSG),
        ("", "services") => {
            if !is_label(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                bad(DNS1035_MSG)
            } else {
                Ok(())
            }
        }
        ("", "configmaps" | "secrets" | "serviceaccounts" | "endpoints" | "pods")
        | ("apps", "deployments")
        | ("apiextensions.k8s.io", "customresourcedefinitions")
        | ("admissionregistration.k8s.io", _)
            if !is_subdomain(name) =>
        {
            bad(SUBDOMAIN_MSG)
        }
        _ if name == "." || name == ".." => bad("may not be '.' or '..'"),
        _ if name.contains('/') || name.contains('%') => bad("may not contain '/' or '%'"),
        _ => Ok(()),
    }
}

/// Checks the spec of a defaulted object of `group`/`plural`.
///
/// # Errors
/// 422 with the first problem found.
pub fn spec(group: &str, plural: &str, object: &Value) -> Result<(), Failure> {
    let name = meta_str(object, "name").unwrap_or("");
    match (group, plural) {
        ("", "services") => service(name, &object["spec"]),
        ("apps", "deployments") => deployment(name, &object["spec"]),
        ("", "secrets") => secret(name, object),
        _ => Ok(()),
    }
}

/// A Secret of type `kubernetes.io/service-account-token` names its
/// ServiceAccount (k8s `ValidateSecret`).
fn secret(name: &str, object: &Value) -> Result<(), Failure> {
    let annotation = "kubernetes.io/service-account.name";
    let named = object["metadata"]["annotations"][annotation]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if object["type"] == "kubernetes.io/service-account-token" && !named {
        return Err(required(
            "Secret",
            name,
            &format!("metadata.annotations[{annotation}]"),
        ));
    }
    Ok(())
}

fn required(kind: &str, name: &str, field: &str) -> Failure {
    Failure::invalid(format!(
        "{kind} \"{name}\" is invalid: {field}: Required value"
    ))
}

fn service(name: &str, spec: &Value) -> Result<(), Failure> {
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    if !matches!(
        kind,
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        return Err(Failure::invalid(format!(
            "Service \"{name}\" is invalid: spec.type: Unsupported value: \"{kind}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
        )));
    }
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    let headless = spec["clusterIP"] == "None";
    if ports.is_empty() && kind != "ExternalName" && !headless {
        return Err(required("Service", name, "spec.ports"));
    }
    for (i, p) in ports.iter().enumerate() {
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            return Err(Failure::invalid(format!(
                "Service \"{name}\" is invalid: spec.ports[{i}].port: Invalid value: {port}: must be between 1 and 65535, inclusive"
            )));
        }
        let proto = p["protocol"].as_str().unwrap_or("TCP");
        if !matches!(proto, "TCP" | "UDP" | "SCTP") {
            return Err(Failure::invalid(format!(
                "Service \"{name}\" is invalid: spec.ports[{i}].protocol: Unsupported value: \"{proto}\": supported values: \"SCTP\", \"TCP\", \"UDP\""
            )));
        }
        if ports.len() > 1 && p["name"].as_str().unwrap_or("").is_empty() {
            return Err(required("Service", name, &format!("spec.ports[{i}].name")));
        }
    }
    Ok(())
}

fn deployment(name: &str, spec: &Value) -> Result<(), Failure> {
    let selector = &spec["selector"];
    let match_labels = selector["matchLabels"].as_object();
    let has_expressions = selector["matchExpressions"]
        .as_array()
        .is_some_and(|e| !e.is_empty());
    if match_labels.is_none_or(|m| m.is_empty()) && !has_expressions {
        return Err(required("Deployment.apps", name, "spec.selector"));
    }
    let labels = spec["template"]["metadata"]["labels"].as_object();
    if let Some(wanted) = match_labels {
        let matches = wanted
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            let shown: Vec<String> = labels
                .map(|l| {
                    l.iter()
                        .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            return Err(Failure::invalid(format!(
                "Deployment.apps \"{name}\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{{{}}}: `selector` does not match template `labels`",
                shown.join(", ")
            )));
        }
    }
    let containers = spec["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if containers.is_empty() {
        return Err(required(
            "Deployment.apps",
            name,
            "spec.template.spec.containers",
        ));
    }
    for (i, c) in containers.iter().enumerate() {
        for field in ["name", "image"] {
            if c[field].as_str().unwrap_or("").is_empty() {
                return Err(required(
                    "Deployment.apps",
                    name,
                    &format!("spec.template.spec.containers[{i}].{field}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_the_kind_rules() {
        assert!(name("", "namespaces", "Namespace", "istio-system").is_ok());
        assert_eq!(
            name("", "namespaces", "Namespace", "Istio")
                .unwrap_err()
                .code,
            422
        );
        assert!(name("", "services", "Service", "1abc").is_err());
        assert!(name("", "configmaps", "ConfigMap", "a.b-c").is_ok());
        assert!(name(
            "rbac.authorization.k8s.io",
            "clusterroles",
            "ClusterRole",
            "system:x"
        )
        .is_ok());
    }

    #[test]
    fn a_token_secret_must_name_its_service_account() {
        let token = |annotations: Value| {
            json!({"metadata": {"name": "t", "annotations": annotations},
                   "type": "kubernetes.io/service-account-token"})
        };
        let refused = spec("", "secrets", &token(json!({}))).unwrap_err();
        assert_eq!(
            refused.message,
            "Secret \"t\" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value"
        );
        let named = json!({"kubernetes.io/service-account.name": "reader"});
        assert!(spec("", "secrets", &token(named)).is_ok());
        let opaque = json!({"metadata": {"name": "o"}, "type": "Opaque"});
        assert!(spec("", "secrets", &opaque).is_ok());
    }

    #[test]
    fn services_and_deployments_are_checked() {
        assert!(spec(
            "",
            "services",
            &json!({"metadata": {"name": "s"}, "spec": {}})
        )
        .is_err());
        assert!(spec(
            "",
            "services",
            &json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
        )
        .is_ok());
        let d = json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}},
                         "spec": {"containers": [{"name": "a", "image": "i"}]}}}});
        let err = spec("apps", "deployments", &d).unwrap_err();
        assert!(err.message.contains("does not match"), "{}", err.message);
    }
}
