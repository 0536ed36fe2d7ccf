//! `[samples]` in `verify`: whether each cluster runs them (the namespace
//! labelled for injection, `sleep` and `httpbin` Available, the cluster's
//! own `httpbin-<cluster>` Service), and `verify --traffic`: a request from
//! every cluster's `sleep` to every other cluster's httpbin by its
//! cross-cluster name. On the real cloud the request runs in the `sleep`
//! pod (`curl`, through the Kubernetes exec API); on the emulator no real
//! traffic flows, and the verdict is modelled from the checks the request
//! depends on.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, AttachParams, ListParams};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::checks::{Check, Outcome};
use crate::cloud::Cloud;
use crate::kinds::samples::cluster_service;
use crate::kube::manifest::rolled_out;

/// The port httpbin's Services serve.
pub const HTTPBIN_PORT: u16 = 8000;

/// What the plan says about the samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplesSettings {
    /// Their namespace.
    pub namespace: String,
    /// The label that asks for sidecar injection: `(key, value)`.
    pub injection: (String, String),
}

/// The samples in one cluster, as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamplesFacts {
    /// The namespace's injection label value; `None` without the namespace.
    pub namespace_label: Option<Option<String>>,
    /// `sleep` is Available.
    pub sleep: bool,
    /// `httpbin` is Available.
    pub httpbin: bool,
    /// The cluster's own `httpbin-<cluster>` Service exists.
    pub own_service: bool,
}

/// Reads the samples of the cluster named `mesh_name` with `client`.
///
/// # Errors
/// The Kubernetes API fails.
pub async fn read(
    client: &kube::Client,
    settings: &SamplesSettings,
    mesh_name: &str,
) -> Result<SamplesFacts, kube::Error> {
    let ns = &settings.namespace;
    let namespace = Api::<Namespace>::all(client.clone()).get_opt(ns).await?;
    let namespace_label = namespace.map(|n| {
        n.metadata
            .labels
            .unwrap_or_default()
            .get(&settings.injection.0)
            .cloned()
    });
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let available = |d: Option<Deployment>| {
        let value = d.map(|d| serde_json::to_value(d).unwrap_or_default());
        rolled_out(value.as_ref())
    };
    let sleep = available(deployments.get_opt("sleep").await?);
    let httpbin = available(deployments.get_opt("httpbin").await?);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let own_service = services
        .get_opt(&cluster_service(mesh_name))
        .await?
        .is_some();
    Ok(SamplesFacts {
        namespace_label,
        sleep,
        httpbin,
        own_service,
    })
}

/// Whether the samples run in a cluster, and why not.
pub fn check(
    settings: &SamplesSettings,
    mesh_name: &str,
    f: &SamplesFacts,
) -> Result<String, String> {
    let ns = &settings.namespace;
    let (key, value) = &settings.injection;
    match &f.namespace_label {
        None => return Err(format!("no namespace {ns}; run `meshform apply`")),
        Some(v) if v.as_deref() != Some(value.as_str()) => {
            return Err(format!(
                "namespace {ns} is not labelled {key}={value}, so its pods get no sidecar; run `meshform apply`"
            ))
        }
        Some(_) => {}
    }
    let missing: Vec<&str> = [("sleep", f.sleep), ("httpbin", f.httpbin)]
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Deployment {} in {ns} is not Available; see `kubectl -n {ns} get pods`",
            missing.join(" and ")
        ));
    }
    let own = cluster_service(mesh_name);
    if !f.own_service {
        return Err(format!("no Service {own} in {ns}; run `meshform apply`"));
    }
    Ok(format!(
        "sleep and httpbin Available in {ns} ({key}={value}); {own} names this httpbin"
    ))
}

/// The URL every other cluster calls the httpbin of `mesh_name` by.
pub fn url(namespace: &str, mesh_name: &str) -> String {
    format!(
        "http://{}.{namespace}.svc.cluster.local:{HTTPBIN_PORT}/status/200",
        cluster_service(mesh_name)
    )
}

/// One request of `verify --traffic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The calling cluster.
    pub from: String,
    /// The called cluster.
    pub to: String,
    /// The URL called.
    pub url: String,
    /// The HTTP status (`000` when no answer came), or `modelled 200`.
    pub status: String,
    /// Whether it succeeded (or would).
    pub ok: bool,
    /// What happened, or what the model rests on.
    pub note: String,
}

impl Request {
    /// The request as a check of the report.
    pub fn check(&self) -> Check {
        Check {
            subject: format!("{} -> {}", self.from, self.to),
            check: "traffic",
            result: if self.ok {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            why: format!("{} {}: {}", self.url, self.status, self.note),
        }
    }
}

/// The checks a request from `from` to `to` rests on, by subject and name:
/// both ends' samples, control planes and trust, `from`'s knowledge of
/// `to` (remote secret, its control plane reachable) and the path to `to`'s
/// gateway.
fn prerequisites<'a>(from: &'a str, to: &'a str) -> Vec<(String, &'static str)> {
    let pair = format!("{from} -> {to}");
    let mut out = Vec::new();
    for end in [from, to] {
        for check in ["istiod", "cacerts chain", "samples"] {
            out.push((end.to_string(), check));
        }
    }
    for check in ["remote secret", "path to control plane", "path to gateway"] {
        out.push((pair.clone(), check));
    }
    out
}

