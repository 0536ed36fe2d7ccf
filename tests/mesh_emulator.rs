//! The mesh of plans/tutorial.toml on the emulator: one root of trust and an
//! intermediate per cluster in `cacerts` (checked with an X.509 parser),
//! Istio's control plane tracked as objects, version changes that prune,
//! re-issue inside the window, and key material that never leaves the
//! secret store.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::World;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use meshform::changeset::{Action, Reason};
use meshform::mesh::ca;

const CLUSTERS: [(&str, &str); 2] = [
    ("europe-west2-a", "istio-cluster1"),
    ("us-central1-a", "istio-cluster2"),
];

async fn secret(w: &World, location: &str, cluster: &str, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(w.kube_admin(location, cluster).await, "istio-system")
        .get_opt(name)
        .await
        .unwrap()
}

fn text(secret: &Secret, key: &str) -> String {
    let data = secret.data.as_ref().expect("data");
    String::from_utf8(data[key].0.clone()).unwrap()
}

/// Every cluster's `cacerts` chains, cryptographically, to one root through a
/// path-length-0 intermediate of its own; istiod never made its own CA.
async fn assert_one_root_of_trust(w: &World) -> Vec<String> {
    let mut roots = Vec::new();
    let mut intermediates = Vec::new();
    for (location, cluster) in CLUSTERS {
        let s = secret(w, location, cluster, "cacerts")
            .await
            .unwrap_or_else(|| panic!("no cacerts in {cluster}"));
        let (inter, root, chain) = (
            text(&s, "ca-cert.pem"),
            text(&s, "root-cert.pem"),
            text(&s, "cert-chain.pem"),
        );
        let key = meshform::resource::Material(s.data.as_ref().unwrap()["ca-key.pem"].0.clone());
        ca::verify_chain(&inter, &root, SystemTime::now()).unwrap();
        let info = ca::inspect(&inter).unwrap();
        assert!(info.is_ca && info.signs_certificates, "{info:?}");
        assert_eq!(info.path_len, Some(0), "{cluster}'s intermediate");
        assert_eq!(
            info.subject,
            format!("O=Istio, CN=Intermediate CA, L={cluster}")
        );
        assert!(
            ca::key_matches(&inter, &key).unwrap(),
            "ca-key.pem is ca-cert.pem's key"
        );
        assert_eq!(
            chain,
            format!("{inter}{root}"),
            "cert-chain.pem = intermediate, then root"
        );
        assert!(
            secret(w, location, cluster, "istio-ca-secret")
                .await
                .is_none(),
            "istiod in {cluster} started before cacerts and made its own CA"
        );
        roots.push(ca::fingerprint(&root).unwrap());
        intermediates.push(info.fingerprint);
    }
    assert_eq!(roots[0], roots[1], "both clusters trust the same root");
    assert_ne!(
        intermediates[0], intermediates[1],
        "one intermediate per cluster"
    );
    intermediates
}

/// The PEM body lines of every private key in the secret store beside the
/// state, and the reader tokens it also keeps: what must never appear
/// anywhere else.
fn key_fragments(state: &Path) -> Vec<String> {
    let dir = state.with_file_name("state.json.secrets");
    let mut out = Vec::new();
    let mut keys = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains("PRIVATE KEY") {
                keys += 1;
                out.extend(
                    text.lines()
                        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
                        .take(3)
                        .map(str::to_string),
                );
            } else {
                // A service-account token (a JWT: three base64url parts).
                assert!(
                    text.starts_with("eyJ") && text.split('.').count() == 3,
                    "{} holds neither a key nor a token",
                    path.display()
                );
                out.push(text.trim().to_string());
            }
        }
    }
    assert!(keys > 0, "the store holds the CA keys");
    out
}

