//! Authentication: who sent a request, from its `Authorization: Bearer`
//! token.
//!
//! - A token that presents itself as a service-account token
//!   ([`sa_token::looks_like_service_account`]) is that service account
//!   ([`Identity::Account`], authorized by RBAC) when the cluster signed it
//!   and, as the API server's legacy-token validator demands
//!   (kubernetes/kubernetes `pkg/serviceaccount/legacy.go`), its Secret
//!   still exists, is not being deleted and holds this very token, and its
//!   ServiceAccount still exists with the UID in the token. Otherwise 401.
//! - Any other non-empty bearer token is the Google identity
//!   ([`Identity::Google`]), allowed everything, as GKE accepts the Google
//!   access tokens of meshform's account (`meshform::kube::EMULATOR_TOKEN`,
//!   `gke-gcloud-auth-plugin`).
//! - No token, another scheme or an empty token: 401.

use axum::http::{header, HeaderMap};
use base64::Engine as _;

use super::cluster::Cluster;
use super::finalizers;
use super::meta::meta_str;
use super::sa_token::{self, Claims, TokenIssuer};
use super::status::Failure;
use super::store::{key, Store};

/// An authenticated user that RBAC decides for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name, e.g. `system:serviceaccount:NS:NAME`.
    pub name: String,
    /// UID (a service account's UID).
    pub uid: String,
    /// Groups, `system:authenticated` among them.
    pub groups: Vec<String>,
}

impl User {
    /// The user of service account `name` in `namespace` with `uid`: in the
    /// groups `system:serviceaccounts`, `system:serviceaccounts:NAMESPACE`
    /// and `system:authenticated`.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> User {
        User {
            name: sa_token::username(namespace, name),
            uid: uid.to_string(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A Google access token: cluster-admin, no RBAC check.
    Google,
    /// A service account, authorized by RBAC.
    Account(User),
}

/// The bearer token of `headers`.
///
/// # Errors
/// [`Failure::unauthorized`] when the header is missing, not a bearer
/// token, or the token is empty.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Failure> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(Failure::unauthorized)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(Failure::unauthorized)?;
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        Ok(token)
    } else {
        Err(Failure::unauthorized())
    }
}

/// Who sent the request with `headers` to `cluster` (see the module docs).
///
/// # Errors
/// [`Failure::unauthorized`] (401) for a missing or empty token, or a
/// service-account token that is not (or no longer) valid.
pub fn authenticate(cluster: &Cluster, headers: &HeaderMap) -> Result<Identity, Failure> {
    let token = bearer_token(headers)?;
    if !sa_token::looks_like_service_account(token) {
        return Ok(Identity::Google);
    }
    let store = cluster.lock_caught_up();
    match service_account(token, &cluster.tokens, &store) {
        Ok(user) => Ok(Identity::Account(user)),
        Err(why) => {
            tracing::debug!(%why, "service-account token refused");
            Err(Failure::unauthorized())
        }
    }
}

/// The service account `token` authenticates in the cluster of `store`.
///
/// # Errors
/// Why the token is refused (for logs and `TokenReview` status).
pub fn service_account(token: &str, issuer: &TokenIssuer, store: &Store) -> Result<User, String> {
    let claims = issuer.verify(token).map_err(|e| e.to_string())?;
    check_secret(token, &claims, store)?;
    let Claims {
        namespace,
        service_account_name: name,
        service_account_uid: uid,
        ..
    } = &claims;
    let account = store
        .get(&key("/serviceaccounts", Some(namespace), name))
        .map(|e| &e.object)
        .filter(|sa| !finalizers::is_deleting(sa))
        .ok_or_else(|| format!("service account {namespace}/{name} has been deleted"))?;
    let live_uid = meta_str(account, "uid").unwrap_or("");
    if live_uid != uid {
        return Err(format!(
            "service account UID ({live_uid}) does not match claim ({uid})"
        ));
    }
    Ok(User::service_account(namespace, name, uid))
}

/// The token's Secret exists, is not being deleted and holds `token`.
fn check_secret(token: &str, claims: &Claims, store: &Store) -> Result<(), String> {
    let invalidated = || "token has been invalidated".to_string();
    let secret = store
        .get(&key(
            "/secrets",
            Some(&claims.namespace),
            &claims.secret_name,
        ))
        .map(|e| &e.object)
        .filter(|s| !finalizers::is_deleting(s))
        .ok_or_else(invalidated)?;
    let held = secret["data"]["token"]
        .as_str()
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
    if held.as_deref() == Some(token.as_bytes()) {
        Ok(())
    } else {
        Err(invalidated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_token_is_required_and_non_empty() {
        assert!(bearer_token(&HeaderMap::new()).is_err());
        assert!(bearer_token(&with("Bearer ")).is_err());
        assert!(bearer_token(&with("Basic dXNlcjpwdw==")).is_err());
        assert_eq!(bearer_token(&with("Bearer ya29.token")), Ok("ya29.token"));
    }

    /// A store with the reader's ServiceAccount and its filled token Secret.
    fn reader(issuer: &TokenIssuer) -> (Store, String) {
        let mut store = Store::default();
        let sa_key = key("/serviceaccounts", Some("istio-system"), "reader");
        store.insert_created(
            sa_key.clone(),
            json!({"metadata": {"name": "reader", "namespace": "istio-system"}}),
            0,
        );
        let uid = meta_str(&store.get(&sa_key).unwrap().object, "uid")
            .unwrap()
            .to_string();
        let token = issuer.issue(&Claims {
            namespace: "istio-system".into(),
            secret_name: "reader-token".into(),
            service_account_name: "reader".into(),
            service_account_uid: uid,
        });
        let b64 = base64::engine::general_purpose::STANDARD.encode(&token);
        store.insert_created(
            key("/secrets", Some("istio-system"), "reader-token"),
            json!({"metadata": {"name": "reader-token", "namespace": "istio-system"},
                   "type": sa_token::SECRET_TYPE, "data": {"token": b64}}),
            0,
        );
        (store, token)
    }

    #[test]
    fn a_service_account_token_works_while_its_secret_and_account_live() {
        let issuer = TokenIssuer::new(b"key", "CA");
        let (mut store, token) = reader(&issuer);
        let user = service_account(&token, &issuer, &store).unwrap();
        assert_eq!(user.name, "system:serviceaccount:istio-system:reader");
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:istio-system",
                "system:authenticated"
            ]
        );

        let sa_key = key("/serviceaccounts", Some("istio-system"), "reader");
        let sa = store.get(&sa_key).unwrap().object.clone();
        store.remove(&sa_key);
        store.insert_created(sa_key, sa, 1);
        let refused = service_account(&token, &issuer, &store).unwrap_err();
        assert!(refused.contains("does not match claim"), "{refused}");

        let (mut store, token) = reader(&issuer);
        store.remove(&key("/secrets", Some("istio-system"), "reader-token"));
        assert_eq!(
            service_account(&token, &issuer, &store),
            Err("token has been invalidated".into())
        );
        let (store, token) = reader(&issuer);
        let other = TokenIssuer::new(b"another", "CA");
        assert!(service_account(&token, &other, &store).is_err());
    }
}
