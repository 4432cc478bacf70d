//! The publishing and plug engine in one process: real Redis, real database, the Sandbox
//! network with injected faults. Most tests drive `Worker::step` with their own clock.

use std::time::Duration;

use chrono::Utc;
use fred::interfaces::{KeysInterface, StreamsInterface};
use omniplug_core::{
    entities::{JobKind, PlugStatus, PlugTrigger, PostStatus, TargetState, job},
    posts::{self, PostInput},
    queue::PUBLISH_STREAM,
    schedule::{self, Due},
};
use omniplug_platforms::{Platform, clients::Counts, sandbox::Fault};
use omniplug_worker::Settings;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, prelude::Uuid};

use crate::rig::{Rig, fast};

const CREATE: &str = "POST /xrpc/com.atproto.repo.createRecord";

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

#[tokio::test]
async fn a_scheduled_post_goes_out_on_time_and_its_plug_fires_once_after_the_threshold() {
    let rig = Rig::new().await;
    let worker = rig
        .worker(Settings {
            prefetch: Duration::from_secs(1),
            first_poll: Duration::from_millis(500),
            min_poll: Duration::from_millis(200),
            ..fast()
        })
        .await;
    let at = Utc::now() + secs(2);
    let saved = rig
        .schedule("Launch day for OmniPlug", at, Some((PlugTrigger::Likes, 5)))
        .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move {
            worker
                .run_until(async move {
                    stopped.await.ok();
                })
                .await;
        }
    });

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let published = loop {
        let post = rig.reload(saved.post.id).await;
        if post.post.status == PostStatus::Published {
            break post;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never published: {post:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let target = &published.targets[0];
    let went_out = target.published_at.expect("published_at");
    assert!(went_out >= at, "not early: {went_out} vs {at}");
    assert!(
        went_out - at < secs(1),
        "within a second: {}",
        went_out - at
    );
    let call = job::Entity::find()
        .filter(job::Column::TargetId.eq(target.id))
        .filter(job::Column::Kind.eq(JobKind::Publish))
        .one(&rig.stores.db)
        .await
        .expect("db")
        .expect("a job row");
    let lateness = call.started_at - at;
    assert!(
        lateness >= chrono::Duration::zero() && lateness < chrono::Duration::milliseconds(500),
        "network call {lateness} after its time"
    );
    assert_eq!(rig.on_network("Launch day for OmniPlug").len(), 1);
    assert_eq!(rig.plug(saved.post.id).await.status, PlugStatus::Pending);

    // The audience arrives: five likes.
    let post_id = target.platform_post_id.clone().expect("network id");
    rig.sandbox.set_counts(
        &post_id,
        Counts {
            likes: 5,
            comments: 0,
            reposts: 0,
        },
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let plug = loop {
        let plug = rig.plug(saved.post.id).await;
        if plug.status == PlugStatus::Fired {
            break plug;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "plug never fired: {plug:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Let a few more polls happen: the plug must not fire again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.send(()).ok();
    running.await.expect("worker");

    let replies = rig.replies();
    assert_eq!(replies.len(), 1, "exactly one plug reply: {replies:?}");
    assert_eq!(replies[0].reply_to.as_deref(), Some(post_id.as_str()));
    assert_eq!(plug.plug_post_id.as_deref(), Some(replies[0].id.as_str()));
    let post = rig.reload(saved.post.id).await;
    assert_eq!(post.targets[0].like_count, 5, "the post shows its likes");
    assert!(post.targets[0].platform_post_url.is_some());
}

#[tokio::test]
async fn the_same_stream_entry_delivered_twice_publishes_once() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig.schedule("Said once", now, None).await;
    // A second copy of the entry, as a retried XADD or a reclaimed duplicate would make.
    let member = Due::Publish(saved.targets[0].id).member();
    let _: String = rig
        .stores
        .redis
        .client()
        .xadd(
            rig.stores.redis.key(PUBLISH_STREAM),
            false,
            None,
            "*",
            vec![("m", member.as_str()), ("due", "0")],
        )
        .await
        .expect("xadd");
    let report = worker.step(now).await.expect("step");
    assert_eq!(report.done, 1, "{report:?}");
    assert!(report.stale >= 1, "the copy did nothing: {report:?}");
    assert_eq!(rig.on_network("Said once").len(), 1);
}

#[tokio::test]
async fn publishes_are_handed_out_ahead_but_plugs_polls_and_lease_ends_only_at_their_time() {
    // A crowd due soon widens the publish horizon; a plug or poll handed out that early would
    // find itself not due and put itself back, round after round (seen as thousands of useless
    // engagement reads of the database in the benchmark).
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let soon = rig
        .schedule("Ten seconds from now", now + secs(10), None)
        .await;
    let redis = &rig.stores.redis;
    let (plug, poll) = (Due::Plug(Uuid::now_v7()), Due::Poll(Uuid::now_v7()));
    schedule::add(redis, plug, now + secs(10))
        .await
        .expect("plug");
    schedule::add(redis, poll, now + secs(12))
        .await
        .expect("poll");
    // So is the end of a lease on a publish (its worker may still be calling the network).
    schedule::add_at_its_time(redis, Due::Publish(Uuid::now_v7()), now + secs(11))
        .await
        .expect("lease end");
    let depth = |stream: &'static str| {
        let key = redis.key(stream);
        async move {
            let len: u64 = redis.client().xlen(key).await.expect("xlen");
            len
        }
    };

    let (moved, next) = worker.move_due(now + secs(30), now).await.expect("move");
    assert_eq!(moved, 1, "only the publish");
    assert_eq!(depth(PUBLISH_STREAM).await, 1);
    assert_eq!(depth(omniplug_core::queue::PLUG_STREAM).await, 0);
    assert_eq!(depth(omniplug_core::queue::POLL_STREAM).await, 0);
    assert_eq!(
        next,
        Some((now + secs(10)).timestamp_millis()),
        "the mover wakes for the plug"
    );
    assert!(
        schedule::due_at(redis, Due::Publish(soon.targets[0].id))
            .await
            .expect("score")
            .is_none()
    );

    // At their time they go.
    let (moved, next) = worker
        .move_due(now + secs(40), now + secs(12))
        .await
        .expect("move");
    assert_eq!(moved, 3);
    assert_eq!(depth(PUBLISH_STREAM).await, 2);
    assert_eq!(depth(omniplug_core::queue::PLUG_STREAM).await, 1);
    assert_eq!(depth(omniplug_core::queue::POLL_STREAM).await, 1);
    assert_eq!(next, None, "nothing left");
}

#[tokio::test]
async fn edits_and_deletes_after_queueing_win() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let edited = rig.schedule("First draft", now, None).await;
    let deleted = rig.schedule("Never mind", now, None).await;
    // Both are in the stream already…
    let (moved, _) = worker.move_due(now, now).await.expect("move");
    assert_eq!(moved, 2);
    // …then one is rewritten and the other deleted.
    let mut input = PostInput {
        text: "Second draft".into(),
        connection_ids: vec![rig.connection],
        time_zone: "UTC".into(),
        ..PostInput::default()
    };
    input.schedule = None;
    posts::update(
        &rig.stores.db,
        &rig.access,
        edited.post.id,
        edited.post.version,
        &input,
        now,
    )
    .await
    .expect("edit");
    posts::delete(&rig.stores.db, &rig.access, deleted.post.id)
        .await
        .expect("delete");
    let rescheduled = rig.schedule_existing(edited.post.id, now).await;
    worker.step(now).await.expect("step");
    assert_eq!(
        rig.on_network("Second draft").len(),
        1,
        "the new text went out"
    );
    assert!(
        rig.on_network("First draft").is_empty(),
        "the old text did not"
    );
    assert!(
        rig.on_network("Never mind").is_empty(),
        "the deleted post did not"
    );
    assert_eq!(
        rig.reload(rescheduled).await.post.status,
        PostStatus::Published
    );
}

#[tokio::test]
async fn a_lost_index_is_rebuilt_and_everything_still_goes_out() {
    let rig = Rig::new().await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            rig.schedule(&format!("Survivor {n}"), now + secs(n), None)
                .await
                .post
                .id,
        );
    }
    // Redis loses everything of this deployment (a flush, or a new empty instance).
    let redis = &rig.stores.redis;
    let everything: Vec<String> = [
        schedule::DUE_KEY,
        schedule::ON_TIME_KEY,
        schedule::BUILT_KEY,
        PUBLISH_STREAM,
        omniplug_core::queue::PLUG_STREAM,
        omniplug_core::queue::POLL_STREAM,
    ]
    .iter()
    .map(|k| redis.key(k))
    .collect();
    let _: i64 = redis.client().del(everything).await.expect("del");
    assert_eq!(schedule::len(&rig.stores.redis).await.expect("len"), 0);
    // A worker starting afterwards rebuilds the index from the database.
    let worker = rig.worker(fast()).await;
    worker.step(now + secs(5)).await.expect("step");
    for n in 0..3 {
        assert_eq!(
            rig.on_network(&format!("Survivor {n}")).len(),
            1,
            "post {n}"
        );
    }

    // And a running worker notices a flush by itself (the index marker is gone).
    let later = rig.schedule("After the flush", now, None).await;
    let _: i64 = rig
        .stores
        .redis
        .client()
        .del(vec![
            rig.stores.redis.key(schedule::DUE_KEY),
            rig.stores.redis.key(schedule::BUILT_KEY),
        ])
        .await
        .expect("del");
    worker.step(now + secs(5)).await.expect("step");
    assert_eq!(rig.on_network("After the flush").len(), 1);
    assert_eq!(
        rig.reload(later.post.id).await.post.status,
        PostStatus::Published
    );
}

