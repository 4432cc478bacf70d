//! The real worker binary: killed with SIGKILL mid-work, and two of them side by side.

use std::time::{Duration, Instant};

use chrono::Utc;
use omniplug_core::entities::{PlugStatus, PlugTrigger, PostStatus};
use omniplug_platforms::{
    Platform,
    sandbox::{Curve, Fault},
};
use sea_orm::prelude::Uuid;
use tokio::process::{Child, Command};

use crate::rig::Rig;

fn random_below(n: u64) -> u64 {
    u64::try_from(Uuid::new_v4().as_u128() % u128::from(n.max(1))).unwrap_or(0)
}

/// Starts `target/…/worker` against the rig's database, Redis prefix and Sandbox, with short
/// leases so a dead worker's work is recovered in seconds.
fn spawn_worker(rig: &Rig) -> Child {
    Command::new(env!("CARGO_BIN_EXE_worker"))
        .current_dir(rig._db.dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &rig._db.url)
        .env("REDIS_URL", rig.config.redis_url.expose())
        .env("REDIS_PREFIX", &rig.config.redis_prefix)
        .env(
            "OMNIPLUG_TOKEN_KEY",
            rig.config
                .token_key
                .as_ref()
                .map(|k| k.expose().clone())
                .unwrap_or_default(),
        )
        .env("OMNIPLUG_DATA_DIR", rig._db.dir.path())
        .env(
            "OMNIPLUG_SANDBOX_BASE_URL",
            format!("{}/sandbox", rig.sandbox.url()),
        )
        .env("OMNIPLUG_WORKER_LEASE_MS", "2000")
        .env("OMNIPLUG_WORKER_PREFETCH_MS", "300")
        .env("OMNIPLUG_WORKER_RETRY_BASE_MS", "200")
        .env("OMNIPLUG_WORKER_FIRST_POLL_MS", "200")
        .env("OMNIPLUG_WORKER_MIN_POLL_MS", "200")
        .env("OMNIPLUG_WORKER_READ_EVERY_MS", "20")
        .env("OMNIPLUG_WORKER_SWEEP_EVERY_MS", "1000")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker binary")
}

async fn wait_until(rig: &Rig, ids: &[Uuid], with_plugs: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let mut all = true;
        for id in ids {
            let post = rig.reload(*id).await;
            let plug_done = !with_plugs || post.plugs.iter().all(|p| p.status == PlugStatus::Fired);
            if post.post.status != PostStatus::Published || !plug_done {
                all = false;
                break;
            }
        }
        if all {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn sigkill_at_random_points_never_loses_or_doubles_a_post_or_a_plug() {
    let rig = Rig::new().await;
    // Audiences arrive within a second; every network write takes 400 ms, so kills land
    // while calls are in flight.
    rig.sandbox.set_default_curve(Curve {
        likes: 20,
        comments: 0,
        reposts: 0,
        half_life: Duration::from_millis(500),
    });
    rig.sandbox.fail(
        Platform::Sandbox,
        "POST /xrpc/com.atproto.repo.createRecord",
        Fault::Latency(Duration::from_millis(400)),
        10_000,
    );
    let mut texts = Vec::new();
    for run in 0..20 {
        let mut ids = Vec::new();
        let now = Utc::now();
        for n in 0..3 {
            let text = format!("Run {run} post {n}");
            let at = now
                + chrono::Duration::milliseconds(i64::try_from(random_below(1200)).unwrap_or(0));
            ids.push(
                rig.schedule(&text, at, Some((PlugTrigger::Likes, 3)))
                    .await
                    .post
                    .id,
            );
            texts.push(text);
        }
        let mut victim = spawn_worker(&rig);
        tokio::time::sleep(Duration::from_millis(300 + random_below(2500))).await;
        victim.start_kill().expect("SIGKILL");
        victim.wait().await.expect("reaped");

        let mut survivor = spawn_worker(&rig);
        let finished = wait_until(&rig, &ids, true, Duration::from_secs(40)).await;
        survivor.start_kill().expect("kill");
        survivor.wait().await.expect("reaped");
        assert!(
            finished,
            "run {run}: not everything went out after the restart"
        );
    }
    let settled = rig
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("listRecords"))
        .count();
    eprintln!("unknown outcomes settled by asking the network: {settled}");
    let network = rig.sandbox.posts(Platform::Sandbox);
    for text in &texts {
        let copies: Vec<_> = network
            .iter()
            .filter(|p| &p.text == text && p.reply_to.is_none())
            .collect();
        assert_eq!(
            copies.len(),
            1,
            "{text:?} on the network {} times",
            copies.len()
        );
        let replies = network
            .iter()
            .filter(|p| p.reply_to.as_deref() == Some(copies[0].id.as_str()))
            .count();
        assert_eq!(replies, 1, "{text:?} has {replies} plug replies");
    }
}

#[tokio::test]
async fn two_worker_processes_publish_every_post_once() {
    let rig = Rig::new().await;
    let now = Utc::now() + chrono::Duration::seconds(2);
    let mut ids = Vec::new();
    for n in 0..40 {
        let at = now + chrono::Duration::milliseconds(n * 50);
        ids.push(rig.schedule(&format!("Shared {n}"), at, None).await.post.id);
    }
    let mut first = spawn_worker(&rig);
    let mut second = spawn_worker(&rig);
    let finished = wait_until(&rig, &ids, false, Duration::from_secs(30)).await;
    for child in [&mut first, &mut second] {
        child.start_kill().expect("kill");
        child.wait().await.expect("reaped");
    }
    assert!(finished, "not all published");
    for n in 0..40 {
        assert_eq!(rig.on_network(&format!("Shared {n}")).len(), 1, "post {n}");
    }
}
