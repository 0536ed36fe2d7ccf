//! Test support: the stand-in istioctl (`tests/fixtures/istioctl`) set up
//! with its environment, packed as an Istio release, and served from a
//! loopback HTTP server that counts requests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use sha2::{Digest, Sha256};

/// The stand-in script.
pub(crate) const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/istioctl");

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The text of a script that runs the stand-in with `env` set.
pub(crate) fn script(env: &[(&str, &str)]) -> String {
    let mut text = String::from("#!/bin/sh\n");
    for (k, v) in env {
        text.push_str(&format!("export {k}={}\n", quote(v)));
    }
    text.push_str(&format!("exec sh {} \"$@\"\n", quote(FIXTURE)));
    text
}

/// Writes an executable `dir/istioctl` that runs the stand-in with `env`.
pub(crate) fn fake_istioctl(dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("istioctl");
    std::fs::write(&path, script(env)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A `.tar.gz` holding one file `name` (0755) with `content`, as Istio
/// packs istioctl.
pub(crate) fn tar_gz(name: &str, content: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, name, content).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// The hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A loopback server of release files.
pub(crate) struct ReleaseServer {
    /// Its base URL (no trailing `/`).
    pub url: String,
    /// The paths requested so far, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
}

impl ReleaseServer {
    /// How many requests it answered.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Files {
    files: Arc<HashMap<String, Vec<u8>>>,
    requests: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
}

async fn answer(State(files): State<Files>, uri: Uri) -> (StatusCode, Vec<u8>) {
    files.count.fetch_add(1, Ordering::SeqCst);
    files.requests.lock().unwrap().push(uri.path().to_string());
    match files.files.get(uri.path()) {
        Some(body) => (StatusCode::OK, body.clone()),
        None => (StatusCode::NOT_FOUND, b"Not Found".to_vec()),
    }
}

/// Serves `files` (URL path → body) on loopback until the test ends; 404
/// for anything else.
pub(crate) async fn serve(files: HashMap<String, Vec<u8>>) -> ReleaseServer {
    let state = Files {
        files: Arc::new(files),
        requests: Arc::default(),
        count: Arc::default(),
    };
    let server = ReleaseServer {
        url: String::new(),
        requests: state.requests.clone(),
        count: state.count.clone(),
    };
    let app = axum::Router::new().fallback(answer).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ReleaseServer { url, ..server }
}

/// The files of Istio's release `version` for this platform, whose
/// istioctl is the stand-in with `env`: the archive and its `.sha256`
/// (`checksum` replaces the right one when given).
pub(crate) fn release_files(
    version: &str,
    env: &[(&str, &str)],
    checksum: Option<&str>,
) -> HashMap<String, Vec<u8>> {
    let platform = super::release::this_platform().unwrap();
    let name = super::release::archive_name(version, platform);
    let archive = tar_gz("istioctl", script(env).as_bytes());
    let sha = checksum
        .map(str::to_string)
        .unwrap_or_else(|| format!("{} {name}\n", sha256_hex(&archive)));
    HashMap::from([
        (format!("/{version}/{name}"), archive),
        (format!("/{version}/{name}.sha256"), sha.into_bytes()),
    ])
}

/// Discards progress messages.
pub(crate) fn quiet(_: &str) {}
