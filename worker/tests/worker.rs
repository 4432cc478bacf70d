//! The worker against a real Redis and a fresh database.

use fred::{interfaces::StreamsInterface, types::Value};
use omniplug_core::{
    Stores,
    queue::{PLUG_STREAM, PUBLISH_STREAM, WORKER_GROUP},
};
use omniplug_testkit::{fresh_database, test_config};
use omniplug_worker::Worker;

async fn stores() -> (omniplug_testkit::TestDatabase, Stores) {
    let db = fresh_database().await;
    let stores = Stores::open(test_config(&db)).await.expect("stores");
    stores
        .redis
        .wait_until_connected(std::time::Duration::from_secs(5))
        .await
        .expect("redis up");
    (db, stores)
}

#[tokio::test]
async fn start_joins_the_consumer_group_on_both_streams_and_is_idempotent() {
    let (_db, stores) = stores().await;
    let first = Worker::start(stores.clone()).await.expect("first start");
    // A second worker (or a restart) must not fail on the existing group.
    let second = Worker::start(stores.clone()).await.expect("second start");
    assert_ne!(first.id(), second.id());

    for stream in [PUBLISH_STREAM, PLUG_STREAM] {
        let groups: Vec<Value> = stores
            .redis
            .client()
            .xinfo_groups(stores.redis.key(stream))
            .await
            .expect("XINFO GROUPS");
        assert_eq!(groups.len(), 1, "{stream}: exactly one group");
        let text = format!("{groups:?}");
        assert!(text.contains(WORKER_GROUP), "{stream}: {text}");
    }
}

#[tokio::test]
async fn heartbeats_are_counted_only_while_fresh() {
    let (_db, stores) = stores().await;
    let worker = Worker::start(stores.clone()).await.expect("start");
    let now = chrono::Utc::now();
    worker.step(now).await.expect("step");
    assert_eq!(
        stores
            .redis
            .live_workers(now.timestamp())
            .await
            .expect("count"),
        1
    );
    // 31 s later without another beat, the worker no longer counts.
    assert_eq!(
        stores
            .redis
            .live_workers(now.timestamp() + 31)
            .await
            .expect("count"),
        0
    );
    worker.stop().await.expect("stop");
    assert_eq!(
        stores
            .redis
            .live_workers(now.timestamp())
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn run_until_stops_on_shutdown_and_removes_the_heartbeat() {
    let (_db, stores) = stores().await;
    let worker = Worker::start(stores.clone()).await.expect("start");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        worker
            .run_until(async move {
                let _ = rx.await;
            })
            .await;
    });
    // The first tick fires at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while stores
        .redis
        .live_workers(chrono::Utc::now().timestamp())
        .await
        .expect("count")
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "worker never beat");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tx.send(()).expect("signal");
    tokio::time::timeout(std::time::Duration::from_secs(5), handle)
        .await
        .expect("stops promptly")
        .expect("task");
    assert_eq!(
        stores
            .redis
            .live_workers(chrono::Utc::now().timestamp())
            .await
            .expect("count"),
        0
    );
}
