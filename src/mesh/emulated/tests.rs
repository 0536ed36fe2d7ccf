//! The stand-in's output as a whole: a stream that parses back, the same
//! bytes every time, the overlay's values where Istio puts them, revision
//! names, and the difference between the lines.

use serde_json::Value;

use super::*;

fn overlay(version: &str, revision: Option<&str>) -> String {
    let revision = revision.map_or(String::new(), |r| format!("  revision: {r}\n"));
    format!(
        "apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: control-plane
  annotations:
    {VERSION_ANNOTATION}: \"{version}\"
spec:
{revision}  hub: gcr.io/istio-release
  meshConfig:
    trustDomain: example.org
    defaultConfig:
      proxyMetadata:
        ISTIO_META_DNS_CAPTURE: \"true\"
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: istio-cluster1
      network: network-europe-west2
"
    )
}

fn objects(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(yaml).expect("the stream parses back")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn names(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn the_stream_parses_back_and_is_the_same_every_time() {
    let first = manifest_generate(&overlay("1.31.1", None)).unwrap();
    assert_eq!(first, manifest_generate(&overlay("1.31.1", None)).unwrap());
    let objects = objects(&first);
    let rendered = render(&overlay::Overlay::parse(&overlay("1.31.1", None)).unwrap()).unwrap();
    assert_eq!(objects, rendered, "every value survives the YAML stream");
    if std::env::var_os("PRINT_MANIFEST").is_some() {
        println!("{first}");
    }
    assert_eq!(
        names(&objects),
        [
            "CustomResourceDefinition destinationrules.networking.istio.io",
            "CustomResourceDefinition gateways.networking.istio.io",
            "CustomResourceDefinition serviceentries.networking.istio.io",
            "CustomResourceDefinition virtualservices.networking.istio.io",
            "CustomResourceDefinition authorizationpolicies.security.istio.io",
            "CustomResourceDefinition peerauthentications.security.istio.io",
            "ClusterRole istiod-clusterrole-istio-system",
            "ClusterRoleBinding istiod-clusterrole-istio-system",
            "ServiceAccount istiod",
            "Role istiod",
            "RoleBinding istiod",
            "ConfigMap istio",
            "ConfigMap istio-sidecar-injector",
            "Service istiod",
            "Deployment istiod",
            "MutatingWebhookConfiguration istio-sidecar-injector",
            "ValidatingWebhookConfiguration istio-validator-istio-system",
        ]
    );
    for o in &objects {
        let m = &o["metadata"];
        assert_eq!(m["labels"][EMULATED_LABEL], "true", "{m}");
        assert_eq!(
            m["labels"]["install.operator.istio.io/owning-resource"],
            "control-plane"
        );
        assert_eq!(m["annotations"][VERSION_ANNOTATION], "1.31.1");
    }
}

#[test]
fn crds_serve_every_version_and_store_v1() {
    let objects = objects(&manifest_generate(&overlay("1.31.1", None)).unwrap());
    let gw = find(
        &objects,
        "CustomResourceDefinition",
        "gateways.networking.istio.io",
    );
    let versions: Vec<(&str, bool, bool)> = gw["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["served"].as_bool().unwrap(),
                v["storage"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("v1", true, true),
            ("v1alpha3", true, false),
            ("v1beta1", true, false)
        ]
    );
    let schema = &gw["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    let pa = find(
        &objects,
        "CustomResourceDefinition",
        "peerauthentications.security.istio.io",
    );
    assert_eq!(pa["spec"]["group"], "security.istio.io");
    assert_eq!(pa["spec"]["names"]["shortNames"][0], "pa");
}

#[test]
fn the_overlay_values_appear_where_istio_puts_them() {
    let objects = objects(&manifest_generate(&overlay("1.31.1", None)).unwrap());
    let d = find(&objects, "Deployment", "istiod");
    assert_eq!(d["metadata"]["namespace"], "istio-system");
    assert_eq!(d["metadata"]["labels"]["app"], "istiod");
    assert_eq!(d["metadata"]["labels"]["istio"], "pilot");
    assert_eq!(d["metadata"]["labels"]["istio.io/rev"], "default");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "gcr.io/istio-release/pilot:1.31.1");
    let env = |name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(env("CLUSTER_ID"), Some("istio-cluster1".into()));
    let cacerts = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "cacerts")
        .unwrap();
    assert_eq!(cacerts["secret"]["secretName"], "cacerts");
    assert_eq!(cacerts["secret"]["optional"], true);
    assert!(c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "cacerts" && m["mountPath"] == "/etc/cacerts"));

    let cm = find(&objects, "ConfigMap", "istio");
    assert_eq!(
        cm["metadata"]["labels"]["topology.istio.io/network"],
        "network-europe-west2"
    );
    assert_eq!(
        cm["metadata"]["labels"]["topology.istio.io/cluster"],
        "istio-cluster1"
    );
    let mesh: Value = serde_saphyr::from_str(cm["data"]["mesh"].as_str().unwrap()).unwrap();
    assert_eq!(mesh["trustDomain"], "example.org");
    assert_eq!(mesh["defaultConfig"]["meshId"], "mesh1");
    assert_eq!(
        mesh["defaultConfig"]["proxyMetadata"]["ISTIO_META_DNS_CAPTURE"],
        "true"
    );
    assert_eq!(cm["data"]["meshNetworks"], "networks: {}\n");

    let injector = find(&objects, "ConfigMap", "istio-sidecar-injector");
    let values: Value = serde_json::from_str(injector["data"]["values"].as_str().unwrap()).unwrap();
    assert_eq!(values["global"]["network"], "network-europe-west2");
    assert_eq!(
        values["global"]["multiCluster"]["clusterName"],
        "istio-cluster1"
    );
    let config = injector["data"]["config"].as_str().unwrap();
    assert!(config.contains("ISTIO_META_CLUSTER_ID"), "{config}");

    let svc = find(&objects, "Service", "istiod");
    let ports: Vec<(i64, &str, i64)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["name"].as_str().unwrap(),
                p["targetPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (15010, "grpc-xds", 15010),
            (15012, "https-dns", 15012),
            (443, "https-webhook", 15017),
            (15014, "http-monitoring", 15014)
        ]
    );
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector",
    );
    for w in mwc["webhooks"].as_array().unwrap() {
        assert_eq!(w["clientConfig"]["service"]["name"], "istiod");
        assert_eq!(w["clientConfig"]["service"]["namespace"], "istio-system");
        assert!(w["clientConfig"].get("caBundle").is_none());
        assert_eq!(w["failurePolicy"], "Fail");
    }
    let vwc = find(
        &objects,
        "ValidatingWebhookConfiguration",
        "istio-validator-istio-system",
    );
    assert_eq!(vwc["webhooks"][0]["failurePolicy"], "Ignore");
    assert!(vwc["webhooks"][0]["clientConfig"].get("caBundle").is_none());
}

