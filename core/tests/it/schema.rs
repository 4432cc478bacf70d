//! Migrations up, down and up again on the engine this run targets (`make test` runs this
//! file once on SQLite and once on PostgreSQL), and every entity round-tripping a row.

use chrono::{Duration, Utc};
use migrations::{Migrator, MigratorTrait};
use omniplug_core::{
    db,
    entities::{self, *},
};
use omniplug_testkit::{fresh_database, test_config};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, prelude::Uuid,
};
use sea_orm_migration::SchemaManager;

const TABLES: [&str; 16] = [
    "oauth_states",
    "users",
    "sessions",
    "workspaces",
    "memberships",
    "invitations",
    "platform_connections",
    "posts",
    "post_targets",
    "auto_plugs",
    "jobs",
    "engagement_snapshots",
    "media_assets",
    "notifications",
    "api_keys",
    "audit_log",
];

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let test_db = fresh_database().await;
    let config = test_config(&test_db);
    let conn = db::connect(&config).await.expect("connect");
    let schema = SchemaManager::new(&conn);

    Migrator::up(&conn, None).await.expect("up");
    for table in TABLES {
        assert!(
            schema.has_table(table).await.expect("query"),
            "{table} exists after up"
        );
    }
    assert!(
        Migrator::get_pending_migrations(&conn)
            .await
            .expect("status")
            .is_empty()
    );
    assert_eq!(
        Migrator::get_applied_migrations(&conn)
            .await
            .expect("status")
            .len(),
        Migrator::migrations().len()
    );
    for (table, index) in [
        ("post_targets", "idx_targets_state_next_attempt"),
        ("post_targets", "idx_targets_connection_state_next_poll"),
        ("auto_plugs", "idx_plugs_status"),
        ("posts", "idx_posts_workspace_scheduled"),
    ] {
        assert!(
            schema.has_index(table, index).await.expect("query"),
            "hot-query index {index} exists"
        );
    }

    // Up again is a no-op (both binaries run it at start-up).
    db::migrate(&conn).await.expect("second up is harmless");

    // Each step down undoes only its own migration.
    Migrator::down(&conn, Some(1))
        .await
        .expect("down poll index");
    assert!(
        !schema
            .has_index("post_targets", "idx_targets_connection_state_next_poll")
            .await
            .expect("query")
    );
    assert!(
        schema
            .has_index("post_targets", "idx_targets_state_next_poll")
            .await
            .expect("query")
    );
    assert!(schema.has_table("media_usage").await.expect("query"));
    assert!(
        schema
            .has_column("media_assets", "public_token")
            .await
            .expect("query")
    );
    Migrator::down(&conn, Some(1)).await.expect("down media");
    assert!(!schema.has_table("media_usage").await.expect("query"));
    assert!(
        !schema
            .has_column("media_assets", "public_token")
            .await
            .expect("query"),
        "media_assets.public_token dropped"
    );
    assert!(schema.has_table("media_assets").await.expect("query"));
    for (table, column) in [
        ("auto_plugs", "lease_until"),
        ("auto_plugs", "attempts"),
        ("post_targets", "platform_post_cid"),
    ] {
        assert!(schema.has_column(table, column).await.expect("query"));
    }
    Migrator::down(&conn, Some(1)).await.expect("down engine");
    for (table, column) in [
        ("auto_plugs", "lease_until"),
        ("auto_plugs", "attempts"),
        ("post_targets", "platform_post_cid"),
    ] {
        assert!(
            !schema.has_column(table, column).await.expect("query"),
            "{table}.{column} dropped"
        );
    }
    assert!(schema.has_table("oauth_states").await.expect("query"));
    assert!(
        schema
            .has_column("platform_connections", "refresh_lease_until")
            .await
            .expect("query")
    );
    Migrator::down(&conn, Some(1))
        .await
        .expect("down connect flows");
    assert!(!schema.has_table("oauth_states").await.expect("query"));
    for column in [
        "label",
        "base_url",
        "secret_enc",
        "checked_at",
        "refresh_lease_until",
        "disconnected_at",
    ] {
        assert!(
            !schema
                .has_column("platform_connections", column)
                .await
                .expect("query"),
            "{column} removed"
        );
    }
    assert!(
        schema
            .has_column("users", "last_workspace_id")
            .await
            .expect("query")
    );
    Migrator::down(&conn, Some(1)).await.expect("down one");
    assert!(
        !schema
            .has_column("users", "last_workspace_id")
            .await
            .expect("query")
    );
    assert!(schema.has_table("posts").await.expect("query"));
    Migrator::down(&conn, Some(1)).await.expect("down two");
    assert!(!schema.has_table("posts").await.expect("query"));
    assert!(
        schema
            .has_table("platform_connections")
            .await
            .expect("query")
    );

    Migrator::down(&conn, None).await.expect("down all");
    for table in TABLES {
        assert!(
            !schema.has_table(table).await.expect("query"),
            "{table} is gone after down"
        );
    }
    assert_eq!(
        Migrator::get_pending_migrations(&conn)
            .await
            .expect("status")
            .len(),
        Migrator::migrations().len()
    );

    Migrator::up(&conn, None).await.expect("up again");
    for table in TABLES {
        assert!(
            schema.has_table(table).await.expect("query"),
            "{table} exists after up again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_together_migrate_once_without_errors() {
    // The server and the worker (or many replicas) start at the same moment on one database.
    let test_db = fresh_database().await;
    let config = test_config(&test_db);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            let conn = db::connect(&config).await.expect("connect");
            db::migrate(&conn).await
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("every concurrent migrate succeeds");
    }
    let conn = db::connect(&config).await.expect("connect");
    assert!(
        Migrator::get_pending_migrations(&conn)
            .await
            .expect("status")
            .is_empty()
    );
}

