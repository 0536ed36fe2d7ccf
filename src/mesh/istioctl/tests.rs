//! istioctl found, run, downloaded and cached, with the stand-in script
//! (`tests/fixtures/istioctl`) and a loopback release server.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::fixture::{fake_istioctl, quiet, release_files, serve, tar_gz};
use super::release::{archive_name, cached_binary, this_platform};
use super::*;
use crate::mesh::overlay::render_overlay;
use crate::mesh::ControlPlaneValues;

const VERSION: &str = "1.31.1";

fn sources(search_path: Option<&Path>, releases_url: &str, cache: &Path) -> Sources {
    Sources {
        search_path: search_path.map(|p| p.as_os_str().to_owned()),
        releases_url: releases_url.to_string(),
        cache_dir: Some(cache.to_path_buf()),
    }
}

fn overlay() -> String {
    render_overlay(&ControlPlaneValues::example()).unwrap()
}

#[tokio::test]
async fn probe_reads_the_client_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_istioctl(dir.path(), &[("FAKE_ISTIOCTL_VERSION", "1.30.5")]);
    let found = Istioctl::probe(&path).await.unwrap();
    assert_eq!(found.version, "1.30.5");
    assert_eq!(found.path, path);
}

#[tokio::test]
async fn manifest_generate_passes_the_overlay_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let path = fake_istioctl(
        &dir.path().join("bin"),
        &[("FAKE_ISTIOCTL_LOG", log.to_str().unwrap())],
    );
    let istioctl = Istioctl {
        path,
        version: VERSION.into(),
    };
    let stream = istioctl.manifest_generate(&overlay()).await.unwrap();
    assert!(stream.contains("kind: Deployment"), "{stream}");

    let logged = std::fs::read_to_string(&log).unwrap();
    let args: Vec<&str> = logged.trim().split(' ').collect();
    assert_eq!(args[..3], ["manifest", "generate", "-f"], "{logged}");
    assert_eq!(args.len(), 4, "{logged}");
    let file = Path::new(args[3]);
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("meshform-istio-operator-"),
        "{logged}"
    );
    assert!(!file.exists(), "the overlay file is removed afterwards");
}

#[tokio::test]
async fn overlay_without_the_expected_values_is_refused_by_the_stand_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_istioctl(dir.path(), &[("FAKE_MESH_ID", "another-mesh")]);
    let istioctl = Istioctl {
        path,
        version: VERSION.into(),
    };
    let err = istioctl.manifest_generate(&overlay()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"lacks the line:       meshID: "another-mesh""#),
        "{err}"
    );
}

#[tokio::test]
async fn failing_istioctl_gives_its_command_and_last_stderr_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_istioctl(
        dir.path(),
        &[(
            "FAKE_ISTIOCTL_FAIL",
            "Error: generate config: unknown field \"meshID\"",
        )],
    );
    let istioctl = Istioctl {
        path: path.clone(),
        version: VERSION.into(),
    };
    let err = istioctl.manifest_generate(&overlay()).await.unwrap_err();
    assert!(matches!(err, IstioctlError::Failed { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("`{} manifest generate -f /", path.display())),
        "{text}"
    );
    assert!(text.contains("exit status: 1"), "{text}");
    assert!(
        text.contains("    Error: generate config: unknown field \"meshID\""),
        "{text}"
    );
    assert!(text.contains("noise 30"), "{text}");
    assert!(
        text.contains("… 11 earlier lines of stderr left out"),
        "{text}"
    );
    assert!(!text.contains("noise 11\n"), "{text}");
    assert!(text.contains("\n  help:"), "{text}");
    let IstioctlError::Failed {
        overlay: Some(kept),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        text.contains(&format!("the overlay is kept at {}", kept.display())),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(kept).unwrap(), overlay());
    std::fs::remove_file(kept).unwrap();
}

#[tokio::test]
async fn missing_binary_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Istioctl::probe(&dir.path().join("nope")).await.unwrap_err();
    assert!(matches!(err, IstioctlError::Spawn { .. }), "{err:?}");
    assert!(err.to_string().contains("help:"), "{err}");
}

#[tokio::test]
async fn explicit_istioctl_of_the_pinned_version_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_istioctl(&dir.path().join("bin"), &[]);
    let s = sources(None, "http://127.0.0.1:9", &dir.path().join("cache"));
    let found = locate(Some(&path), VERSION, &s, &quiet).await.unwrap();
    assert_eq!(found.path, path);
}

#[tokio::test]
async fn explicit_istioctl_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_istioctl(dir.path(), &[("FAKE_ISTIOCTL_VERSION", "1.30.5")]);
    let s = sources(None, "http://127.0.0.1:9", &dir.path().join("cache"));
    let err = locate(Some(&path), VERSION, &s, &quiet).await.unwrap_err();
    assert!(
        matches!(&err, IstioctlError::WrongVersion { found, wanted, .. } if found == "1.30.5" && wanted == VERSION),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("is istioctl 1.30.5, but the plan pins Istio 1.31.1"),
        "{err}"
    );
}