#[test]
fn a_revision_names_istiods_objects() {
    let objects = objects(&manifest_generate(&overlay("1.31.1", Some("canary"))).unwrap());
    let names = names(&objects);
    for expected in [
        "Deployment istiod-canary",
        "Service istiod-canary",
        "ServiceAccount istiod-canary",
        "ConfigMap istio-canary",
        "ConfigMap istio-sidecar-injector-canary",
        "ClusterRole istiod-clusterrole-canary-istio-system",
        "MutatingWebhookConfiguration istio-sidecar-injector-canary",
        "ValidatingWebhookConfiguration istio-validator-canary-istio-system",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let d = find(&objects, "Deployment", "istiod-canary");
    assert_eq!(d["metadata"]["labels"]["istio.io/rev"], "canary");
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        serde_json::json!({"app": "istiod", "istio.io/rev": "canary"})
    );
    let mwc = find(
        &objects,
        "MutatingWebhookConfiguration",
        "istio-sidecar-injector-canary",
    );
    assert_eq!(mwc["webhooks"].as_array().unwrap().len(), 2);
    assert_eq!(
        mwc["webhooks"][0]["clientConfig"]["service"]["name"],
        "istiod-canary"
    );
}

#[test]
fn the_1_30_line_renders_one_object_more_and_the_version_sets_the_tag() {
    let old = objects(&manifest_generate(&overlay("1.30.5", None)).unwrap());
    let new = objects(&manifest_generate(&overlay("1.31.1", None)).unwrap());
    let (old_names, new_names) = (names(&old), names(&new));
    let extra: Vec<&String> = old_names
        .iter()
        .filter(|n| !new_names.contains(n))
        .collect();
    assert_eq!(
        extra,
        ["ValidatingWebhookConfiguration istiod-default-validator"]
    );
    assert!(new_names.iter().all(|n| old_names.contains(n)));
    let image = |objects: &[Value]| {
        find(objects, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["image"]
            .clone()
    };
    assert_eq!(image(&old), "gcr.io/istio-release/pilot:1.30.5");
    let patch = objects(&manifest_generate(&overlay("1.31.2", None)).unwrap());
    assert_eq!(names(&patch), new_names);
    assert_eq!(image(&patch), "gcr.io/istio-release/pilot:1.31.2");
}

#[test]
fn unsupported_versions_and_missing_annotations_are_refused() {
    let err = manifest_generate(&overlay("1.29.3", None)).unwrap_err();
    assert!(
        err.to_string().contains("1.30 and 1.31"),
        "names the supported lines: {err}"
    );
    let without = overlay("1.31.1", None).replace(VERSION_ANNOTATION, "other");
    let err = manifest_generate(&without).unwrap_err();
    assert!(err.to_string().contains(VERSION_ANNOTATION), "{err}");
    assert!(manifest_generate("{not yaml").is_err());
}

#[test]
fn the_overlay_renderers_overlay_with_the_version_annotation_is_read_and_the_stream_parses() {
    let values = crate::mesh::ControlPlaneValues::example();
    // The renderer annotates the version itself.
    let annotated = crate::mesh::overlay::render_overlay(&values).unwrap();
    assert!(annotated.contains(VERSION_ANNOTATION), "{annotated}");
    let stream = manifest_generate(&annotated).unwrap();
    let objects =
        crate::mesh::manifest::parse_stream(&stream).expect("the generator's parser reads it");
    let d = find(&objects, "Deployment", "istiod");
    let env = &d["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(env
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "CLUSTER_ID" && e["value"] == values.cluster_name.as_str()));
    let without = annotated.replace(VERSION_ANNOTATION, "meshform.dev/other");
    assert!(
        manifest_generate(&without).is_err(),
        "without the annotation the stand-in refuses: the renderer must add it"
    );
}

