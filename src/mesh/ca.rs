//! The mesh's certificate authority: a root and one intermediate per
//! cluster, made with `rcgen` with the extensions of Istio's own tooling
//! (MESH.md, "Plugged-in CA"), and read back with `x509-parser` to check
//! brought roots and verify chains cryptographically.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::plan::KeyType;
use crate::resource::outputs::digest;
use crate::resource::Material;

/// A certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// rcgen refused (key generation or signing).
    #[error("making a certificate: {0}")]
    Issue(String),
    /// The PEM text holds no certificate, or one that does not parse.
    #[error("not a PEM X.509 certificate: {0}")]
    NotACertificate(String),
    /// The key does not parse.
    #[error("not a PEM private key (PKCS#8, PKCS#1 or SEC1): {0}")]
    NotAKey(String),
}

/// A CA certificate with its key.
#[derive(Debug, Clone)]
pub struct IssuedCa {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (secret material).
    pub key: Material,
}

/// What meshform records about a certificate (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// `sha256:` of the DER.
    pub fingerprint: String,
    /// Serial number, hex.
    pub serial: String,
    /// Expiry as RFC 3339 UTC.
    pub not_after: String,
    /// Expiry as a time.
    pub expires: SystemTime,
    /// The subject, e.g. `O=Istio, CN=Root CA`.
    pub subject: String,
    /// basicConstraints CA:true.
    pub is_ca: bool,
    /// basicConstraints pathlen, when set.
    pub path_len: Option<u32>,
    /// keyUsage keyCertSign.
    pub signs_certificates: bool,
    /// The key type, when it is one meshform makes.
    pub key_type: Option<KeyType>,
}

/// Runs `make` on tokio's blocking pool: generating an RSA 4096 key takes
/// up to seconds of CPU, which must not stall the tasks that wait on the
/// cloud meanwhile.
///
/// # Panics
/// When `make` panics.
pub async fn off_the_runtime<T, E>(
    make: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    tokio::task::spawn_blocking(make)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn issue_err(e: rcgen::Error) -> CaError {
    CaError::Issue(e.to_string())
}

fn new_key(key_type: KeyType) -> Result<KeyPair, CaError> {
    match key_type {
        KeyType::Rsa4096 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
        }
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
    }
    .map_err(issue_err)
}

/// Parameters shared by root and intermediates: Istio's key usages, a
/// random serial, SKI by hash, validity from `now`.
fn ca_params(
    common_name: &str,
    locality: Option<&str>,
    path_len: Option<u8>,
    now: SystemTime,
    not_after: SystemTime,
) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(issue_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Istio");
    dn.push(DnType::CommonName, common_name);
    if let Some(l) = locality {
        dn.push(DnType::LocalityName, l);
    }
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.use_authority_key_identifier_extension = true;
    let serial: [u8; 16] = rand::random();
    let mut serial = serial.to_vec();
    serial[0] &= 0x7f; // positive
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = OffsetDateTime::from(now - Duration::from_secs(60));
    params.not_after = OffsetDateTime::from(not_after);
    Ok(params)
}

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// A self-signed root: `O=Istio, CN=Root CA`, CA without a path length.
///
/// # Errors
/// Key generation or signing fails.
pub fn issue_root(
    key_type: KeyType,
    validity_days: u32,
    now: SystemTime,
) -> Result<IssuedCa, CaError> {
    let key = new_key(key_type)?;
    let params = ca_params("Root CA", None, None, now, now + days(validity_days))?;
    let cert = params.self_signed(&key).map_err(issue_err)?;
    Ok(IssuedCa {
        cert_pem: cert.pem(),
        key: Material(key.serialize_pem().into_bytes()),
    })
}

