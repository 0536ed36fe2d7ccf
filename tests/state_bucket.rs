//! State in a Cloud Storage bucket, against fake-gcs-server on loopback
//! (`STORAGE_EMULATOR_HOST`) and the compute/GKE emulator: apply and
//! re-plan; two operators in different folders on one bucket (the second
//! fails naming the first, waits with `--lock-timeout`, or succeeds after);
//! a holder killed with SIGKILL and `force-unlock`; a write that loses a
//! race; no secret in the bucket or on the disk (they are in Secret
//! Manager, which `destroy` empties); `state migrate` local → bucket →
//! local byte for byte, and finished by a second run after a SIGKILL.

#[macro_use]
mod common;

use std::process::Stdio;
use std::time::Duration;

use common::gcs::FakeGcs;
use meshform::emulator::{Emulator, FaultConfig};

const BUCKET: &str = "team-meshform";
const OBJECT: &str = "envs/tutorial.json";

/// One operator: a folder of their own with the plan file, the shared
/// emulator and bucket.
struct Operator {
    dir: tempfile::TempDir,
    plan: std::path::PathBuf,
}

impl Operator {
    fn new(plan: &str) -> Operator {
        let dir = tempfile::tempdir().unwrap();
        let plan = common::copy_plan(dir.path(), plan);
        Operator { dir, plan }
    }

    fn command(
        &self,
        emulator: &Emulator,
        gcs: &FakeGcs,
        args: &[&str],
    ) -> tokio::process::Command {
        let mut c = self.command_local(emulator, gcs, args);
        c.args(["--state", &format!("gs://{BUCKET}/{OBJECT}")]);
        c
    }

    /// A command on the plan file's default (local) state.
    fn command_local(
        &self,
        emulator: &Emulator,
        gcs: &FakeGcs,
        args: &[&str],
    ) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(common::meshform_bin());
        c.args(args)
            .arg(&self.plan)
            .args(["--emulator-url", &emulator.url()])
            .env("STORAGE_EMULATOR_HOST", &gcs.host)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    async fn run(&self, emulator: &Emulator, gcs: &FakeGcs, args: &[&str]) -> common::Run {
        common::Run(self.command(emulator, gcs, args).output().await.unwrap())
    }

    async fn run_local(&self, emulator: &Emulator, gcs: &FakeGcs, args: &[&str]) -> common::Run {
        common::Run(
            self.command_local(emulator, gcs, args)
                .output()
                .await
                .unwrap(),
        )
    }

    /// `meshform force-unlock ID PLAN --state gs://…`.
    async fn force_unlock(&self, gcs: &FakeGcs, id: &str) -> common::Run {
        let out = tokio::process::Command::new(common::meshform_bin())
            .args(["force-unlock", id])
            .arg(&self.plan)
            .args(["--state", &format!("gs://{BUCKET}/{OBJECT}")])
            .env("STORAGE_EMULATOR_HOST", &gcs.host)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        common::Run(out)
    }
}

async fn setup(plan: &str) -> (tempfile::TempDir, Emulator, FakeGcs, Operator) {
    setup_with(plan, 0.002).await
}