/// The modelled outcome of a request from `from` to `to`: it would succeed
/// when every check it rests on passed.
pub fn modelled(checks: &[Check], from: &str, to: &str, url: String) -> Request {
    let failed: Vec<String> = prerequisites(from, to)
        .into_iter()
        .filter_map(|(subject, name)| {
            let found = checks
                .iter()
                .find(|c| c.subject == subject && c.check == name);
            match found {
                Some(c) if c.result == Outcome::Pass => None,
                Some(_) => Some(format!("{name} of {subject} failed")),
                None => Some(format!("{name} of {subject} was not checked")),
            }
        })
        .collect();
    let ok = failed.is_empty();
    Request {
        from: from.to_string(),
        to: to.to_string(),
        url,
        status: if ok {
            "modelled 200"
        } else {
            "modelled failure"
        }
        .into(),
        ok,
        note: if ok {
            "no real traffic on the emulator; every check the request rests on passed".into()
        } else {
            format!("no real traffic on the emulator; {}", failed.join(", "))
        },
    }
}

/// Runs `curl` for `url` in the `sleep` pod of the cluster `client` reaches
/// and returns the HTTP status it printed.
///
/// # Errors
/// No running `sleep` pod, or the exec fails.
pub async fn curl(client: &kube::Client, namespace: &str, url: &str) -> Result<String, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels("app=sleep"))
        .await
        .map_err(|e| e.to_string())?;
    let pod = list
        .items
        .iter()
        .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| format!("no running sleep pod in {namespace}"))?;
    let command = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
        url,
    ];
    let params = AttachParams::default()
        .container("sleep")
        .stdout(true)
        .stderr(false);
    let mut attached = pods
        .exec(&pod, command, &params)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    if let Some(mut stdout) = attached.stdout() {
        stdout
            .read_to_string(&mut out)
            .await
            .map_err(|e| e.to_string())?;
    }
    attached.join().await.map_err(|e| e.to_string())?;
    Ok(out.trim().to_string())
}

/// Where a request goes: the calling cluster's location and name, the
/// called cluster's name, and the URL.
pub struct Call<'a> {
    /// The calling cluster's location.
    pub location: &'a str,
    /// The calling cluster's name.
    pub from: &'a str,
    /// The called cluster's name.
    pub to: &'a str,
    /// The samples' namespace.
    pub namespace: &'a str,
    /// The URL.
    pub url: String,
}

/// A real request from the calling cluster's sleep pod.
pub async fn request(cloud: &Cloud, call: Call<'_>) -> Request {
    let Call {
        location,
        from,
        to,
        namespace,
        url,
    } = call;
    let answer = match cloud.kube.connected(location, from).await {
        Ok(c) => curl(&c.client, namespace, &url).await,
        Err(e) => Err(e.to_string()),
    };
    let (status, ok, note) = match answer {
        Ok(code) if code == "200" => (code, true, "answered through the mesh".to_string()),
        Ok(code) => (
            code.clone(),
            false,
            "see the checks above; `kubectl -n istio-system logs deploy/istio-eastwestgateway` on the called side".to_string(),
        ),
        Err(e) => ("000".into(), false, e),
    };
    Request {
        from: from.to_string(),
        to: to.to_string(),
        url,
        status,
        ok,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SamplesSettings {
        SamplesSettings {
            namespace: "sample".into(),
            injection: ("istio-injection".into(), "enabled".into()),
        }
    }

    fn running() -> SamplesFacts {
        SamplesFacts {
            namespace_label: Some(Some("enabled".into())),
            sleep: true,
            httpbin: true,
            own_service: true,
        }
    }

    #[test]
    fn samples_pass_only_injected_available_and_named() {
        assert!(check(&settings(), "c1", &running()).is_ok());
        let unlabelled = SamplesFacts {
            namespace_label: Some(None),
            ..running()
        };
        assert!(check(&settings(), "c1", &unlabelled)
            .unwrap_err()
            .contains("not labelled istio-injection=enabled"));
        let no_httpbin = SamplesFacts {
            httpbin: false,
            ..running()
        };
        assert!(check(&settings(), "c1", &no_httpbin)
            .unwrap_err()
            .contains("Deployment httpbin in sample is not Available"));
        let unnamed = SamplesFacts {
            own_service: false,
            ..running()
        };
        assert!(check(&settings(), "c1", &unnamed)
            .unwrap_err()
            .contains("no Service httpbin-c1"));
    }

    fn passing(subject: &str, check: &'static str) -> Check {
        Check {
            subject: subject.into(),
            check,
            result: Outcome::Pass,
            why: String::new(),
        }
    }

    #[test]
    fn the_modelled_request_succeeds_only_when_everything_it_rests_on_passed() {
        let mut checks: Vec<Check> = prerequisites("a", "b")
            .into_iter()
            .map(|(s, c)| passing(&s, c))
            .collect();
        let r = modelled(&checks, "a", "b", url("sample", "b"));
        assert!(r.ok, "{r:?}");
        assert_eq!(r.status, "modelled 200");
        assert_eq!(
            r.url,
            "http://httpbin-b.sample.svc.cluster.local:8000/status/200"
        );
        let gateway = checks
            .iter_mut()
            .find(|c| c.check == "path to gateway")
            .unwrap();
        gateway.result = Outcome::Fail;
        let r = modelled(&checks, "a", "b", url("sample", "b"));
        assert!(!r.ok);
        assert!(
            r.note.contains("path to gateway of a -> b failed"),
            "{}",
            r.note
        );
        assert_eq!(r.check().result, Outcome::Fail);
    }
}