fn assert_no_key_in(what: &str, text: &str, fragments: &[String]) {
    assert!(!text.contains("PRIVATE KEY"), "{what} shows a private key");
    for f in fragments {
        assert!(
            !text.contains(f.as_str()),
            "{what} contains a key or a token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mesh_applies_with_one_root_and_replans_empty() {
    let w = World::new("tutorial.toml").await;
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    for shown in [
        "+ root_ca.root",
        "+ intermediate_ca.europe-west2",
        "+ cacerts.us-central1",
        "+ istio.europe-west2",
        "emulated istioctl 1.31.1 (built-in stand-in, no download)",
        "# EMULATION: a representative control plane",
        "if issued now",
        "17 objects: 1 ClusterRole, 1 ClusterRoleBinding, 2 ConfigMap, 6 CustomResourceDefinition, 1 Deployment",
    ] {
        assert!(plan.contains(shown), "plan lacks {shown:?}\n{plan}");
    }
    let out = w.run(&["apply", "--auto-approve"]).await.expect(0).stdout();
    assert!(
        out.contains("istio.us-central1: waiting for Deployment istiod to be Available"),
        "{out}"
    );
    assert!(out.contains("Apply complete! Resources: 32 added"), "{out}");
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    assert_one_root_of_trust(&w).await;

    // Key files are private, and state holds only digests.
    let store = w.state().with_file_name("state.json.secrets");
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&store), 0o700);
    for entry in std::fs::read_dir(&store).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    let fragments = key_fragments(&w.state());
    let state = std::fs::read_to_string(w.state()).unwrap();
    assert_no_key_in("state", &state, &fragments);
    assert!(
        state.contains("\"sensitive\": \"sha256:"),
        "state refers to keys by digest"
    );

    // Destroy leaves no key file, no rendered object and no CA entry.
    w.run(&["destroy", "--auto-approve"]).await.expect(0);
    assert!(!store.exists(), "destroy left the secret store behind");
    assert!(!w.state().with_file_name("state.json.objects").exists());
    assert!(w.state_list().await.is_empty());
}