#[tokio::test]
async fn a_rate_limit_waits_for_the_reset_then_succeeds() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig.schedule("Patience", now, None).await;
    rig.sandbox.fail(
        Platform::Sandbox,
        CREATE,
        Fault::RateLimited(Duration::from_secs(5)),
        1,
    );
    let calls = || {
        rig.sandbox
            .requests()
            .iter()
            .filter(|r| format!("{} {}", r.method, r.path).starts_with(CREATE))
            .count()
    };
    worker.step(now).await.expect("step");
    assert_eq!(calls(), 1);
    let target = rig.reload(saved.post.id).await.targets[0].clone();
    assert_eq!(target.state, TargetState::Pending);
    let reset = target.next_attempt_at.expect("waits for the reset");
    assert!(reset >= now + secs(4), "reset honoured: {reset} vs {now}");
    // Nothing is called before the reset…
    worker.step(reset - secs(1)).await.expect("step");
    assert_eq!(calls(), 1, "no call before the reset");
    // …and after it the post goes out.
    worker
        .step(reset + chrono::Duration::milliseconds(10))
        .await
        .expect("step");
    assert_eq!(calls(), 2);
    assert_eq!(rig.on_network("Patience").len(), 1);
    assert_eq!(
        rig.reload(saved.post.id).await.post.status,
        PostStatus::Published
    );
}