async fn setup_with(
    plan: &str,
    latency_scale: f64,
) -> (tempfile::TempDir, Emulator, FakeGcs, Operator) {
    let world = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(
        common::config(world.path(), latency_scale, FaultConfig::default()),
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let gcs = FakeGcs::start().await;
    gcs.bucket(BUCKET, true).await;
    (world, emulator, gcs, Operator::new(plan))
}

/// The names of the secrets in the emulator's Secret Manager, read with
/// Google's client.
async fn secrets_in(emulator: &Emulator) -> Vec<String> {
    use google_cloud_gax::paginator::ItemPaginator;
    let client = official_client!(
        google_cloud_secretmanager_v1::client::SecretManagerService,
        emulator.url()
    );
    let mut items = client
        .list_secrets()
        .set_parent("projects/meshform-demo")
        .by_item();
    let mut names = Vec::new();
    while let Some(secret) = items.next().await {
        names.push(secret.unwrap().name);
    }
    names
}

/// Every file under `dir`, by its path inside, with its bytes.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Waits until the lock object exists (a command holds the lock).
async fn until_locked(gcs: &FakeGcs) {
    for _ in 0..500 {
        if gcs.get(BUCKET, &format!("{OBJECT}.lock")).await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the lock object never appeared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_and_replan_with_state_in_a_bucket_and_no_secret_in_it() {
    let (_world, emulator, gcs, op) = setup("tutorial.toml").await;
    let out = op
        .run(&emulator, &gcs, &["apply", "--auto-approve"])
        .await
        .expect(0);
    assert!(
        out.stdout().contains("Apply complete! Resources: 32 added"),
        "{}",
        out.stdout()
    );

    // The state is the object; the lock is gone.
    let (text, generation) = gcs.get(BUCKET, OBJECT).await.expect("state object");
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["resources"].as_array().unwrap().len(), 32);
    assert!(generation > 0);
    assert_eq!(gcs.get(BUCKET, &format!("{OBJECT}.lock")).await, None);
    assert!(!op.dir.path().join("state/tutorial.json").exists());

    // No private key, token or kubeconfig in any object or version.
    for name in gcs.list(BUCKET).await {
        let (body, _) = gcs.get(BUCKET, &name).await.unwrap_or_default();
        for secret in [
            "PRIVATE KEY",
            "eyJ",
            "client-key-data",
            "kubeconfig\":\"apiVersion",
        ] {
            assert!(!body.contains(secret), "{secret} in gs://{BUCKET}/{name}");
        }
    }
    // The reader tokens are there as digests only.
    assert!(
        text.contains("\"token\": {\n") && text.contains("\"sensitive\": \"sha256:"),
        "{text}"
    );

    // Nor on this machine's disk: the keys, tokens and CA entries are in
    // Secret Manager, named by the store and the value's digest.
    let local = files_under(op.dir.path());
    assert!(
        local.keys().all(|f| !f.contains(".secrets")),
        "secrets on disk: {:?}",
        local.keys()
    );
    let secrets = secrets_in(&emulator).await;
    let reader_token = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"].as_str().unwrap().starts_with("istio_reader."))
        .map(|r| {
            r["outputs"]["token"]["sensitive"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .expect("a reader token in state");
    let hex = reader_token.strip_prefix("sha256:").unwrap();
    assert!(
        secrets.iter().any(|n| n.ends_with(&format!("-{hex}"))),
        "no secret for {reader_token} in {secrets:?}"
    );
    assert!(
        secrets.iter().filter(|n| n.contains("-entry-")).count() >= 3,
        "the root and two intermediate CAs: {secrets:?}"
    );

    // Planned again, from the state in the bucket: nothing to do.
    let out = op
        .run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // Another operator, in another folder with nothing but the plan file,
    // reads the CAs and tokens from Secret Manager: nothing to do either.
    let other = Operator::new("tutorial.toml");
    let out = other
        .run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // Destroy deletes the secrets it created.
    other
        .run(&emulator, &gcs, &["destroy", "--auto-approve"])
        .await
        .expect(0);
    assert_eq!(secrets_in(&emulator).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_in_a_bucket_needs_secret_manager_and_says_how_to_enable_it() {
    let world = tempfile::tempdir().unwrap();
    let mut config = common::config(world.path(), 0.002, FaultConfig::default());
    config.disabled_services = vec!["secretmanager.googleapis.com".into()];
    let emulator = Emulator::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let gcs = FakeGcs::start().await;
    gcs.bucket(BUCKET, true).await;
    let op = Operator::new("vpc.toml");
    let out = op.run(&emulator, &gcs, &["plan"]).await.expect(1);
    assert!(
        out.stderr()
            .contains("gcloud services enable secretmanager.googleapis.com"),
        "{}",
        out.stderr()
    );
    // A local state does not need it.
    op.run_local(&emulator, &gcs, &["plan"]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_local_to_bucket_and_back_round_trips_byte_for_byte() {
    let (_world, emulator, gcs, op) = setup("tutorial.toml").await;
    op.run_local(&emulator, &gcs, &["apply", "--auto-approve"])
        .await
        .expect(0);
    let state_file = op.dir.path().join("state/tutorial.json");
    let before = std::fs::read(&state_file).unwrap();
    let secrets_before = files_under(&op.dir.path().join("state/tutorial.json.secrets"));
    assert!(secrets_before.len() >= 6, "{:?}", secrets_before.keys());

    let to_bucket = format!("gs://{BUCKET}/{OBJECT}");
    let out = op
        .run_local(&emulator, &gcs, &["state", "migrate", "--to", &to_bucket])
        .await
        .expect(0);
    assert!(
        out.stdout().contains("Migrated 32 resources"),
        "{}",
        out.stdout()
    );
    // The state is the object, byte for byte; nothing is left locally.
    let (text, _) = gcs.get(BUCKET, OBJECT).await.unwrap();
    assert_eq!(text.as_bytes(), &before[..]);
    assert!(!state_file.exists());
    assert!(!op.dir.path().join("state/tutorial.json.secrets").exists());
    assert_eq!(gcs.get(BUCKET, &format!("{OBJECT}.lock")).await, None);
    assert!(!secrets_in(&emulator).await.is_empty());
    // It is in use there: nothing to do.
    let out = op
        .run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // Back to the local file: the same bytes, the same secret files.
    let out = op
        .command(
            &emulator,
            &gcs,
            &["state", "migrate", "--to", "state/tutorial.json"],
        )
        .output()
        .await
        .unwrap();
    common::Run(out).expect(0);
    assert_eq!(std::fs::read(&state_file).unwrap(), before);
    assert_eq!(
        files_under(&op.dir.path().join("state/tutorial.json.secrets")),
        secrets_before
    );
    assert_eq!(gcs.get(BUCKET, OBJECT).await, None);
    assert_eq!(secrets_in(&emulator).await, Vec::<String>::new());
    let out = op
        .run_local(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // A place that holds another state is not overwritten.
    gcs.put(
        BUCKET,
        OBJECT,
        &serde_json::to_string(&meshform::state::State::new()).unwrap(),
    )
    .await;
    let refused = op
        .run_local(&emulator, &gcs, &["state", "migrate", "--to", &to_bucket])
        .await
        .expect(1);
    assert!(
        refused.stderr().contains("already holds a state"),
        "{}",
        refused.stderr()
    );
    assert_eq!(std::fs::read(&state_file).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_at_any_moment_is_finished_by_running_it_again() {
    let (_world, emulator, gcs, op) = setup("tutorial.toml").await;
    op.run_local(&emulator, &gcs, &["apply", "--auto-approve"])
        .await
        .expect(0);
    let state_file = op.dir.path().join("state/tutorial.json");
    let before = std::fs::read(&state_file).unwrap();
    let to_bucket = format!("gs://{BUCKET}/{OBJECT}");
    // How long one migration takes here, there and back.
    let started = std::time::Instant::now();
    op.run_local(&emulator, &gcs, &["state", "migrate", "--to", &to_bucket])
        .await
        .expect(0);
    let took = started.elapsed().as_millis() as u64;
    common::Run(
        op.command(
            &emulator,
            &gcs,
            &["state", "migrate", "--to", "state/tutorial.json"],
        )
        .output()
        .await
        .unwrap(),
    )
    .expect(0);
    // Killed at moments spread over that time, there and back (an even
    // number of times: it ends where it began).
    let mut interrupted = Vec::new();
    let delays = [10u64, 20, 35, 50, 65, 80, 90, 97].map(|percent| took * percent / 100);
    for (i, delay) in delays.into_iter().enumerate() {
        let to_the_bucket = i % 2 == 0;
        let command = |op: &Operator| {
            if to_the_bucket {
                op.command_local(&emulator, &gcs, &["state", "migrate", "--to", &to_bucket])
            } else {
                op.command(
                    &emulator,
                    &gcs,
                    &["state", "migrate", "--to", "state/tutorial.json"],
                )
            }
        };
        let mut child = command(&op).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if child.try_wait().unwrap().is_none() {
            interrupted.push(delay);
        }
        child.kill().await.unwrap();
        child.wait().await.unwrap();
        // A killed holder leaves the bucket's lock: removed by its id.
        if let Some((lock, _)) = gcs.get(BUCKET, &format!("{OBJECT}.lock")).await {
            let id = serde_json::from_str::<serde_json::Value>(&lock).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            op.force_unlock(&gcs, &id).await.expect(0);
        }
        // Whatever was done, one whole state exists somewhere.
        let local = std::fs::read(&state_file).ok();
        let remote = gcs.get(BUCKET, OBJECT).await.map(|(t, _)| t.into_bytes());
        assert!(
            local.as_ref() == Some(&before) || remote.as_ref() == Some(&before),
            "after a kill at {delay} ms the state is in neither place"
        );
        common::Run(command(&op).output().await.unwrap()).expect(0);
        let (here, there) = if to_the_bucket {
            (
                gcs.get(BUCKET, OBJECT).await.map(|(t, _)| t.into_bytes()),
                std::fs::read(&state_file).ok(),
            )
        } else {
            (
                std::fs::read(&state_file).ok(),
                gcs.get(BUCKET, OBJECT).await.map(|(t, _)| t.into_bytes()),
            )
        };
        assert_eq!(here.as_ref(), Some(&before), "kill at {delay} ms");
        assert_eq!(there, None, "kill at {delay} ms: the source is left");
    }
    eprintln!("a migration takes {took} ms; killed while running after {interrupted:?} ms");
    assert!(
        interrupted.len() >= 3,
        "too few kills landed mid-way: {interrupted:?}"
    );
    // Back home with every secret: nothing to do.
    let out = op
        .run_local(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());
    assert_eq!(secrets_in(&emulator).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_operator_fails_naming_the_first_waits_with_lock_timeout_or_succeeds_after() {
    // Operations slow enough that the first apply still holds the lock
    // when the second operator starts.
    let (_world, emulator, gcs, op) = setup_with("vpc.toml", 0.05).await;
    let other = Operator::new("vpc.toml");

    // The first operator's apply holds the lock while it works.
    let first = op
        .command(&emulator, &gcs, &["apply", "--auto-approve"])
        .spawn()
        .unwrap();
    until_locked(&gcs).await;
    let refused = other.run(&emulator, &gcs, &["plan"]).await.expect(1);
    let e = refused.stderr();
    assert!(e.contains("state is locked"), "{e}");
    assert!(
        e.contains(&format!("gs://{BUCKET}/{OBJECT}.lock is held by apply by ")),
        "{e}"
    );
    assert!(e.contains(&format!("(pid {})", first.id().unwrap())), "{e}");
    assert!(e.contains("lock id "), "{e}");
    first.wait_with_output().await.unwrap();
    // After it, the second operator, in another folder, plans from the
    // state the first wrote: nothing to do.
    let out = other
        .run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // With --lock-timeout the second waits for the holder (here a lock
    // another machine wrote) and goes on once it is released.
    let lock = serde_json::json!({"id": "00000000000000aa", "user": "ci", "host": "runner-7",
        "pid": 4242, "operation": "apply", "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()});
    gcs.put(BUCKET, &format!("{OBJECT}.lock"), &lock.to_string())
        .await;
    let waiting = other
        .command(&emulator, &gcs, &["plan", "--lock-timeout", "60s"])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gcs.delete(BUCKET, &format!("{OBJECT}.lock")).await;
    let waited = common::Run(waiting.wait_with_output().await.unwrap());
    assert_eq!(waited.code(), 0, "{}", waited.stderr());
    assert!(
        waited
            .stdout()
            .contains("Waiting for the state lock held by apply by ci@runner-7 (pid 4242)"),
        "{}",
        waited.stdout()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_with_sigkill_leaves_its_lock_until_force_unlock() {
    let (_world, emulator, gcs, op) = setup("tutorial.toml").await;
    let mut killed = op
        .command(&emulator, &gcs, &["apply", "--auto-approve"])
        .spawn()
        .unwrap();
    until_locked(&gcs).await;
    killed.kill().await.unwrap();
    killed.wait().await.unwrap();

    let refused = op.run(&emulator, &gcs, &["plan"]).await.expect(1);
    let e = refused.stderr();
    assert!(
        e.contains("Storage cannot tell whether the holder still runs"),
        "{e}"
    );
    assert!(e.contains(" ago, lock id "), "{e}");
    let id = e
        .split("lock id ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(e.contains(&format!("meshform force-unlock {id}")), "{e}");

    // A wrong id is refused and removes nothing.
    let wrong = op.force_unlock(&gcs, "0123456789abcdef").await;
    assert_eq!(wrong.code(), 1, "{}", wrong.stdout());
    assert!(wrong
        .stderr()
        .contains(&format!("held with lock id {id}, not 0123456789abcdef")));
    assert!(gcs.get(BUCKET, &format!("{OBJECT}.lock")).await.is_some());

    let unlocked = op.force_unlock(&gcs, &id).await.expect(0);
    assert!(
        unlocked.stdout().contains("Removed the lock"),
        "{}",
        unlocked.stdout()
    );
    // The next apply finishes the job the killed one started.
    op.run(&emulator, &gcs, &["apply", "--auto-approve"])
        .await
        .expect(0);
    op.run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_loses_a_race_stops_without_overwriting_and_keeps_its_state() {
    use meshform::state::{Bucket, BucketObject, State, StateError, StateStore};
    let gcs = FakeGcs::start().await;
    gcs.bucket(BUCKET, false).await;
    // SAFETY of the environment: this test binary's other tests pass the
    // variable to child processes only.
    unsafe { std::env::set_var("STORAGE_EMULATOR_HOST", &gcs.host) };
    let local = tempfile::tempdir().unwrap();
    let object = BucketObject {
        bucket: BUCKET.into(),
        object: "race.json".into(),
    };
    let store = StateStore::in_bucket(
        Bucket::connect().await.unwrap(),
        object.clone(),
        local.path().join("race.json"),
    );
    let mut mine = store.load().await.unwrap();
    store.save(&mut mine).await.unwrap();
    // Someone else writes the object in between.
    let theirs = serde_json::to_string(&State::new()).unwrap();
    gcs.put(BUCKET, "race.json", &theirs).await;
    let err = store.save(&mut mine).await.unwrap_err();
    let StateError::Conflict { kept, .. } = &err else {
        panic!("{err}");
    };
    assert!(err.to_string().contains("did not overwrite it"), "{err}");
    // Theirs stays; mine is kept locally, private.
    let (now, _) = gcs.get(BUCKET, "race.json").await.unwrap();
    assert_eq!(now.trim(), theirs);
    let kept_state: State = serde_json::from_str(&std::fs::read_to_string(kept).unwrap()).unwrap();
    assert_eq!(kept_state.lineage, mine.lineage);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_saving_leaves_a_whole_state_and_the_next_apply_converges() {
    let (_world, emulator, gcs, op) = setup("tutorial.toml").await;
    // Killed at different moments of the saves: after the 1st and the 4th
    // new generation of the state object.
    for saves in [1, 4] {
        let mut apply = op
            .command(&emulator, &gcs, &["apply", "--auto-approve"])
            .spawn()
            .unwrap();
        let start = gcs.get(BUCKET, OBJECT).await.map(|(_, g)| g);
        let mut seen = Vec::new();
        for _ in 0..2000 {
            if let Some((_, g)) = gcs.get(BUCKET, OBJECT).await {
                if Some(g) != start && !seen.contains(&g) {
                    seen.push(g);
                }
            }
            if seen.len() >= saves || apply.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        apply.kill().await.unwrap();
        apply.wait().await.unwrap();
        // Whatever generation is there is a whole state.
        if let Some((text, _)) = gcs.get(BUCKET, OBJECT).await {
            let state: meshform::state::State = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("a torn state after {saves} saves: {e}"));
            assert!(state.serial >= 1);
        }
        // The killed apply's lock stays; it is removed by its id.
        if let Some((lock, _)) = gcs.get(BUCKET, &format!("{OBJECT}.lock")).await {
            let id = serde_json::from_str::<serde_json::Value>(&lock).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            op.force_unlock(&gcs, &id).await.expect(0);
        }
    }
    op.run(&emulator, &gcs, &["apply", "--auto-approve"])
        .await
        .expect(0);
    let out = op
        .run(&emulator, &gcs, &["plan", "--detailed-exitcode"])
        .await
        .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());
}
