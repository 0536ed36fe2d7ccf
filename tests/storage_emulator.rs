//! State in a bucket of the embedded emulator's Cloud Storage
//! (`STORAGE_EMULATOR_HOST` pointing at it), where the preconditions that
//! fake-gcs-server ignores on DELETE hold as in Cloud Storage: a delete
//! with a stale generation is refused and deletes nothing; a lock that is
//! no longer ours is not removed; a save that lost a race does not
//! overwrite; objects outlive a restart; `apply` then `plan` converge on
//! state kept there, which `gcloud storage cat` reads.

mod common;

use std::process::Stdio;
use std::time::Duration;

use meshform::emulator::{Emulator, FaultConfig};
use meshform::state::{
    force_unlock, lock_object, Bucket, BucketError, BucketLock, BucketLockError, BucketLockInfo,
    BucketObject, State, StateError, StateStore,
};

const BUCKET: &str = "team-meshform";

/// Serializes pointing `STORAGE_EMULATOR_HOST` at a test's emulator with
/// connecting the client that reads it (the tests of this binary run in
/// parallel, each with its own emulator; child processes get the variable
/// through their own environment).
static CONNECT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An emulator with bucket [`BUCKET`] (`versioning` as given), and its folder.
async fn emulator_with_bucket(versioning: bool) -> (tempfile::TempDir, Emulator) {
    let dir = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(
        common::config(dir.path(), 0.002, FaultConfig::default()),
        common::listen(),
    )
    .await
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/storage/v1/b?project=meshform-demo",
            emulator.url()
        ))
        .json(&serde_json::json!({"name": BUCKET, "versioning": {"enabled": versioning}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    (dir, emulator)
}

/// `127.0.0.1:PORT`, the value of `STORAGE_EMULATOR_HOST`.
fn host(emulator: &Emulator) -> String {
    emulator.url().trim_start_matches("http://").to_string()
}

/// meshform's bucket client, connected to `emulator`.
async fn bucket_client(emulator: &Emulator) -> Bucket {
    let _only_us = CONNECT.lock().await;
    // SAFETY of the environment: set under CONNECT, read by `connect` only.
    unsafe { std::env::set_var(meshform::state::EMULATOR_HOST_VAR, host(emulator)) };
    Bucket::connect().await.unwrap()
}

fn object(name: &str) -> BucketObject {
    BucketObject {
        bucket: BUCKET.into(),
        object: name.into(),
    }
}

/// Writes the object unconditionally, as another writer would
/// (`uploadType=media`).
async fn put(emulator: &Emulator, name: &str, body: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/upload/storage/v1/b/{BUCKET}/o", emulator.url()))
        .query(&[("uploadType", "media"), ("name", name)])
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_with_a_stale_generation_is_a_conflict_and_leaves_the_object() {
    let (_dir, emulator) = emulator_with_bucket(false).await;
    let bucket = bucket_client(&emulator).await;
    let o = object("envs/prod.json");
    let first = bucket.write(&o, "one".into(), 0).await.unwrap();
    let second = bucket.write(&o, "two".into(), first).await.unwrap();
    assert!(second > first, "a write makes a newer generation");

    let err = bucket.delete(&o, first).await.unwrap_err();
    assert!(
        matches!(err, BucketError::Conflict { expected, .. } if expected == first),
        "{err}"
    );
    let (bytes, generation) = bucket.read(&o).await.unwrap().expect("still there");
    assert_eq!((bytes.as_slice(), generation), (&b"two"[..], second));

    bucket.delete(&o, second).await.unwrap();
    assert_eq!(bucket.read(&o).await.unwrap(), None);
    // Gone already: not an error.
    bucket.delete(&o, second).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_delete_answers_googles_412_and_a_missing_object_googles_404() {
    let (_dir, emulator) = emulator_with_bucket(false).await;
    put(&emulator, "x.json", "{}").await;
    let http = reqwest::Client::new();
    let url = format!("{}/storage/v1/b/{BUCKET}/o/x.json", emulator.url());
    let r = http
        .delete(&url)
        .query(&[("ifGenerationMatch", "12345")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 412);
    let body: serde_json::Value = r.json().await.unwrap();
    let said = "At least one of the pre-conditions you specified did not hold.";
    assert_eq!(body["error"]["message"], said);
    assert_eq!(body["error"]["errors"][0]["reason"], "conditionNotMet");
    let r = http
        .get(&url)
        .query(&[("alt", "media")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "not deleted");

    let r = http
        .get(format!(
            "{}/storage/v1/b/{BUCKET}/o/nope.json",
            emulator.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        format!("No such object: {BUCKET}/nope.json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_and_their_generations_survive_a_restart_of_the_emulator() {
    let (dir, emulator) = emulator_with_bucket(false).await;
    let o = object("envs/kept.json");
    let generation = bucket_client(&emulator)
        .await
        .write(&o, "kept".into(), 0)
        .await
        .unwrap();
    emulator.shutdown().await;
    let emulator = Emulator::start(
        common::config(dir.path(), 0.002, FaultConfig::default()),
        common::listen(),
    )
    .await
    .unwrap();
    let bucket = bucket_client(&emulator).await;
    let (bytes, read) = bucket.read(&o).await.unwrap().expect("kept");
    assert_eq!((bytes.as_slice(), read), (&b"kept"[..], generation));
    let err = bucket.write(&o, "again".into(), 0).await.unwrap_err();
    assert!(matches!(err, BucketError::Conflict { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_no_longer_ours_is_not_removed_when_released() {
    let (_dir, emulator) = emulator_with_bucket(true).await;
    let bucket = bucket_client(&emulator).await;
    let state = object("envs/lock.json");
    let first = BucketLock::acquire(&bucket, &state, "apply", Duration::ZERO, |_| {})
        .await
        .unwrap();
    force_unlock(&bucket, &state, first.id()).await.unwrap();
    let second = BucketLock::acquire(&bucket, &state, "plan", Duration::ZERO, |_| {})
        .await
        .unwrap();
    let second_id = second.id().to_string();

    first.release(&bucket).await.unwrap();

    let (bytes, _) = bucket
        .read(&lock_object(&state))
        .await
        .unwrap()
        .expect("the second lock is still there");
    let info: BucketLockInfo = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(info.id, second_id);
    // And it still locks: a third taker is told who holds it.
    let err = BucketLock::acquire(&bucket, &state, "apply", Duration::ZERO, |_| {})
        .await
        .unwrap_err();
    let BucketLockError::Held { holder, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(holder.id, second_id);
    second.release(&bucket).await.unwrap();
    assert_eq!(bucket.read(&lock_object(&state)).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_that_lost_a_race_is_a_conflict_and_does_not_overwrite() {
    let (_dir, emulator) = emulator_with_bucket(false).await;
    let bucket = bucket_client(&emulator).await;
    let local = tempfile::tempdir().unwrap();
    let store = StateStore::in_bucket(
        bucket.clone(),
        object("race.json"),
        local.path().join("race.json"),
    );
    let mut mine = store.load().await.unwrap();
    store.save(&mut mine).await.unwrap();
    // Someone else writes the object in between.
    let theirs = serde_json::to_string(&State::new()).unwrap();
    put(&emulator, "race.json", &theirs).await;

    let err = store.save(&mut mine).await.unwrap_err();
    let StateError::Conflict { kept, .. } = &err else {
        panic!("{err}");
    };
    let (now, _) = bucket.read(&object("race.json")).await.unwrap().unwrap();
    assert_eq!(String::from_utf8(now).unwrap(), theirs, "theirs stays");
    let kept_state: State = serde_json::from_str(&std::fs::read_to_string(kept).unwrap()).unwrap();
    assert_eq!(kept_state.lineage, mine.lineage, "mine is kept locally");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_plan_with_state_in_the_emulators_bucket_and_gcloud_reads_it() {
    let (dir, emulator) = emulator_with_bucket(true).await;
    let plan = common::copy_plan(dir.path(), "vpc.toml");
    let state = format!("gs://{BUCKET}/envs/vpc.json");
    let meshform = |args: &[&str]| {
        let mut c = tokio::process::Command::new(common::meshform_bin());
        c.args(args)
            .arg(&plan)
            .args(["--state", &state, "--emulator-url", &emulator.url()])
            .env(meshform::state::EMULATOR_HOST_VAR, host(&emulator))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    };
    let out = common::Run(
        meshform(&["apply", "--auto-approve"])
            .output()
            .await
            .unwrap(),
    )
    .expect(0);
    assert!(
        out.stdout().contains("Apply complete! Resources: 6 added"),
        "{}",
        out.stdout()
    );
    let out = common::Run(
        meshform(&["plan", "--detailed-exitcode"])
            .output()
            .await
            .unwrap(),
    )
    .expect(0);
    assert!(out.stdout().contains("No changes."), "{}", out.stdout());

    // gcloud reads the state object from the same emulator.
    let gcloud = common::gcloud::Gcloud::new(&emulator.url());
    let cat = gcloud
        .ok(&["storage", "cat", &format!("gs://{BUCKET}/envs/vpc.json")])
        .await;
    let text: serde_json::Value = serde_json::from_str(&cat.stdout())
        .unwrap_or_else(|e| panic!("not the state ({e}):\n{}", cat.stdout()));
    assert_eq!(
        text["resources"].as_array().map(Vec::len),
        Some(6),
        "{text}"
    );
    // No lock is left behind.
    let listed = gcloud
        .ok(&["storage", "ls", &format!("gs://{BUCKET}/envs/")])
        .await;
    assert_eq!(
        listed.stdout().trim(),
        format!("gs://{BUCKET}/envs/vpc.json"),
        "{}",
        listed.stderr()
    );
}