#[tokio::test]
async fn five_server_errors_fail_the_post_with_the_reason() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let mut now = Utc::now();
    let saved = rig.schedule("Doomed", now, None).await;
    rig.sandbox
        .fail(Platform::Sandbox, CREATE, Fault::Status(500), 5);
    for _ in 0..12 {
        worker.step(now).await.expect("step");
        now += secs(10);
    }
    let post = rig.reload(saved.post.id).await;
    assert_eq!(post.post.status, PostStatus::Failed, "{post:?}");
    let reason = post.post.fail_reason.clone().unwrap_or_default();
    assert!(reason.contains("5 attempts"), "{reason}");
    assert!(reason.contains("Internal Server Error"), "{reason}");
    assert!(rig.on_network("Doomed").is_empty());
    // Every attempt left a job row.
    let jobs = job::Entity::find()
        .filter(job::Column::PostId.eq(saved.post.id))
        .filter(job::Column::Kind.eq(JobKind::Publish))
        .all(&rig.stores.db)
        .await
        .expect("db");
    assert!(jobs.len() >= 5, "{} job rows", jobs.len());
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_post_goes_out() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig.schedule("Fresh tokens", now, None).await;
    rig.sandbox
        .fail(Platform::Sandbox, CREATE, Fault::ExpiredToken, 1);
    worker.step(now).await.expect("step");
    assert_eq!(rig.on_network("Fresh tokens").len(), 1);
    assert_eq!(
        rig.reload(saved.post.id).await.post.status,
        PostStatus::Published
    );
    let refreshes = rig
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.contains("refreshSession"))
        .count();
    assert_eq!(refreshes, 1, "exactly one refresh");
}

#[tokio::test]
async fn posts_overdue_beyond_the_grace_period_are_missed_not_sent_late() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    // The worker was down for the last hour of schedule.
    let stale = rig.schedule("An hour late", now - secs(3600), None).await;
    let late_ok = rig
        .schedule("Five minutes late", now - secs(300), None)
        .await;
    worker.step(now).await.expect("step");
    let missed = rig.reload(stale.post.id).await;
    assert_eq!(missed.post.status, PostStatus::Missed);
    assert!(
        missed
            .post
            .fail_reason
            .as_deref()
            .unwrap_or_default()
            .contains("Publish it now"),
        "{:?}",
        missed.post.fail_reason
    );
    assert!(
        rig.on_network("An hour late").is_empty(),
        "no burst of stale posts"
    );
    assert_eq!(rig.on_network("Five minutes late").len(), 1, "within grace");
    assert_eq!(
        rig.reload(late_ok.post.id).await.post.status,
        PostStatus::Published
    );

    // The person publishes it now after all.
    let again = posts::publish_now(
        &rig.stores.db,
        &rig.access,
        stale.post.id,
        missed.post.version,
        Utc::now(),
    )
    .await
    .expect("publish now");
    schedule::index_targets(&rig.stores.redis, &again.targets)
        .await
        .expect("index");
    worker.step(Utc::now()).await.expect("step");
    assert_eq!(rig.on_network("An hour late").len(), 1);
}

