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

#[tokio::test]
async fn the_maintenance_round_rechecks_stale_connections_and_warns_once_before_a_final_expiry() {
    use chrono::{Duration, Utc};
    use omniplug_core::{
        connections::{self, Networks, PasswordLogin},
        entities::{notification, platform_connection as pc},
        identity, tenancy,
    };
    use omniplug_platforms::{Platform, sandbox::Sandbox};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let sandbox = Sandbox::start().await.expect("sandbox");
    let db_guard = fresh_database().await;
    let mut config = test_config(&db_guard);
    config.networks.bluesky_pds = format!("{}/bluesky", sandbox.url());
    let stores = Stores::open(config).await.expect("stores");
    let signed = identity::sign_up(
        &stores.db,
        "ada@example.com",
        "correct horse battery",
        "Ada",
        "UTC",
    )
    .await
    .expect("sign up");
    let access = tenancy::authorize(
        &stores.db,
        signed.user.id,
        signed.workspace.id,
        tenancy::Action::ManageConnections,
    )
    .await
    .expect("owner");
    let account = sandbox.add_account(Platform::Bluesky, "ada.test");
    let networks = Networks::from_config(&stores.config);
    let connected = connections::connect_with_password(
        &stores.db,
        &stores.vault,
        &networks,
        &access,
        PasswordLogin {
            platform: Platform::Bluesky,
            identifier: "ada.test",
            password: &account.password,
            base_url: None,
        },
    )
    .await
    .expect("connect");

    // Checked two days ago; and its tokens end in three days with nothing to refresh them.
    pc::Entity::update_many()
        .col_expr(
            pc::Column::CheckedAt,
            Expr::value(Some(Utc::now() - Duration::days(2))),
        )
        .col_expr(
            pc::Column::RefreshTokenEnc,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            pc::Column::TokenExpiresAt,
            Expr::value(Some(Utc::now() + Duration::days(3) + Duration::hours(1))),
        )
        .filter(pc::Column::Id.eq(connected.id))
        .exec(&stores.db)
        .await
        .expect("age it");
    let worker = Worker::start(stores.clone()).await.expect("worker");
    let now = Utc::now();
    let report = worker
        .step(now)
        .await
        .expect("step")
        .maintenance
        .expect("first step runs maintenance");
    assert_eq!((report.checked, report.refused, report.warned), (1, 0, 1));
    let row = pc::Entity::find_by_id(connected.id)
        .one(&stores.db)
        .await
        .expect("db")
        .expect("row");
    assert!(
        row.checked_at
            .is_some_and(|at| at > now - Duration::minutes(1)),
        "re-verified"
    );
    let notes = notification::Entity::find()
        .filter(notification::Column::WorkspaceId.eq(signed.workspace.id))
        .all(&stores.db)
        .await
        .expect("db");
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0].title,
        "Bluesky account @ada.test expires in 3 days"
    );
    assert_eq!(
        notes[0].link.as_deref(),
        Some(format!("/connections#connection-{}", connected.id).as_str())
    );

    // Within the hour nothing runs; an hour later it runs but warns no second time.
    assert!(
        worker
            .step(now + Duration::minutes(5))
            .await
            .expect("step")
            .maintenance
            .is_none()
    );
    let report = worker
        .step(now + Duration::hours(1))
        .await
        .expect("step")
        .maintenance
        .expect("hourly");
    assert_eq!(
        (report.checked, report.warned),
        (0, 0),
        "checked today, warned already"
    );

    // The network refuses the credentials: the daily check marks the connection.
    pc::Entity::update_many()
        .col_expr(
            pc::Column::CheckedAt,
            Expr::value(Some(Utc::now() - Duration::days(2))),
        )
        .filter(pc::Column::Id.eq(connected.id))
        .exec(&stores.db)
        .await
        .expect("age it");
    sandbox.expire_tokens(Platform::Bluesky);
    let report = worker
        .step(now + Duration::hours(2))
        .await
        .expect("step")
        .maintenance
        .expect("hourly");
    assert_eq!((report.checked, report.refused), (1, 1), "{report:?}");
    let row = pc::Entity::find_by_id(connected.id)
        .one(&stores.db)
        .await
        .expect("db")
        .expect("row");
    assert!(!row.is_valid, "needs reconnect");
    sandbox.stop().await;
}
