//! Legacy service-account tokens, as Kubernetes' token controller writes
//! them into Secrets of type `kubernetes.io/service-account-token`
//! (kubernetes/kubernetes `pkg/serviceaccount/legacy.go`): a JWT whose
//! claims name the namespace, the Secret and the service account (name and
//! UID), with no expiry.
//!
//! The emulator signs them with HMAC-SHA256 (`alg: HS256`) under a key
//! derived from the cluster's CA key (`ca-key.pem`): tests cannot forge
//! one, and the same claims give the same token after an emulator restart.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `type` of a Secret that holds a service-account token.
pub const SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// The annotation naming the token's service account.
pub const NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// The annotation holding that service account's UID.
pub const UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";
/// The `iss` of legacy service-account tokens.
pub const ISSUER: &str = "kubernetes/serviceaccount";

const NAMESPACE_CLAIM: &str = "kubernetes.io/serviceaccount/namespace";
const SECRET_CLAIM: &str = "kubernetes.io/serviceaccount/secret.name";
const NAME_CLAIM: &str = "kubernetes.io/serviceaccount/service-account.name";
const UID_CLAIM: &str = "kubernetes.io/serviceaccount/service-account.uid";

/// What a legacy token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The namespace of the service account and the Secret.
    pub namespace: String,
    /// The Secret the token lives in.
    pub secret_name: String,
    /// The service account's name.
    pub service_account_name: String,
    /// The service account's UID when the token was made.
    pub service_account_uid: String,
}

impl Claims {
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub fn username(&self) -> String {
        username(&self.namespace, &self.service_account_name)
    }

    fn payload(&self) -> Value {
        json!({
            "iss": ISSUER,
            NAMESPACE_CLAIM: self.namespace,
            SECRET_CLAIM: self.secret_name,
            NAME_CLAIM: self.service_account_name,
            UID_CLAIM: self.service_account_uid,
            "sub": self.username(),
        })
    }

    fn from_payload(payload: &Value) -> Option<Claims> {
        let claim = |name: &str| payload[name].as_str().filter(|s| !s.is_empty());
        let claims = Claims {
            namespace: claim(NAMESPACE_CLAIM)?.to_string(),
            secret_name: claim(SECRET_CLAIM)?.to_string(),
            service_account_name: claim(NAME_CLAIM)?.to_string(),
            service_account_uid: claim(UID_CLAIM)?.to_string(),
        };
        (payload["iss"] == ISSUER && claim("sub") == Some(claims.username().as_str()))
            .then_some(claims)
    }
}

/// The user name of service account `name` in `namespace`.
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Why a token is not a valid service-account token of this cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not three base64url parts with JSON header and payload.
    #[error("malformed token")]
    Malformed,
    /// The signature is not this cluster's.
    #[error("invalid signature")]
    Signature,
    /// The payload lacks the claims of a legacy service-account token.
    #[error("missing or inconsistent service-account claims")]
    Claims,
}

/// Whether `token` presents itself as a service-account token: a JWT
/// whose payload has `iss: kubernetes/serviceaccount` or a `kubernetes.io`
/// claim (bound tokens). Such a token must verify; any other bearer token
/// is the cluster's Google identity.
pub fn looks_like_service_account(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return false;
    };
    decode_json(payload).is_some_and(|p| p["iss"] == ISSUER || p.get("kubernetes.io").is_some())
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        let digest: [u8; 32] = Sha256::digest(key).into();
        block[..32].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner: [u8; 32] = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize()
        .into();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Signs and verifies one cluster's service-account tokens, and knows the
/// CA bundle the token controller puts next to them.
#[derive(Clone)]
pub struct TokenIssuer {
    key: [u8; 32],
    kid: String,
    /// The cluster CA (PEM): `ca.crt` of every token Secret.
    pub ca_pem: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer whose key derives from `secret` (the CA key PEM).
    pub fn new(secret: &[u8], ca_pem: &str) -> Self {
        let key: [u8; 32] = Sha256::new()
            .chain_update(b"meshform emulated service-account tokens\0")
            .chain_update(secret)
            .finalize()
            .into();
        let id: [u8; 32] = Sha256::digest(key).into();
        TokenIssuer {
            key,
            kid: URL_SAFE_NO_PAD.encode(&id[..16]),
            ca_pem: ca_pem.to_string(),
        }
    }

    /// The token for `claims`; the same claims always give the same token.
    pub fn issue(&self, claims: &Claims) -> String {
        let header = json!({"alg": "HS256", "kid": self.kid});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.payload().to_string())
        );
        let signature = hmac_sha256(&self.key, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of `token` when this issuer signed it. Only the token
    /// itself is checked; whether its Secret and service account still
    /// exist is the authenticator's question.
    ///
    /// # Errors
    /// [`Invalid`] saying what is wrong.
    pub fn verify(&self, token: &str) -> Result<Claims, Invalid> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err(Invalid::Malformed);
        };
        let header = decode_json(header).ok_or(Invalid::Malformed)?;
        let payload = decode_json(payload).ok_or(Invalid::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Invalid::Malformed)?;
        let signed = &token[..token.rfind('.').unwrap_or(0)];
        let expected = hmac_sha256(&self.key, signed.as_bytes());
        let differs = signature.len() != expected.len()
            || signature
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0;
        if header["alg"] != "HS256" || differs {
            return Err(Invalid::Signature);
        }
        Claims::from_payload(&payload).ok_or(Invalid::Claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            namespace: "istio-system".into(),
            secret_name: "reader-token".into(),
            service_account_name: "istio-reader-service-account".into(),
            service_account_uid: "u-1".into(),
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_are_stable_jwts_that_verify_only_under_their_key() {
        let issuer = TokenIssuer::new(b"ca key", "CA");
        let token = issuer.issue(&claims());
        assert_eq!(token, TokenIssuer::new(b"ca key", "CA").issue(&claims()));
        assert_eq!(token.split('.').count(), 3);
        assert!(looks_like_service_account(&token));
        let payload = decode_json(token.split('.').nth(1).unwrap()).unwrap();
        assert_eq!(payload["iss"], ISSUER);
        assert_eq!(
            payload["sub"],
            "system:serviceaccount:istio-system:istio-reader-service-account"
        );
        assert_eq!(payload[UID_CLAIM], "u-1");
        assert_eq!(issuer.verify(&token), Ok(claims()));
        let other = TokenIssuer::new(b"another cluster", "CA");
        assert_eq!(other.verify(&token), Err(Invalid::Signature));
    }

    #[test]
    fn a_forged_payload_does_not_verify() {
        let issuer = TokenIssuer::new(b"ca key", "CA");
        let token = issuer.issue(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut admin = claims();
        admin.service_account_name = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(admin.payload().to_string()),
            parts[2]
        );
        assert!(looks_like_service_account(&forged));
        assert_eq!(issuer.verify(&forged), Err(Invalid::Signature));
        assert_eq!(issuer.verify("a.b.c"), Err(Invalid::Malformed));
    }

    #[test]
    fn google_tokens_are_not_service_account_tokens() {
        assert!(!looks_like_service_account("ya29.a0AfH6SMBx"));
        assert!(!looks_like_service_account("ya29.kubectl"));
        let google_id = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":"https://accounts.google.com"}"#)
        );
        assert!(!looks_like_service_account(&google_id));
    }
}