/// An intermediate for `cluster` signed by `root`: `O=Istio, CN=Intermediate
/// CA, L=<cluster>`, pathlen 0, SAN `istiod.istio-system.svc`. It never
/// outlives the root.
///
/// # Errors
/// The root does not parse, or key generation or signing fails.
pub fn issue_intermediate(
    key_type: KeyType,
    validity_days: u32,
    cluster: &str,
    root: &IssuedCa,
    now: SystemTime,
) -> Result<IssuedCa, CaError> {
    let root_info = inspect(&root.cert_pem)?;
    let not_after = (now + days(validity_days)).min(root_info.expires);
    let key = new_key(key_type)?;
    let mut params = ca_params("Intermediate CA", Some(cluster), Some(0), now, not_after)?;
    params.subject_alt_names = vec![rcgen::SanType::DnsName(
        "istiod.istio-system.svc".try_into().map_err(issue_err)?,
    )];
    let root_key = key_pair(&root.key)?;
    let issuer = Issuer::from_ca_cert_pem(&root.cert_pem, root_key).map_err(issue_err)?;
    let cert = params.signed_by(&key, &issuer).map_err(issue_err)?;
    Ok(IssuedCa {
        cert_pem: cert.pem(),
        key: Material(key.serialize_pem().into_bytes()),
    })
}

fn key_pair(key: &Material) -> Result<KeyPair, CaError> {
    let text =
        std::str::from_utf8(&key.0).map_err(|_| CaError::NotAKey("not UTF-8 text".into()))?;
    // rcgen's message names the parse failure, never the key.
    KeyPair::from_pem(text).map_err(|e| CaError::NotAKey(e.to_string()))
}

/// The DER of every certificate in `pem` text, in order.
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    ::pem::parse_many(pem)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect()
}

fn first_der(pem: &str) -> Result<Vec<u8>, CaError> {
    pem_certificates(pem)
        .into_iter()
        .next()
        .ok_or_else(|| CaError::NotACertificate("no CERTIFICATE block".into()))
}

/// `sha256:` fingerprints of every certificate in `pem`, in order.
pub fn fingerprints(pem: &str) -> Vec<String> {
    pem_certificates(pem).iter().map(|d| digest(d)).collect()
}

/// `sha256:` fingerprint of the first certificate in `pem`.
///
/// # Errors
/// No certificate.
pub fn fingerprint(pem: &str) -> Result<String, CaError> {
    Ok(digest(&first_der(pem)?))
}

/// Reads the first certificate of `pem`.
///
/// # Errors
/// No certificate, or one that does not parse.
pub fn inspect(pem: &str) -> Result<CertInfo, CaError> {
    let der = first_der(pem)?;
    let (_, cert) =
        X509Certificate::from_der(&der).map_err(|e| CaError::NotACertificate(e.to_string()))?;
    let bc = cert
        .basic_constraints()
        .ok()
        .flatten()
        .map(|b| b.value.clone());
    let signs = cert
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|k| k.value.key_cert_sign());
    let expires = SystemTime::UNIX_EPOCH
        + Duration::from_secs(cert.validity().not_after.timestamp().max(0) as u64);
    let key_type = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) if rsa.key_size() == 4096 => {
            Some(KeyType::Rsa4096)
        }
        Ok(x509_parser::public_key::PublicKey::EC(ec)) if ec.key_size() == 256 => {
            Some(KeyType::EcdsaP256)
        }
        _ => None,
    };
    Ok(CertInfo {
        fingerprint: digest(&der),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_after: humantime::format_rfc3339_seconds(expires).to_string(),
        expires,
        subject: cert.subject().to_string(),
        is_ca: bc.as_ref().is_some_and(|b| b.ca),
        path_len: bc.and_then(|b| b.path_len_constraint),
        signs_certificates: signs,
        key_type,
    })
}

