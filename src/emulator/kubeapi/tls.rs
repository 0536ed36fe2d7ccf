//! The cluster's CA and serving certificate: made with rcgen on the first
//! start, persisted in the cluster's folder (`ca.pem`, `ca-key.pem`,
//! `server.pem`, `server-key.pem`; keys mode 0600) and reused afterwards.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use super::KubeApiError;

/// Names in the serving certificate, besides `127.0.0.1`.
const DNS_NAMES: &[&str] = &[
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
];

/// A cluster's certificates as PEM.
#[derive(Debug, Clone)]
pub struct ClusterTls {
    /// CA certificate.
    pub ca_pem: String,
    /// Serving certificate (signed by the CA).
    pub server_pem: String,
    /// Serving key, PKCS#8.
    pub server_key_pem: String,
    /// CA key, PKCS#8 (service-account tokens are signed with a key
    /// derived from it).
    pub ca_key_pem: String,
}

/// Loads the certificates from `dir`, or makes and saves new ones when any
/// file is missing.
///
/// # Errors
/// I/O errors, or rcgen failing to generate.
pub fn load_or_create(dir: &Path) -> Result<ClusterTls, KubeApiError> {
    let read = |name: &str| fs::read_to_string(dir.join(name)).ok();
    if let (Some(ca_pem), Some(ca_key_pem), Some(server_pem), Some(server_key_pem)) = (
        read("ca.pem"),
        read("ca-key.pem"),
        read("server.pem"),
        read("server-key.pem"),
    ) {
        return Ok(ClusterTls {
            ca_pem,
            server_pem,
            server_key_pem,
            ca_key_pem,
        });
    }
    let tls = generate()?;
    write_file(dir, "ca.pem", &tls.ca_pem, false)?;
    write_file(dir, "ca-key.pem", &tls.ca_key_pem, true)?;
    write_file(dir, "server.pem", &tls.server_pem, false)?;
    write_file(dir, "server-key.pem", &tls.server_key_pem, true)?;
    Ok(tls)
}

/// A fresh CA and a serving certificate it signed.
fn generate() -> Result<ClusterTls, KubeApiError> {
    let tls_err = |e: rcgen::Error| KubeApiError::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "meshform emulated cluster CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec!["127.0.0.1".to_string()];
    names.extend(DNS_NAMES.iter().map(|s| s.to_string()));
    let server_key = KeyPair::generate().map_err(tls_err)?;
    let mut params = CertificateParams::new(names).map_err(tls_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = params.signed_by(&server_key, &issuer).map_err(tls_err)?;

    Ok(ClusterTls {
        ca_pem: ca_cert.pem(),
        server_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        ca_key_pem: issuer.key().serialize_pem(),
    })
}

fn write_file(dir: &Path, name: &str, contents: &str, secret: bool) -> Result<(), KubeApiError> {
    let path = dir.join(name);
    let io = |source| KubeApiError::Io {
        path: path.clone(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(&path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// The rustls server configuration (ring provider, HTTP/1.1 only).
///
/// # Errors
/// [`KubeApiError::Tls`] when the PEM files do not parse.
pub fn server_config(tls: &ClusterTls) -> Result<Arc<ServerConfig>, KubeApiError> {
    let bad = |e: String| KubeApiError::Tls(e);
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(tls.server_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(tls.server_key_pem.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The DER of the first certificate in `pem` (for clients that want DER).
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()?
        .ok()
        .map(|c| c.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem);
        assert!(server_config(&first).is_ok());
        assert!(pem_to_der(&first.ca_pem).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for name in ["ca-key.pem", "server-key.pem"] {
                let mode = fs::metadata(dir.path().join(name))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{name}");
            }
        }
    }
}