#[test]
fn the_east_west_gateway_overlay_renders_only_the_gateway_with_its_load_balancer() {
    let values = crate::mesh::GatewayValues {
        version: "1.31.1".into(),
        revision: None,
        hub: None,
        tag: None,
        network: "network-us-west1".into(),
        global_access: true,
        source_ranges: vec!["10.0.0.0/20".into()],
    };
    let overlay = crate::mesh::gateway::render_gateway_overlay(&values).unwrap();
    let out = objects(&manifest_generate(&overlay).unwrap());
    assert_eq!(
        names(&out),
        [
            "ServiceAccount istio-eastwestgateway",
            "Role istio-eastwestgateway",
            "RoleBinding istio-eastwestgateway",
            "Deployment istio-eastwestgateway",
            "Service istio-eastwestgateway"
        ]
    );
    let service = find(&out, "Service", "istio-eastwestgateway");
    assert_eq!(service["metadata"]["namespace"], "istio-system");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(
        service["spec"]["loadBalancerSourceRanges"][0],
        "10.0.0.0/20"
    );
    assert_eq!(service["spec"]["selector"]["istio"], "eastwestgateway");
    assert_eq!(
        service["metadata"]["annotations"]["networking.gke.io/load-balancer-type"],
        "Internal"
    );
    assert_eq!(
        service["metadata"]["labels"]["topology.istio.io/network"],
        "network-us-west1"
    );
    let deployment = find(&out, "Deployment", "istio-eastwestgateway");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["name"], "ISTIO_META_REQUESTED_NETWORK_VIEW");
    assert_eq!(env["value"], "network-us-west1");
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["inject.istio.io/templates"],
        "gateway"
    );
}