#[tokio::test]
async fn every_entity_round_trips_a_row() {
    let test_db = fresh_database().await;
    let config = test_config(&test_db);
    let conn = db::connect(&config).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let now = Utc::now();
    let id = Uuid::now_v7;

    let user = user::ActiveModel {
        id: Set(id()),
        email: Set("ada@example.com".into()),
        password_hash: Set("$argon2id$v=19$m=19456,t=2,p=1$x$y".into()),
        name: Set("Ada".into()),
        timezone: Set("Europe/Paris".into()),
        last_workspace_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("user");
    let ws = workspace::ActiveModel {
        id: Set(id()),
        name: Set("Ada's workspace".into()),
        plan: Set(Plan::Pro),
        billing_customer_id: Set(None),
        billing_subscription_id: Set(None),
        missed_grace_minutes: Set(15),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("workspace");
    membership::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        user_id: Set(user.id),
        role: Set(Role::Owner),
        created_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("membership");
    session::ActiveModel {
        id: Set(id()),
        user_id: Set(user.id),
        token_hash: Set("a".repeat(64)),
        current_workspace_id: Set(Some(ws.id)),
        user_agent: Set(None),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::days(30)),
    }
    .insert(&conn)
    .await
    .expect("session");
    invitation::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        email: Set("bob@example.com".into()),
        role: Set(Role::Editor),
        token_hash: Set("b".repeat(64)),
        invited_by: Set(Some(user.id)),
        expires_at: Set(now + Duration::days(7)),
        accepted_at: Set(None),
        accepted_by: Set(None),
        created_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("invitation");
    let conn_row = platform_connection::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        platform: Set(PlatformKind::Sandbox),
        platform_user_id: Set("sbx-1".into()),
        handle: Set("ada".into()),
        display_name: Set(Some("Ada".into())),
        avatar_url: Set(None),
        access_token_enc: Set("k1:sealed".into()),
        refresh_token_enc: Set(None),
        token_expires_at: Set(None),
        scopes: Set("post read".into()),
        is_valid: Set(true),
        last_error: Set(None),
        history: Set(serde_json::json!([])),
        connected_by: Set(Some(user.id)),
        created_at: Set(now),
        updated_at: Set(now),
        label: Set(Some("Main".into())),
        base_url: Set(None),
        secret_enc: Set(None),
        checked_at: Set(Some(now)),
        refresh_lease_until: Set(None),
        disconnected_at: Set(None),
    }
    .insert(&conn)
    .await
    .expect("connection");
    let scheduled = now + Duration::hours(2);
    let post = post::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        author_id: Set(Some(user.id)),
        content: Set("Hello 🌍".into()),
        media: Set(serde_json::json!([])),
        status: Set(PostStatus::Scheduled),
        scheduled_at: Set(Some(scheduled)),
        published_at: Set(None),
        fail_reason: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("post");
    let target = post_target::ActiveModel {
        id: Set(id()),
        post_id: Set(post.id),
        workspace_id: Set(ws.id),
        platform: Set(PlatformKind::Sandbox),
        connection_id: Set(conn_row.id),
        content_override: Set(None),
        state: Set(TargetState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(scheduled)),
        lease_until: Set(None),
        platform_post_id: Set(None),
        platform_post_url: Set(None),
        like_count: Set(0),
        comment_count: Set(0),
        repost_count: Set(0),
        impression_count: Set(0),
        last_polled_at: Set(None),
        next_poll_at: Set(None),
        published_at: Set(None),
        fail_reason: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        platform_post_cid: Set(None),
    }
    .insert(&conn)
    .await
    .expect("target");
    auto_plug::ActiveModel {
        id: Set(id()),
        post_id: Set(post.id),
        workspace_id: Set(ws.id),
        platform: Set(PlatformKind::Sandbox),
        content: Set("Try it → example.com".into()),
        trigger: Set(PlugTrigger::Likes),
        trigger_value: Set(50),
        status: Set(PlugStatus::Pending),
        fired_at: Set(None),
        plug_post_id: Set(None),
        plug_post_url: Set(None),
        fail_reason: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        lease_until: Set(None),
        attempts: Set(0),
    }
    .insert(&conn)
    .await
    .expect("plug");
    job::ActiveModel {
        id: Set(id()),
        workspace_id: Set(Some(ws.id)),
        kind: Set(JobKind::Publish),
        status: Set(JobStatus::Succeeded),
        post_id: Set(Some(post.id)),
        target_id: Set(Some(target.id)),
        plug_id: Set(None),
        attempt: Set(1),
        error_class: Set(None),
        error: Set(None),
        started_at: Set(now),
        finished_at: Set(Some(now)),
        duration_ms: Set(Some(12)),
    }
    .insert(&conn)
    .await
    .expect("job");
    engagement_snapshot::ActiveModel {
        id: Set(id()),
        target_id: Set(target.id),
        observed_at: Set(now),
        like_count: Set(3),
        comment_count: Set(1),
        repost_count: Set(0),
        impression_count: Set(120),
    }
    .insert(&conn)
    .await
    .expect("snapshot");
    media_asset::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        uploaded_by: Set(Some(user.id)),
        kind: Set(MediaKind::Image),
        mime_type: Set("image/png".into()),
        file_name: Set("chart.png".into()),
        byte_size: Set(2048),
        width: Set(Some(800)),
        height: Set(Some(600)),
        duration_ms: Set(None),
        alt_text: Set(Some("A chart".into())),
        storage_key: Set("media/abc.png".into()),
        sha256: Set("c".repeat(64)),
        created_at: Set(now),
        public_token: Set("d".repeat(48)),
    }
    .insert(&conn)
    .await
    .expect("media");
    notification::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        user_id: Set(Some(user.id)),
        kind: Set("post.failed".into()),
        title: Set("A post failed".into()),
        body: Set("X said: duplicate content".into()),
        link: Set(Some("/posts".into())),
        read_at: Set(None),
        created_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("notification");
    api_key::ActiveModel {
        id: Set(id()),
        workspace_id: Set(ws.id),
        created_by: Set(Some(user.id)),
        name: Set("CI".into()),
        prefix: Set("op_live_ab".into()),
        key_hash: Set("d".repeat(64)),
        scopes: Set("posts:write".into()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(None),
        created_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("api key");
    audit_log::ActiveModel {
        id: Set(id()),
        workspace_id: Set(Some(ws.id)),
        actor_user_id: Set(Some(user.id)),
        action: Set("post.scheduled".into()),
        subject_type: Set("post".into()),
        subject_id: Set(Some(post.id.to_string())),
        details: Set(serde_json::json!({"at": scheduled})),
        ip: Set(Some("127.0.0.1".into())),
        created_at: Set(now),
    }
    .insert(&conn)
    .await
    .expect("audit");

    // Reads back with enums and times intact, through the hot-query shape the worker will use.
    let due = entities::post_target::Entity::find()
        .filter(entities::post_target::Column::State.eq(TargetState::Pending))
        .filter(entities::post_target::Column::NextAttemptAt.lte(scheduled))
        .all(&conn)
        .await
        .expect("due targets");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].platform, PlatformKind::Sandbox);
    let stored = entities::post::Entity::find_by_id(post.id)
        .one(&conn)
        .await
        .expect("query")
        .expect("post");
    assert_eq!(stored.status, PostStatus::Scheduled);
    assert_eq!(stored.content, "Hello 🌍");
    assert_eq!(
        stored.scheduled_at.map(|t| t.timestamp_millis()),
        Some(scheduled.timestamp_millis()),
        "UTC time survives storage"
    );

    // Deleting the workspace removes what it owns.
    entities::workspace::Entity::delete_by_id(ws.id)
        .exec(&conn)
        .await
        .expect("delete workspace");
    assert!(
        entities::post::Entity::find()
            .all(&conn)
            .await
            .expect("query")
            .is_empty()
    );
    assert!(
        entities::post_target::Entity::find()
            .all(&conn)
            .await
            .expect("query")
            .is_empty()
    );
    assert_eq!(
        entities::audit_log::Entity::find()
            .all(&conn)
            .await
            .expect("query")
            .len(),
        1,
        "audit outlives"
    );
}
