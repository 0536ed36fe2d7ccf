//! Injected faults, a disabled compute API and a missing project.

use google_cloud_compute_v1::model::operation::Status;
use google_cloud_gax::error::rpc::Code;
use meshform::emulator::{Emulator, EmulatorConfig, FaultConfig};
use serde_json::json;

use crate::common::listen;

use crate::support::*;

#[tokio::test]
async fn faults_are_injected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.faults = FaultConfig {
        seed: 3,
        retryable_rate: 1.0,
        operation_failure_rate: 0.0,
    };
    let emu = Emulator::start(config, listen()).await.expect("start");
    let http = reqwest::Client::new();
    for _ in 0..6 {
        let (status, body) = raw(
            &http,
            reqwest::Method::GET,
            format!(
                "{}/compute/v1/projects/{PROJECT}/global/networks",
                emu.url()
            ),
            None,
        )
        .await;
        assert!(status == 429 || status == 503, "{status}");
        assert!(
            body["error"]["status"] == "RESOURCE_EXHAUSTED"
                || body["error"]["status"] == "UNAVAILABLE"
        );
    }
    let (status, _) = raw(
        &http,
        reqwest::Method::GET,
        format!("{}/_emulator/health", emu.url()),
        None,
    )
    .await;
    assert_eq!(status, 200, "the emulator's own endpoints never fail");
    let (_, counts) = raw(
        &http,
        reqwest::Method::GET,
        format!("{}/_emulator/requests", emu.url()),
        None,
    )
    .await;
    assert_eq!(counts["compute.networks.list"], 6);
    emu.shutdown().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.latency_scale = 0.001;
    config.faults = FaultConfig {
        seed: 3,
        retryable_rate: 0.0,
        operation_failure_rate: 1.0,
    };
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;
    let done = create_network(&c, "vpc").await;
    assert_eq!(done.status, Some(Status::Done));
    assert!(done.error.is_some_and(|e| !e.errors.is_empty()));
    assert_eq!(done.http_error_status_code, Some(503));
    assert!(
        emu.resource_names().is_empty(),
        "a failed operation has no effect"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_disabled_compute_api_and_a_missing_project_answer_like_google() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EmulatorConfig::new(dir.path());
    config.disabled_services = vec!["compute.googleapis.com".into()];
    config.missing_projects = vec!["ghost-project".into()];
    let emu = Emulator::start(config, listen()).await.expect("start");
    let c = clients(&emu.url()).await;

    let err = c
        .networks
        .get()
        .set_project(PROJECT)
        .set_network("vpc")
        .send()
        .await
        .expect_err("the API is disabled");
    let status = err.status().expect("a service error");
    assert_eq!(status.code, Code::PermissionDenied);
    assert!(
        status.message.starts_with(&format!(
            "Compute Engine API has not been used in project {PROJECT} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/compute.googleapis.com/overview?project={PROJECT} then retry."
        )),
        "{}",
        status.message
    );
    let (reason, domain, metadata) = error_info(&err).expect("ErrorInfo");
    assert_eq!(
        (reason.as_str(), domain.as_str()),
        ("SERVICE_DISABLED", "googleapis.com")
    );
    assert_eq!(
        metadata.get("service").map(String::as_str),
        Some("compute.googleapis.com")
    );
    assert_eq!(
        metadata.get("consumer"),
        Some(&format!("projects/{PROJECT}"))
    );

    let (status, body) = raw(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!(
            "{}/compute/v1/projects/{PROJECT}/global/networks",
            emu.url()
        ),
        Some(json!({"name": "vpc"})),
    )
    .await;
    assert_eq!(status, 403);
    let e = &body["error"];
    assert_eq!(e["status"], "PERMISSION_DENIED");
    assert_eq!(e["errors"][0]["reason"], "accessNotConfigured");
    assert_eq!(e["errors"][0]["domain"], "usageLimits");
    assert_eq!(e["errors"][0]["message"], e["message"]);
    assert_eq!(e["details"][0]["reason"], "SERVICE_DISABLED");

    let missing = c
        .networks
        .list()
        .set_project("ghost-project")
        .send()
        .await
        .expect_err("no such project");
    let status = missing.status().expect("a service error");
    assert_eq!(status.code, Code::NotFound);
    assert_eq!(
        status.message,
        "The resource 'projects/ghost-project' was not found"
    );
    assert!(emu.resource_names().is_empty());
    emu.shutdown().await;
}
