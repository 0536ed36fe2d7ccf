//! The review APIs: created, answered, never stored (JSON or protobuf
//! bodies, as `kubectl auth can-i` sends).
//!
//! - `POST /apis/authentication.k8s.io/v1/tokenreviews`: is `spec.token` a
//!   valid service-account token of this cluster, and whose (istiod asks
//!   this of the tokens its remote clusters' callers present)? Google
//!   tokens are not reviewed: `authenticated` stays unset, with an `error`.
//! - `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (what
//!   `kubectl auth can-i` asks): may the caller do what `spec` describes?
//!   The Google identity may do anything.
//! - `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`: may the
//!   user in `spec` (`user`, `groups`, `uid`) do it, by RBAC?

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::auth::{self, Identity, User};
use super::cluster::Cluster;
use super::paths::Target;
use super::protobuf;
use super::rbac;
use super::request_info::{Attributes, ResourceAttributes};
use super::sa_token;
use super::status::{json_response, Failure};

/// The reviews served, by (group, plural).
const REVIEWS: &[(&str, &str)] = &[
    ("authentication.k8s.io", "tokenreviews"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
];

/// Whether `target` is one of the reviews this server answers.
pub fn is_review(target: &Target) -> bool {
    REVIEWS
        .iter()
        .any(|(g, p)| target.group == *g && target.plural == *p)
}

/// Answers a review request of `identity`.
///
/// # Errors
/// 405 for anything but a POST to the collection; 415 for a body that is
/// neither JSON nor protobuf; 400 for a body that does not decode; 422 for
/// a `SubjectAccessReview` naming neither user nor groups.
pub fn serve(
    cluster: &Cluster,
    identity: &Identity,
    method: &Method,
    target: &Target,
    content_type: &str,
    body: &[u8],
) -> Result<Response, Failure> {
    if method != Method::POST || target.name.is_some() || target.subresource.is_some() {
        return Err(Failure::method_not_allowed(format!(
            "{method} is not supported on {}",
            target.plural
        )));
    }
    let kind = match target.plural.as_str() {
        "tokenreviews" => "TokenReview",
        "selfsubjectaccessreviews" => "SelfSubjectAccessReview",
        _ => "SubjectAccessReview",
    };
    let review: Value = match content_type {
        "application/vnd.kubernetes.protobuf" => {
            protobuf::decode(kind, body).map_err(|(code, message)| match code {
                415 => Failure::unsupported_media_type(content_type),
                _ => Failure::bad_request(message),
            })?
        }
        "" | "application/json" => serde_json::from_slice(body)
            .map_err(|e| Failure::bad_request(format!("the review does not parse: {e}")))?,
        other => return Err(Failure::unsupported_media_type(other)),
    };
    let spec = review["spec"].clone();
    let status = match target.plural.as_str() {
        "tokenreviews" => token_status(cluster, &spec),
        "selfsubjectaccessreviews" => match identity {
            Identity::Google => json!({"allowed": true}),
            Identity::Account(user) => access_status(cluster, user, &spec),
        },
        _ => {
            let user = User {
                name: spec["user"].as_str().unwrap_or("").to_string(),
                uid: spec["uid"].as_str().unwrap_or("").to_string(),
                groups: strings(&spec["groups"]),
            };
            if user.name.is_empty() && user.groups.is_empty() {
                return Err(Failure::invalid(
                    "spec.user: Invalid value: \"\": at least one of user or group must be specified",
                ));
            }
            access_status(cluster, &user, &spec)
        }
    };
    let answer = json!({
        "kind": kind,
        "apiVersion": format!("{}/{}", target.group, target.version),
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    });
    Ok(json_response(StatusCode::CREATED, &answer))
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `status` of a TokenReview of `spec.token`.
fn token_status(cluster: &Cluster, spec: &Value) -> Value {
    let token = spec["token"].as_str().unwrap_or("");
    if !sa_token::looks_like_service_account(token) {
        return json!({"user": {}, "error": "[invalid bearer token, the emulated cluster reviews service-account tokens only]"});
    }
    let store = cluster.lock_caught_up();
    match auth::service_account(token, &cluster.tokens, &store) {
        Ok(user) => {
            let mut status = json!({"authenticated": true,
                "user": {"username": user.name, "uid": user.uid, "groups": user.groups}});
            if spec["audiences"].as_array().is_some_and(|a| !a.is_empty()) {
                status["audiences"] = spec["audiences"].clone();
            }
            status
        }
        Err(why) => json!({"user": {}, "error": format!("[invalid bearer token, {why}]")}),
    }
}

/// The attributes `spec` of an access review describes.
fn spec_attributes(spec: &Value) -> Attributes {
    let text = |v: &Value, field: &str| v[field].as_str().unwrap_or("").to_string();
    let resource = &spec["resourceAttributes"];
    if resource.is_object() {
        Attributes {
            verb: text(resource, "verb"),
            path: String::new(),
            resource: Some(ResourceAttributes {
                group: text(resource, "group"),
                version: text(resource, "version"),
                resource: text(resource, "resource"),
                subresource: text(resource, "subresource"),
                namespace: text(resource, "namespace"),
                name: text(resource, "name"),
            }),
        }
    } else {
        let path = &spec["nonResourceAttributes"];
        Attributes {
            verb: text(path, "verb"),
            path: text(path, "path"),
            resource: None,
        }
    }
}

/// `status` of an access review of `user` doing what `spec` describes.
fn access_status(cluster: &Cluster, user: &User, spec: &Value) -> Value {
    let attrs = spec_attributes(spec);
    let store = cluster.lock();
    match rbac::authorize(&store, user, &attrs) {
        Ok(()) => json!({"allowed": true}),
        Err(reason) if reason.is_empty() => json!({"allowed": false}),
        Err(reason) => json!({"allowed": false, "reason": reason}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_review_specs_become_attributes() {
        let spec = json!({"resourceAttributes": {"namespace": "default", "verb": "create",
                                                 "resource": "configmaps"}});
        let a = spec_attributes(&spec);
        assert_eq!(a.verb, "create");
        let r = a.resource.unwrap();
        assert_eq!(
            (r.group.as_str(), r.resource.as_str(), r.namespace.as_str()),
            ("", "configmaps", "default")
        );
        let spec = json!({"nonResourceAttributes": {"path": "/version", "verb": "get"}});
        let a = spec_attributes(&spec);
        assert_eq!((a.path.as_str(), a.resource), ("/version", None));
    }
}