#[tokio::test]
async fn istioctl_on_path_of_the_pinned_version_is_used_without_download() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let path = fake_istioctl(&bin, &[]);
    let server = serve(HashMap::new()).await;
    let s = sources(Some(&bin), &server.url, &dir.path().join("cache"));
    let found = locate(None, VERSION, &s, &quiet).await.unwrap();
    assert_eq!(found.path, path);
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn istioctl_on_path_of_another_version_is_skipped_and_the_release_downloaded() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fake_istioctl(&bin, &[("FAKE_ISTIOCTL_VERSION", "1.30.5")]);
    let server = serve(release_files(VERSION, &[], None)).await;
    let cache = dir.path().join("cache");
    let s = sources(Some(&bin), &server.url, &cache);
    let found = locate(None, VERSION, &s, &quiet).await.unwrap();
    assert_eq!(found.path, cached_binary(&cache, VERSION));
    assert_eq!(found.version, VERSION);
}

#[tokio::test]
async fn release_download_is_verified_cached_and_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(release_files(VERSION, &[], None)).await;
    let cache = dir.path().join("cache");
    let s = sources(None, &server.url, &cache);
    let messages = std::sync::Mutex::new(Vec::new());
    let progress = |m: &str| messages.lock().unwrap().push(m.to_string());

    let first = locate(None, VERSION, &s, &progress).await.unwrap();
    let cached = cached_binary(&cache, VERSION);
    assert_eq!(first.path, cached);
    let name = archive_name(VERSION, this_platform().unwrap());
    assert_eq!(
        *server.requests.lock().unwrap(),
        [
            format!("/{VERSION}/{name}.sha256"),
            format!("/{VERSION}/{name}")
        ]
    );
    let mode = std::fs::metadata(&cached).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let leftovers: Vec<_> = std::fs::read_dir(cached.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["istioctl"], "no temporary files are left");
    let messages = messages.lock().unwrap().clone();
    assert!(messages[0].starts_with("downloading istioctl 1.31.1 from http://127.0.0.1:"));
    assert!(messages[1].contains("verified, cached at"), "{messages:?}");

    let second = locate(None, VERSION, &s, &quiet).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(server.count(), 2, "the second call uses the cache");

    // The cached istioctl works.
    let stream = second.manifest_generate(&overlay()).await.unwrap();
    assert!(stream.contains("name: istiod"));
}

#[tokio::test]
async fn checksum_mismatch_is_refused_and_nothing_cached() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = format!("{} whatever\n", "0".repeat(64));
    let name = archive_name(VERSION, this_platform().unwrap());
    let wrong = wrong.replace("whatever", &name);
    let server = serve(release_files(VERSION, &[], Some(&wrong))).await;
    let cache = dir.path().join("cache");
    let err = locate(None, VERSION, &sources(None, &server.url, &cache), &quiet)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IstioctlError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&"0".repeat(64)), "{err}");
    assert!(!cache.join(VERSION).exists(), "nothing is cached");
}

#[tokio::test]
async fn missing_checksum_is_refused_without_downloading_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = release_files(VERSION, &[], None);
    files.retain(|path, _| !path.ends_with(".sha256"));
    let server = serve(files).await;
    let cache = dir.path().join("cache");
    let err = locate(None, VERSION, &sources(None, &server.url, &cache), &quiet)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IstioctlError::ChecksumMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("404 Not Found"), "{err}");
    assert_eq!(server.count(), 1);
    assert!(!cache.join(VERSION).exists(), "nothing is cached");
}

#[tokio::test]
async fn downloaded_istioctl_of_another_version_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(release_files(
        VERSION,
        &[("FAKE_ISTIOCTL_VERSION", "1.29.0")],
        None,
    ))
    .await;
    let cache = dir.path().join("cache");
    let err = locate(None, VERSION, &sources(None, &server.url, &cache), &quiet)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IstioctlError::DownloadedWrongVersion { .. }),
        "{err:?}"
    );
    assert!(!cached_binary(&cache, VERSION).exists());
}

#[tokio::test]
async fn archive_without_istioctl_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let name = archive_name(VERSION, this_platform().unwrap());
    let archive = tar_gz("README.md", b"no binary here");
    let sha = format!("{} {name}\n", super::fixture::sha256_hex(&archive));
    let server = serve(HashMap::from([
        (format!("/{VERSION}/{name}"), archive),
        (format!("/{VERSION}/{name}.sha256"), sha.into_bytes()),
    ]))
    .await;
    let cache = dir.path().join("cache");
    let err = locate(None, VERSION, &sources(None, &server.url, &cache), &quiet)
        .await
        .unwrap_err();
    assert!(matches!(err, IstioctlError::Archive { .. }), "{err:?}");
    assert!(!cached_binary(&cache, VERSION).exists());
}

#[tokio::test]
async fn unknown_release_is_a_missing_checksum_naming_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(HashMap::new()).await;
    let err = locate(
        None,
        "1.99.0",
        &sources(None, &server.url, &dir.path().join("cache")),
        &quiet,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("is 1.99.0 an Istio release"),
        "{err}"
    );
}

#[tokio::test]
async fn no_cache_folder_means_no_download() {
    let s = Sources {
        search_path: None,
        releases_url: "http://127.0.0.1:9".into(),
        cache_dir: None,
    };
    let err = locate(None, VERSION, &s, &quiet).await.unwrap_err();
    assert!(matches!(err, IstioctlError::NoCacheDir), "{err:?}");
}
