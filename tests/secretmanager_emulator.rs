//! The emulator's Secret Manager, through two independent clients:
//! Google's Rust client (`google-cloud-secretmanager-v1`, the one meshform
//! uses) and `gcloud secrets`. Secrets are named by project number, as
//! Google names them; versions count up from 1; payloads come back with
//! their CRC32C; the errors are Google's codes and messages.

#[macro_use]
mod common;

use common::gcloud::{Gcloud, PROJECT};
use common::listen;
use google_cloud_gax::error::rpc::Code;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::replication::Automatic;
use google_cloud_secretmanager_v1::model::{secret_version, Replication, Secret, SecretPayload};
use meshform::emulator::{Emulator, EmulatorConfig};

async fn start(dir: &std::path::Path) -> Emulator {
    Emulator::start(EmulatorConfig::new(dir), listen())
        .await
        .expect("emulator starts")
}

async fn client(emulator: &Emulator) -> SecretManagerService {
    official_client!(SecretManagerService, emulator.url())
}

fn automatic() -> Replication {
    Replication::new().set_automatic(Automatic::default())
}

/// A secret with automatic replication and `labels`.
fn secret(labels: &[(&str, &str)]) -> Secret {
    Secret::new()
        .set_replication(automatic())
        .set_labels(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

async fn create(c: &SecretManagerService, id: &str, labels: &[(&str, &str)]) -> Secret {
    c.create_secret()
        .set_parent(format!("projects/{PROJECT}"))
        .set_secret_id(id)
        .set_secret(secret(labels))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {id}: {e}"))
}

/// The code and message of a failed call.
fn failure<T: std::fmt::Debug>(r: Result<T, google_cloud_gax::error::Error>) -> (Code, String) {
    let e = r.expect_err("the call fails");
    let status = e.status().unwrap_or_else(|| panic!("no status in {e}"));
    (status.code, status.message.clone())
}

fn crc(data: &[u8]) -> i64 {
    i64::from(crc32c::crc32c(data))
}

#[tokio::test]
async fn google_client_creates_adds_versions_accesses_lists_and_deletes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(dir.path()).await;
    let c = client(&emulator).await;

    let created = create(&c, "ca-key", &[("meshform_state", "s1")]).await;
    // Named by project number, not by the id the request used.
    let (prefix, id) = created
        .name
        .rsplit_once("/secrets/")
        .expect("a secret name");
    let number = prefix.strip_prefix("projects/").expect("projects/…");
    assert!(
        number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit()),
        "{}",
        created.name
    );
    assert_eq!(id, "ca-key");
    assert_eq!(created.labels["meshform_state"], "s1");
    assert!(created
        .replication
        .as_ref()
        .and_then(|r| r.automatic())
        .is_some());
    assert!(created.create_time.is_some() && !created.etag.is_empty());

    let v1 = c
        .add_secret_version()
        .set_parent(&created.name)
        .set_payload(
            SecretPayload::new()
                .set_data(&b"first"[..])
                .set_data_crc32c(crc(b"first")),
        )
        .send()
        .await
        .expect("version 1");
    assert_eq!(v1.name, format!("{}/versions/1", created.name));
    assert_eq!(v1.state, secret_version::State::Enabled);
    assert!(v1.client_specified_payload_checksum);
    // By project id, the version goes on the same secret.
    let v2 = c
        .add_secret_version()
        .set_parent(format!("projects/{PROJECT}/secrets/ca-key"))
        .set_payload(SecretPayload::new().set_data(&b"second"[..]))
        .send()
        .await
        .expect("version 2");
    assert_eq!(v2.name, format!("{}/versions/2", created.name));
    assert!(!v2.client_specified_payload_checksum);

    let latest = c
        .access_secret_version()
        .set_name(format!("projects/{PROJECT}/secrets/ca-key/versions/latest"))
        .send()
        .await
        .expect("access latest");
    assert_eq!(latest.name, v2.name);
    let payload = latest.payload.expect("payload");
    assert_eq!(&payload.data[..], b"second");
    assert_eq!(payload.data_crc32c, Some(crc(b"second")));
    let first = c
        .access_secret_version()
        .set_name(format!("{}/versions/1", created.name))
        .send()
        .await
        .expect("access 1");
    assert_eq!(&first.payload.expect("payload").data[..], b"first");

    let versions = c
        .list_secret_versions()
        .set_parent(&created.name)
        .send()
        .await
        .expect("list versions");
    let names: Vec<&str> = versions.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, [v2.name.as_str(), v1.name.as_str()]);

    create(&c, "other-state", &[("meshform_state", "s2")]).await;
    create(&c, "unlabelled", &[]).await;
    let listed = c
        .list_secrets()
        .set_parent(format!("projects/{PROJECT}"))
        .set_filter("labels.meshform_state=s1")
        .send()
        .await
        .expect("list by label");
    let names: Vec<&str> = listed.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [created.name.as_str()]);
    // Paging: one secret a page, three pages, every secret once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_secrets()
            .set_parent(format!("projects/{PROJECT}"))
            .set_page_size(1)
            .set_page_token(&token)
            .send()
            .await
            .expect("list page");
        seen.extend(page.secrets.into_iter().map(|s| s.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    seen.sort();
    assert_eq!(seen.len(), 3, "{seen:?}");
    seen.dedup();
    assert_eq!(seen.len(), 3, "{seen:?}");

    // Secrets survive a restart of the emulator.
    emulator.shutdown().await;
    let emulator = start(dir.path()).await;
    let c = client(&emulator).await;
    let got = c
        .get_secret()
        .set_name(format!("projects/{PROJECT}/secrets/ca-key"))
        .send()
        .await
        .expect("get after restart");
    assert_eq!(got.etag, created.etag);

    let (code, _) = failure(
        c.delete_secret()
            .set_name(&created.name)
            .set_etag("\"stale\"")
            .send()
            .await,
    );
    assert_eq!(code, Code::FailedPrecondition);
    c.delete_secret()
        .set_name(&created.name)
        .set_etag(&created.etag)
        .send()
        .await
        .expect("delete with the current etag");
    let (code, message) = failure(c.get_secret().set_name(&created.name).send().await);
    assert_eq!(code, Code::NotFound);
    assert_eq!(message, format!("Secret [{}] not found.", created.name));
    let (code, message) = failure(
        c.access_secret_version()
            .set_name(format!("{}/versions/latest", created.name))
            .send()
            .await,
    );
    assert_eq!(code, Code::NotFound);
    assert_eq!(
        message,
        format!("Secret [{}] not found or has no versions.", created.name)
    );

    let counts = emulator.request_counts();
    for (method, n) in [
        ("secretmanager.projects.secrets.get", 2),
        ("secretmanager.projects.secrets.delete", 2),
        ("secretmanager.projects.secrets.versions.access", 1),
    ] {
        assert_eq!(counts.get(method), Some(&n), "{method} in {counts:?}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn google_client_gets_googles_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(dir.path()).await;
    let c = client(&emulator).await;
    let parent = format!("projects/{PROJECT}");
    let made = create(&c, "exists", &[]).await;

    let (code, message) = failure(
        c.create_secret()
            .set_parent(&parent)
            .set_secret_id("exists")
            .set_secret(secret(&[]))
            .send()
            .await,
    );
    assert_eq!(code, Code::AlreadyExists);
    assert_eq!(message, format!("Secret [{}] already exists.", made.name));

    for bad_id in ["has.dot", "", &"x".repeat(256)] {
        let (code, _) = failure(
            c.create_secret()
                .set_parent(&parent)
                .set_secret_id(bad_id)
                .set_secret(secret(&[]))
                .send()
                .await,
        );
        assert_eq!(code, Code::InvalidArgument, "secret id {bad_id:?}");
    }
    let (code, message) = failure(
        c.create_secret()
            .set_parent(&parent)
            .set_secret_id("no-replication")
            .set_secret(Secret::new())
            .send()
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("replication"), "{message}");
    let (code, message) = failure(
        c.create_secret()
            .set_parent(&parent)
            .set_secret_id("bad-label")
            .set_secret(secret(&[("Upper", "x")]))
            .send()
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("Upper"), "{message}");

    let add = |payload: SecretPayload| {
        c.add_secret_version()
            .set_parent(&made.name)
            .set_payload(payload)
            .send()
    };
    let (code, message) = failure(
        add(SecretPayload::new()
            .set_data(&b"data"[..])
            .set_data_crc32c(crc(b"data") + 1))
        .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("checksum"), "{message}");
    let (code, _) = failure(add(SecretPayload::new().set_data(vec![7u8; 65_537])).await);
    assert_eq!(code, Code::InvalidArgument);
    let (code, _) = failure(add(SecretPayload::new()).await);
    assert_eq!(code, Code::InvalidArgument);
    // Exactly 64 KiB is allowed, and it is the first version: failed adds used no number.
    let full = add(SecretPayload::new().set_data(vec![7u8; 65_536]))
        .await
        .expect("64 KiB");
    assert_eq!(full.name, format!("{}/versions/1", made.name));

    let (code, message) = failure(
        c.add_secret_version()
            .set_parent(format!("{parent}/secrets/missing"))
            .set_payload(SecretPayload::new().set_data(&b"x"[..]))
            .send()
            .await,
    );
    assert_eq!(code, Code::NotFound);
    assert!(
        message.ends_with("/secrets/missing] not found."),
        "{message}"
    );
    let (code, message) = failure(
        c.access_secret_version()
            .set_name(format!("{}/versions/7", made.name))
            .send()
            .await,
    );
    assert_eq!(code, Code::NotFound);
    assert_eq!(
        message,
        format!("Secret Version [{}/versions/7] not found.", made.name)
    );
    let (code, message) = failure(
        c.list_secrets()
            .set_parent(&parent)
            .set_filter("name:exists OR labels.a=b")
            .send()
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("does not support the filter"), "{message}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn gcloud_secrets_create_add_access_list_and_delete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let emulator = start(&dir.path().join("emulator")).await;
    let g = Gcloud::new(&emulator.url());
    let first = dir.path().join("first");
    std::fs::write(&first, "root-ca-key").unwrap();
    let second = dir.path().join("second");
    std::fs::write(&second, "rotated-key").unwrap();
    let file = |p: &std::path::Path| format!("--data-file={}", p.display());

    g.ok(&[
        "secrets",
        "create",
        "mesh-ca",
        &file(&first),
        "--labels=meshform_state=demo",
    ])
    .await;
    let added = g
        .ok(&["secrets", "versions", "add", "mesh-ca", &file(&second)])
        .await;
    assert!(
        added.stderr().contains("Created version [2]"),
        "{}",
        added.stderr()
    );

    let latest = g
        .ok(&[
            "secrets",
            "versions",
            "access",
            "latest",
            "--secret=mesh-ca",
        ])
        .await;
    assert_eq!(latest.stdout().trim_end_matches('\n'), "rotated-key");
    let one = g
        .ok(&["secrets", "versions", "access", "1", "--secret=mesh-ca"])
        .await;
    assert_eq!(one.stdout().trim_end_matches('\n'), "root-ca-key");

    let secrets = g.json(&["secrets", "list"]).await;
    let secrets = secrets.as_array().expect("a list");
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    assert!(secrets[0]["name"]
        .as_str()
        .is_some_and(|n| n.ends_with("/secrets/mesh-ca")));
    assert_eq!(secrets[0]["labels"]["meshform_state"], "demo");
    assert_eq!(
        secrets[0]["replication"]["automatic"],
        serde_json::json!({})
    );
    let versions = g.json(&["secrets", "versions", "list", "mesh-ca"]).await;
    let states: Vec<(&str, &str)> = versions
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap();
            (
                name.rsplit('/').next().unwrap(),
                v["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("2", "ENABLED"), ("1", "ENABLED")]);

    g.ok(&["secrets", "delete", "mesh-ca"]).await;
    let gone = g.run(&["secrets", "describe", "mesh-ca"]).await;
    assert_ne!(gone.code(), 0);
    assert!(
        gone.stderr().contains("NOT_FOUND") && gone.stderr().contains("secrets/mesh-ca] not found"),
        "{}",
        gone.stderr()
    );
    let counts = emulator.request_counts();
    assert_eq!(
        counts.get("secretmanager.projects.secrets.addVersion"),
        Some(&2),
        "{counts:?}"
    );
    emulator.shutdown().await;
}
