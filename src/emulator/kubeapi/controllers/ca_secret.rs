//! The Secret `istio-ca-secret` istiod writes for its self-signed CA, in
//! Istio's shape (`BuildSecret` in istio/istio `security/pkg/pki/ca/ca.go`):
//! type `istio.io/ca-root`; `ca-cert.pem` and `root-cert.pem` both the new
//! root, `ca-key.pem` its key, `cert-chain.pem` and `key.pem` empty.
//!
//! The root: subject `O=<trust domain>`, CA, valid for ten years from the
//! moment istiod started (Istio's `CITADEL_SELF_SIGNED_CA_CERT_TTL`
//! default), an RSA 2048 key (`CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE`).

use std::time::Duration;

use base64::Engine as _;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, RsaKeySize, PKCS_RSA_SHA256,
};
use serde_json::{json, Value};

use super::super::apply;
use super::super::meta;

/// The Secret's name.
pub const NAME: &str = "istio-ca-secret";

/// The field manager of istiod's writes.
const MANAGER: &str = "pilot-discovery";

/// Ten years.
const TTL: Duration = Duration::from_secs(3650 * 24 * 3600);

/// A self-signed root for `trust_domain`, valid from `at_ms`: (certificate,
/// key) as PEM.
fn root(trust_domain: &str, at_ms: u64) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, trust_domain);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = date_time_ymd(1970, 1, 1) + Duration::from_millis(at_ms);
    params.not_after = params.not_before + TTL;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The Secret `istio-ca-secret` in `namespace` with a fresh root for
/// `trust_domain`, made at `at_ms` by istiod (field manager
/// `pilot-discovery`).
///
/// # Errors
/// rcgen failing to make the key or certificate.
pub fn new(namespace: &str, trust_domain: &str, at_ms: u64) -> Result<Value, rcgen::Error> {
    let (cert, key) = root(trust_domain, at_ms)?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": NAME, "namespace": namespace},
        "type": "istio.io/ca-root",
        "data": {
            "ca-cert.pem": b64(&cert),
            "ca-key.pem": b64(&key),
            "cert-chain.pem": "",
            "key.pem": "",
            "root-cert.pem": b64(&cert),
        },
    });
    apply::record_update(None, &mut secret, MANAGER, None, &meta::timestamp(at_ms));
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::pem::parse_x509_pem;

    #[test]
    fn the_root_is_self_signed_for_the_trust_domain() {
        let secret = new("istio-system", "example.org", 1_700_000_000_000).unwrap();
        assert_eq!(secret["type"], "istio.io/ca-root");
        let data = &secret["data"];
        assert_eq!(data["ca-cert.pem"], data["root-cert.pem"]);
        assert_eq!(
            (&data["cert-chain.pem"], &data["key.pem"]),
            (&json!(""), &json!(""))
        );
        let pem = base64::engine::general_purpose::STANDARD
            .decode(data["ca-cert.pem"].as_str().unwrap())
            .unwrap();
        let (_, pem) = parse_x509_pem(&pem).unwrap();
        let cert = pem.parse_x509().unwrap();
        assert_eq!(cert.subject(), cert.issuer());
        assert_eq!(cert.subject().to_string(), "O=example.org");
        assert!(cert.is_ca());
        let key = cert.public_key().parsed().unwrap();
        assert!(
            matches!(&key, x509_parser::public_key::PublicKey::RSA(k) if k.key_size() == 2048),
            "RSA 2048 as Istio makes: {key:?}"
        );
        cert.verify_signature(None).expect("signed by its own key");
        assert_eq!(cert.validity().not_before.timestamp(), 1_700_000_000);
        assert_eq!(
            secret["metadata"]["managedFields"][0]["manager"],
            "pilot-discovery"
        );
    }
}