/// The negative control of the ordering check above: an istiod that starts
/// without `cacerts` makes `istio-ca-secret` and keeps it, which the check
/// would see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istiod_started_without_cacerts_is_caught_by_its_own_ca() {
    use kube::api::{Patch, PatchParams};
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let (location, cluster) = CLUSTERS[0];
    let c = w.kube_admin(location, cluster).await;
    Api::<Secret>::namespaced(c.clone(), "istio-system")
        .delete("cacerts", &Default::default())
        .await
        .unwrap();
    // `kubectl rollout restart deployment/istiod`: istiod starts again, now
    // without cacerts.
    let restart = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-30T00:00:00Z"}}}}});
    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(c, "istio-system")
        .patch("istiod", &PatchParams::default(), &Patch::Merge(&restart))
        .await
        .unwrap();
    let mut own_ca = None;
    for _ in 0..100 {
        own_ca = secret(&w, location, cluster, "istio-ca-secret").await;
        if own_ca.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let own_ca = own_ca.expect("istiod without cacerts makes istio-ca-secret");
    let own_root = text(&own_ca, "ca-cert.pem");
    assert_eq!(ca::inspect(&own_root).unwrap().subject, "O=cluster.local");

    // meshform puts cacerts back, but istiod keeps its own CA: the mesh is
    // split, and the check of the first test fails on it.
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(
        plan.contains("cacerts.europe-west2 will be created (deleted outside meshform)"),
        "{plan}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(secret(&w, location, cluster, "cacerts").await.is_some());
    assert!(secret(&w, location, cluster, "istio-ca-secret")
        .await
        .is_some());
    let check = tokio::spawn(async move {
        assert_one_root_of_trust(&w).await;
    });
    let failure = check
        .await
        .expect_err("the ordering check sees istio-ca-secret");
    let message = failure.into_panic();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("started before cacerts"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_change_shows_the_object_diff_and_prunes() {
    let w = World::new("tutorial.toml").await;
    w.edit_plan("istio_version = \"1.31.1\"", "istio_version = \"1.30.5\"");
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let validator = "istiod-default-validator";
    let webhooks = |c: kube::Client| {
        Api::<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration>::all(c)
    };
    let (location, cluster) = CLUSTERS[1];
    assert!(webhooks(w.kube_admin(location, cluster).await)
        .get_opt(validator)
        .await
        .unwrap()
        .is_some());

    w.edit_plan("istio_version = \"1.30.5\"", "istio_version = \"1.31.1\"");
    let plan = w.run(&["plan"]).await.expect(0).stdout();
    assert!(plan.contains("~ istio.us-central1"), "{plan}");
    assert!(
        plan.contains(
            "- \"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration//istiod-default-validator\""
        ),
        "{plan}"
    );
    assert!(
        plan.contains("~ \"apps/v1/Deployment/istio-system/istiod\""),
        "{plan}"
    );
    assert!(
        plan.contains("~ \"version\" = \"1.30.5\" -> \"1.31.1\""),
        "{plan}"
    );
    // Only the control planes and the gateways change: not the CAs, not cacerts.
    assert!(plan.contains("~ eastwest_gateway.us-central1"), "{plan}");
    assert!(
        plan.contains("Plan: 0 to add, 4 to change, 0 to destroy."),
        "{plan}"
    );
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    assert!(webhooks(w.kube_admin(location, cluster).await)
        .get_opt(validator)
        .await
        .unwrap()
        .is_none());
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

/// An intermediate inside its re-issue window is re-issued on the next
/// plan: a new key and certificate from the same root, and an update of
/// `cacerts` only (istiod reloads it by itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_inside_the_window_is_reissued_and_only_cacerts_follows() {
    use meshform::ops::{self, PlanInputs, TargetChoice, Workspace};
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let before = assert_one_root_of_trust(&w).await;

    let (plan, desired, _) = ops::load_desired(&w.plan).unwrap();
    let mut ws = Workspace::open(
        &w.state(),
        None,
        "apply",
        Duration::ZERO,
        |_| {},
        &plan.project,
        &TargetChoice::Url(w.emulator.url()),
        true,
    )
    .await
    .unwrap();
    let generator = meshform::mesh::Generator::Emulated {
        version: "1.31.1".into(),
    };
    // 3630 days on: the 3650-day intermediates are 20 days from expiry.
    let later = PlanInputs {
        now: SystemTime::now() + Duration::from_secs(3630 * 86_400),
        generator: Some(generator),
        rotate_root: false,
    };
    let set = ops::plan(&ws, &w.plan, &plan, &desired, 4, later)
        .await
        .unwrap();
    let acting: Vec<(String, Action)> = set
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        acting,
        [
            ("intermediate_ca.europe-west2".to_string(), Action::Update),
            ("cacerts.europe-west2".to_string(), Action::Update),
            ("intermediate_ca.us-central1".to_string(), Action::Update),
            ("cacerts.us-central1".to_string(), Action::Update),
        ]
    );
    let reissue = &set
        .changes
        .iter()
        .find(|c| c.address.to_string() == "intermediate_ca.europe-west2")
        .unwrap();
    match &reissue.reason {
        Some(Reason::Renewal { why }) => {
            assert!(why.contains("within the 30-day re-issue window"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let text = meshform::render::render_text(&set);
    assert!(text.contains("re-issued: expires"), "{text}");
    let report = ops::apply(
        &mut ws,
        &set,
        &meshform::exec::WalkOptions::new(4, Duration::from_secs(3600)),
        |_| {},
    )
    .await
    .unwrap();
    assert!(!report.failed(), "{:?}", report.results);
    ws.close().await;

    let after = assert_one_root_of_trust(&w).await;
    assert_ne!(before[0], after[0], "europe-west2's intermediate is new");
    assert_ne!(before[1], after[1], "us-central1's intermediate is new");
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
}

/// The CA keys never reach plan or apply output, verbose logs, saved plans,
/// `show`, `state show`, state, its backup, or a failing apply's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_keys_never_leave_the_secret_store() {
    let w = World::new("tutorial.toml").await;
    // The planted secret: a root the user brings, whose key is known here.
    let planted =
        ca::issue_root(meshform::plan::KeyType::EcdsaP256, 3700, SystemTime::now()).unwrap();
    let user_files = w.dir.path().join("offline-ca");
    std::fs::create_dir(&user_files).unwrap();
    std::fs::write(user_files.join("root-cert.pem"), &planted.cert_pem).unwrap();
    std::fs::write(user_files.join("root-key.pem"), &planted.key.0).unwrap();
    w.edit_plan(
        "reissue_window_days = 30",
        "reissue_window_days = 30\nroot_cert = \"offline-ca/root-cert.pem\"\nroot_key = \"offline-ca/root-key.pem\"",
    );
    let mut seen = Vec::new();
    let mut run = |what: &str, r: common::Run| {
        seen.push((what.to_string(), format!("{}\n{}", r.stdout(), r.stderr())));
    };
    let verbose = |args: &[&str]| {
        let mut c = w.command(args);
        c.arg(w.plan.to_str().unwrap()).env("MESHFORM_LOG", "debug");
        c
    };
    run(
        "apply",
        common::Run(
            verbose(&["apply", "--auto-approve"])
                .output()
                .await
                .unwrap(),
        )
        .expect(0),
    );
    let saved = w.dir.path().join("saved.json");
    run(
        "plan --out",
        common::Run(
            verbose(&["plan", "--out", saved.to_str().unwrap()])
                .output()
                .await
                .unwrap(),
        ),
    );
    let show = |args: Vec<String>| async move {
        let out = tokio::process::Command::new(common::meshform_bin())
            .args(&args)
            .output()
            .await
            .unwrap();
        common::Run(out)
    };
    run(
        "show saved",
        show(vec!["show".into(), saved.display().to_string()]).await,
    );
    run(
        "show --json saved",
        show(vec![
            "show".into(),
            "--json".into(),
            saved.display().to_string(),
        ])
        .await,
    );
    for address in [
        "cacerts.europe-west2",
        "intermediate_ca.us-central1",
        "root_ca.root",
    ] {
        let r = show(vec![
            "state".into(),
            "show".into(),
            address.into(),
            "--state".into(),
            w.state().display().to_string(),
        ])
        .await
        .expect(0);
        run(address, r);
    }
    // A failing apply: the intermediates must be re-issued, but the root's
    // key material is gone from the store.
    w.edit_plan(
        "intermediate_validity_days = 3650",
        "intermediate_validity_days = 3000",
    );
    let store = w.state().with_file_name("state.json.secrets");
    let root: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.join("entries/root.json")).unwrap())
            .unwrap();
    let root_key = root["key"]["sensitive"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let root_key_pem = std::fs::read(store.join(&root_key)).unwrap();
    std::fs::remove_file(store.join(&root_key)).unwrap();
    let failed = common::Run(
        verbose(&["apply", "--auto-approve"])
            .output()
            .await
            .unwrap(),
    );
    assert_ne!(failed.code(), 0);
    assert!(
        failed.stderr().contains("has no value (sensitive, sha256:"),
        "{}",
        failed.stderr()
    );
    std::fs::write(store.join(&root_key), root_key_pem).unwrap();
    run("failing apply", failed);

    let mut fragments = key_fragments(&w.state());
    let planted_key = String::from_utf8(planted.key.0.clone()).unwrap();
    let planted_lines: Vec<String> = planted_key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_string)
        .collect();
    assert!(!planted_lines.is_empty());
    fragments.extend(planted_lines);
    let apply_log = &seen[0].1;
    assert!(
        apply_log.contains("DEBUG"),
        "the verbose apply logged at debug level"
    );
    for (what, text) in &seen {
        assert_no_key_in(what, text, &fragments);
    }
    // Every file under the state's folder but the secret store, the user's
    // own CA files and the emulated cloud (whose clusters hold `cacerts`).
    let store = w.state().with_file_name("state.json.secrets");
    let mut files = 0;
    let mut dirs = vec![w.dir.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == store || path == user_files || path == w.dir.path().join("emulator") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                files += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert_no_key_in(&path.display().to_string(), &text, &fragments);
            }
        }
    }
    assert!(
        files >= 4,
        "state, backup, saved plan and rendered objects were read"
    );
    assert!(saved.exists());
    let saved_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(w.dir.path().join("saved.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(saved_mode, 0o600);
}

/// The root is never replaced silently: a changed root, or a root whose
/// entry vanished from the secret store, makes plan refuse and explain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_lost_root_is_refused_with_the_phases_explained() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    w.edit_plan("key_type = \"rsa-4096\"", "key_type = \"ecdsa-p256\"");
    let refused = w.run(&["plan"]).await;
    assert_ne!(refused.code(), 0);
    let err = refused.stderr();
    assert!(
        err.contains("the mesh's root CA in [mesh.ca] differs from root root in state"),
        "{err}"
    );
    assert!(
        err.contains("run `meshform apply --rotate-root` once per phase"),
        "{err}"
    );
    assert!(
        err.contains("1. both roots in every cluster's trust bundle"),
        "{err}"
    );
    assert!(err.contains("3. the old root removed"), "{err}");
    w.edit_plan("key_type = \"ecdsa-p256\"", "key_type = \"rsa-4096\"");
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);

    let entry = w
        .state()
        .with_file_name("state.json.secrets")
        .join("entries/root.json");
    std::fs::remove_file(entry).unwrap();
    let refused = w.run(&["apply", "--auto-approve"]).await;
    assert_ne!(refused.code(), 0);
    assert!(
        refused
            .stderr()
            .contains("root_ca.root would be replaced (deleted outside meshform)"),
        "{}",
        refused.stderr()
    );
    assert_one_root_of_trust(&w).await;
}

/// Every cluster's chain verifies against the trust bundle of every cluster
/// (so workloads of any two clusters trust each other); returns each
/// cluster's bundle size and the subject of the root that signed its
/// intermediate.
async fn assert_mutual_trust(w: &World) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (location, cluster) in CLUSTERS {
        let s = secret(w, location, cluster, "cacerts").await.unwrap();
        found.push((
            text(&s, "ca-cert.pem"),
            text(&s, "root-cert.pem"),
            text(&s, "cert-chain.pem"),
        ));
    }
    let mut out = Vec::new();
    for (inter, _, chain) in &found {
        for (_, bundle, _) in &found {
            ca::verify_chain(inter, bundle, SystemTime::now()).unwrap();
        }
        let signer = &ca::pem_certificates(chain)[1];
        let signer_pem = ::pem::encode(&::pem::Pem::new("CERTIFICATE", signer.clone()));
        ca::verify_chain(inter, &signer_pem, SystemTime::now()).unwrap();
        out.push((
            ca::pem_certificates(&found[0].1).len(),
            ca::fingerprint(&signer_pem).unwrap(),
        ));
    }
    out
}