/// Whether `key` is the private key of the first certificate in `cert_pem`.
///
/// # Errors
/// Either does not parse.
pub fn key_matches(cert_pem: &str, key: &Material) -> Result<bool, CaError> {
    let der = first_der(cert_pem)?;
    let (_, cert) =
        X509Certificate::from_der(&der).map_err(|e| CaError::NotACertificate(e.to_string()))?;
    let key = key_pair(key)?;
    Ok(cert.public_key().raw == key.subject_public_key_info().as_slice())
}

/// Checks, cryptographically, that the first certificate of `cert_pem` is
/// signed by one of the certificates in `roots_pem`, that the signer is a CA
/// allowed to sign certificates, and that both are valid at `at`.
///
/// # Errors
/// Why the chain does not hold.
pub fn verify_chain(cert_pem: &str, roots_pem: &str, at: SystemTime) -> Result<(), String> {
    let der = first_der(cert_pem).map_err(|e| e.to_string())?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| e.to_string())?;
    let when = x509_parser::time::ASN1Time::from_timestamp(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64,
    )
    .map_err(|e| e.to_string())?;
    if !cert.validity().is_valid_at(when) {
        return Err(format!("{} is not valid at that time", cert.subject()));
    }
    let roots = pem_certificates(roots_pem);
    for root_der in &roots {
        let Ok((_, root)) = X509Certificate::from_der(root_der) else {
            continue;
        };
        if root.subject() != cert.issuer() {
            continue;
        }
        if cert.verify_signature(Some(root.public_key())).is_err() {
            continue;
        }
        if !root.is_ca() || !root.validity().is_valid_at(when) {
            return Err(format!(
                "{} signed it but is not a valid CA",
                root.subject()
            ));
        }
        return Ok(());
    }
    Err(format!(
        "{} is not signed by any of the {} trusted root(s)",
        cert.subject(),
        roots.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn intermediates_chain_to_their_root_with_istio_extensions() {
        let root = issue_root(KeyType::EcdsaP256, 3650, now()).unwrap();
        let inter = issue_intermediate(KeyType::EcdsaP256, 3650, "cluster1", &root, now()).unwrap();
        let r = inspect(&root.cert_pem).unwrap();
        let i = inspect(&inter.cert_pem).unwrap();
        assert!(r.is_ca && r.signs_certificates && r.path_len.is_none());
        assert!(i.is_ca && i.signs_certificates);
        assert_eq!(i.path_len, Some(0));
        assert_eq!(r.subject, "O=Istio, CN=Root CA");
        assert_eq!(i.subject, "O=Istio, CN=Intermediate CA, L=cluster1");
        assert!(
            i.expires <= r.expires,
            "an intermediate never outlives its root"
        );
        assert_eq!(i.key_type, Some(KeyType::EcdsaP256));
        verify_chain(&inter.cert_pem, &root.cert_pem, now()).unwrap();
        assert!(key_matches(&inter.cert_pem, &inter.key).unwrap());
        assert!(!key_matches(&inter.cert_pem, &root.key).unwrap());

        let other = issue_root(KeyType::EcdsaP256, 10, now()).unwrap();
        let err = verify_chain(&inter.cert_pem, &other.cert_pem, now()).unwrap_err();
        assert!(err.contains("not signed"), "{err}");
        // A bundle with both roots trusts it (rotation).
        let bundle = format!("{}{}", other.cert_pem, root.cert_pem);
        verify_chain(&inter.cert_pem, &bundle, now()).unwrap();
    }

    #[test]
    fn rsa_4096_as_istio_tooling() {
        let root = issue_root(KeyType::Rsa4096, 30, now()).unwrap();
        assert_eq!(
            inspect(&root.cert_pem).unwrap().key_type,
            Some(KeyType::Rsa4096)
        );
    }

    #[test]
    fn keys_never_show_in_debug() {
        let root = issue_root(KeyType::EcdsaP256, 1, now()).unwrap();
        assert!(!format!("{root:?}").contains("PRIVATE KEY"));
        assert!(String::from_utf8_lossy(&root.key.0).contains("PRIVATE KEY"));
    }
}