#[tokio::test]
async fn a_call_whose_answer_was_lost_is_settled_from_the_network_not_repeated() {
    let rig = Rig::new().await;
    // The post lands, but the connection drops before the answer arrives.
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig.schedule("Did it land?", now, None).await;
    rig.sandbox
        .fail(Platform::Sandbox, CREATE, Fault::LoseAnswer, 1);
    worker.step(now).await.expect("step");
    assert_eq!(rig.on_network("Did it land?").len(), 1, "it landed");
    let target = rig.reload(saved.post.id).await.targets[0].clone();
    assert_eq!(target.state, TargetState::Publishing, "outcome unknown");
    // Whoever comes next asks the network first and adopts the post.
    worker.step(Utc::now() + secs(30)).await.expect("step");
    let post = rig.reload(saved.post.id).await;
    assert_eq!(post.post.status, PostStatus::Published);
    assert_eq!(rig.on_network("Did it land?").len(), 1, "not posted twice");
    assert_eq!(
        post.targets[0].platform_post_id.as_deref(),
        Some(rig.on_network("Did it land?")[0].id.as_str())
    );
}

#[tokio::test]
async fn a_time_plug_fires_its_minutes_after_publishing() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig
        .schedule("Timed", now, Some((PlugTrigger::TimeAfterPublish, 2)))
        .await;
    worker.step(now).await.expect("step");
    assert!(rig.replies().is_empty());
    worker.step(Utc::now() + secs(60)).await.expect("step");
    assert!(rig.replies().is_empty(), "not before its time");
    worker.step(Utc::now() + secs(121)).await.expect("step");
    assert_eq!(rig.replies().len(), 1);
    assert_eq!(rig.plug(saved.post.id).await.status, PlugStatus::Fired);
}

#[tokio::test]
async fn a_plug_of_a_post_that_failed_is_skipped_with_the_reason() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let saved = rig
        .schedule("Refused", now, Some((PlugTrigger::Likes, 1)))
        .await;
    rig.sandbox
        .fail(Platform::Sandbox, CREATE, Fault::Status(400), 1);
    worker.step(now).await.expect("step");
    let post = rig.reload(saved.post.id).await;
    assert_eq!(post.post.status, PostStatus::Failed);
    let plug = rig.plug(saved.post.id).await;
    assert_eq!(plug.status, PlugStatus::Skipped);
    assert!(
        plug.fail_reason
            .unwrap_or_default()
            .contains("did not go out")
    );
}

#[tokio::test]
async fn a_burst_is_claimed_together_once_and_only_what_is_ready() {
    let rig = Rig::new().await;
    let worker = rig.worker(fast()).await;
    let now = Utc::now();
    let mut ready = Vec::new();
    for n in 0..5 {
        ready.push(rig.schedule(&format!("Nine sharp {n}"), now, None).await);
    }
    let later = rig.schedule("Tomorrow", now + secs(86_400), None).await;
    let overdue = rig.schedule("Long overdue", now - secs(3_600), None).await;
    let ids: Vec<Uuid> = ready
        .iter()
        .chain([&later, &overdue])
        .map(|s| s.targets[0].id)
        .collect();

    let claimed = worker
        .engine()
        .claim_publishes(&ids, now)
        .await
        .expect("claim");
    let mut got: Vec<Uuid> = claimed.iter().map(|(_, t)| t.id).collect();
    let mut want: Vec<Uuid> = ready.iter().map(|s| s.targets[0].id).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "only the five due now are claimed");
    for (post, target) in &claimed {
        assert_eq!(post.status, PostStatus::Publishing);
        assert_eq!(target.state, TargetState::Publishing);
        assert_eq!(target.attempts, 1);
    }
    // A second worker holding the same entries claims nothing: each is claimed once.
    let again = worker
        .engine()
        .claim_publishes(&ids, now)
        .await
        .expect("claim again");
    assert!(again.is_empty(), "claimed twice: {again:?}");
    // The rest are left for the one-by-one path: untouched.
    assert_eq!(
        rig.reload(later.post.id).await.post.status,
        PostStatus::Scheduled
    );
    assert_eq!(
        rig.reload(overdue.post.id).await.post.status,
        PostStatus::Scheduled
    );

    // Each claimed one goes out exactly once.
    for (post, target) in claimed {
        worker
            .engine()
            .publish_ready(post, target)
            .await
            .expect("publish");
    }
    for n in 0..5 {
        assert_eq!(rig.on_network(&format!("Nine sharp {n}")).len(), 1);
    }
    // The whole step leaves the overdue post MISSED and the later one waiting.
    worker.step(now).await.expect("step");
    assert_eq!(
        rig.reload(overdue.post.id).await.post.status,
        PostStatus::Missed
    );
    assert_eq!(
        rig.reload(later.post.id).await.post.status,
        PostStatus::Scheduled
    );
    assert!(rig.on_network("Long overdue").is_empty());
}