/// `meshform apply --rotate-root`, which must succeed: its output.
async fn rotate(w: &World) -> String {
    w.run(&["apply", "--auto-approve", "--rotate-root"])
        .await
        .expect(0)
        .stdout()
}

/// A root rotation goes through the three phases, one `apply --rotate-root`
/// each; between phases every cluster's chain verifies against a root every
/// other cluster trusts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_rotates_in_three_phases_with_trust_kept_at_each() {
    let w = World::new("tutorial.toml").await;
    w.run(&["apply", "--auto-approve"]).await.expect(0);
    let start = assert_mutual_trust(&w).await;
    assert_eq!(start[0].0, 1, "one root trusted");
    let old_root = start[0].1.clone();

    w.edit_plan("root_validity_days = 3650", "root_validity_days = 4000");
    let refused = w.run(&["plan"]).await;
    assert_ne!(refused.code(), 0, "{}", refused.stdout());

    // Phase 1: a second root, trusted everywhere; intermediates unchanged.
    let plan = w.run(&["plan", "--rotate-root"]).await.expect(0).stdout();
    assert!(plan.contains("Note: root rotation, phase 1 of 3"), "{plan}");
    assert!(plan.contains("+ root_ca.root-2"), "{plan}");
    assert!(
        !plan.contains("intermediate_ca.europe-west2 will be"),
        "{plan}"
    );
    let out = rotate(&w).await;
    assert!(out.contains("Root rotation: phase 1 of 3 done"), "{out}");
    let p1 = assert_mutual_trust(&w).await;
    assert!(
        p1.iter().all(|(n, signer)| *n == 2 && signer == &old_root),
        "{p1:?}"
    );
    let plan = w
        .run(&["plan", "--detailed-exitcode"])
        .await
        .expect(0)
        .stdout();
    assert!(
        plan.contains("Note: root rotation: phase 1 of 3 is done"),
        "{plan}"
    );

    // Phase 2: intermediates re-issued from the new root, both still trusted.
    let out = rotate(&w).await;
    assert!(
        out.contains("intermediate_ca.europe-west2: Modifications complete"),
        "{out}"
    );
    assert!(out.contains("Root rotation: phase 2 of 3 done"), "{out}");
    let p2 = assert_mutual_trust(&w).await;
    let new_root = p2[0].1.clone();
    assert_ne!(new_root, old_root);
    assert!(
        p2.iter().all(|(n, signer)| *n == 2 && signer == &new_root),
        "{p2:?}"
    );

    // Phase 3: the old root leaves every bundle and the secret store.
    let out = rotate(&w).await;
    assert!(out.contains("root_ca.root: Destruction complete"), "{out}");
    assert!(out.contains("Root rotation: done."), "{out}");
    let p3 = assert_mutual_trust(&w).await;
    assert!(
        p3.iter().all(|(n, signer)| *n == 1 && signer == &new_root),
        "{p3:?}"
    );
    let entries = w
        .state()
        .with_file_name("state.json.secrets")
        .join("entries");
    assert!(!entries.join("root.json").exists());
    assert!(entries.join("root-2.json").exists());
    w.run(&["plan", "--detailed-exitcode"]).await.expect(0);
    w.run(&["plan", "--detailed-exitcode", "--rotate-root"])
        .await
        .expect(0);
}
