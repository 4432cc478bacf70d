//! Saving, scheduling, editing and deleting posts against a real database: the rules with
//! their field names, the workspace's own connections only, and compare-and-set editing.

use chrono::{NaiveDate, TimeZone, Utc};
use omniplug_core::{
    db,
    entities::{
        PlatformKind, PlugTrigger, PostStatus, Role, membership, platform_connection as pc, post,
    },
    identity,
    post_rules::PlugDraft,
    posts::{self, PostError, PostInput},
    tenancy::{Action, WorkspaceAccess, authorize},
};
use omniplug_platforms::Platform;
use omniplug_testkit::{fresh_database, test_config};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    prelude::Uuid, sea_query::Expr,
};

async fn database() -> (omniplug_testkit::TestDatabase, DatabaseConnection) {
    let test_db = fresh_database().await;
    let conn = db::connect(&test_config(&test_db)).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    (test_db, conn)
}

async fn person(db: &DatabaseConnection, email: &str) -> WorkspaceAccess {
    let signed = identity::sign_up(db, email, "correct horse battery", "Ada", "Europe/Paris")
        .await
        .expect("sign up");
    authorize(db, signed.user.id, signed.workspace.id, Action::Read)
        .await
        .expect("owner")
}

async fn connection(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    platform: PlatformKind,
) -> Uuid {
    let now = Utc::now();
    let id = Uuid::new_v4();
    pc::ActiveModel {
        id: Set(id),
        workspace_id: Set(access.workspace_id()),
        platform: Set(platform),
        platform_user_id: Set(format!("acct-{id}")),
        handle: Set("@ada".into()),
        display_name: Set(None),
        avatar_url: Set(None),
        access_token_enc: Set("k1:sealed".into()),
        refresh_token_enc: Set(None),
        token_expires_at: Set(None),
        scopes: Set(String::new()),
        is_valid: Set(true),
        last_error: Set(None),
        history: Set(serde_json::json!([])),
        connected_by: Set(Some(access.user_id())),
        created_at: Set(now),
        updated_at: Set(now),
        label: Set(None),
        base_url: Set(None),
        secret_enc: Set(None),
        checked_at: Set(None),
        refresh_lease_until: Set(None),
        disconnected_at: Set(None),
    }
    .insert(db)
    .await
    .expect("connection");
    id
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, min, 0))
        .expect("date")
}

fn invalid_fields(result: Result<posts::SavedPost, PostError>) -> Vec<(String, String)> {
    match result {
        Err(PostError::Invalid(errors)) => {
            errors.into_iter().map(|e| (e.field, e.message)).collect()
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
}

#[tokio::test]
async fn drafts_save_freely_and_scheduling_checks_every_rule_with_its_field() {
    let (_t, db) = database().await;
    let ada = person(&db, "ada@example.com").await;
    let x = connection(&db, &ada, PlatformKind::X).await;
    let bluesky = connection(&db, &ada, PlatformKind::Bluesky).await;
    let now = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("now");

    // A draft may be unfinished: no accounts, no text.
    let draft = posts::create(
        &db,
        &ada,
        &PostInput {
            time_zone: "Europe/Paris".into(),
            ..PostInput::default()
        },
        now,
    )
    .await
    .expect("draft");
    assert_eq!(draft.post.status, PostStatus::Draft);
    assert_eq!(draft.post.scheduled_at, None);

    // Scheduling checks the text for each network it goes to, the plugs and the time.
    let input = PostInput {
        text: "a".repeat(281),
        connection_ids: vec![x, bluesky],
        plugs: vec![PlugDraft {
            platform: Platform::Bluesky,
            text: "Get it at omniplug.test".into(),
            trigger: PlugTrigger::Likes,
            value: 0,
        }],
        schedule: Some(at(2026, 3, 29, 2, 30)),
        time_zone: "Europe/Paris".into(),
        ..PostInput::default()
    };
    assert_eq!(
        invalid_fields(posts::create(&db, &ada, &input, now).await),
        vec![
            ("text".to_owned(), "X allows 280 characters; this is 281. Shorten it by 1.".to_owned()),
            ("plugs.bluesky.value".to_owned(), "The threshold must be at least 1.".to_owned()),
            (
                "scheduled_at".to_owned(),
                "02:30 on 2026-03-29 does not exist in Europe/Paris: the clocks skip that hour. Pick another time.".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn scheduled_posts_store_targets_overrides_and_plugs_and_edits_are_compare_and_set() {
    let (_t, db) = database().await;
    let ada = person(&db, "ada@example.com").await;
    let x = connection(&db, &ada, PlatformKind::X).await;
    let bluesky = connection(&db, &ada, PlatformKind::Bluesky).await;
    let now = Utc
        .with_ymd_and_hms(2026, 10, 1, 12, 0, 0)
        .single()
        .expect("now");
    let mut input = PostInput {
        text: "Launch day".into(),
        overrides: vec![(Platform::X, "Launch day on X".into())],
        connection_ids: vec![x, bluesky],
        plugs: vec![PlugDraft {
            platform: Platform::X,
            text: "Get it at omniplug.test".into(),
            trigger: PlugTrigger::Likes,
            value: 100,
        }],
        // Happens twice in Paris: the earlier instant is taken, and said so.
        schedule: Some(at(2026, 10, 25, 2, 30)),
        time_zone: "Europe/Paris".into(),
        media: Vec::new(),
    };
    let saved = posts::create(&db, &ada, &input, now)
        .await
        .expect("scheduled");
    assert_eq!(saved.post.status, PostStatus::Scheduled);
    assert_eq!(
        saved.post.scheduled_at,
        Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).single()
    );
    assert!(
        saved
            .note
            .as_deref()
            .is_some_and(|n| n.contains("happens twice"))
    );
    assert_eq!(saved.targets.len(), 2);
    let x_target = saved
        .targets
        .iter()
        .find(|t| t.connection_id == x)
        .expect("x target");
    assert_eq!(
        x_target.content_override.as_deref(),
        Some("Launch day on X")
    );
    assert_eq!(x_target.next_attempt_at, saved.post.scheduled_at);
    assert_eq!(saved.plugs.len(), 1);
    assert_eq!(
        (saved.plugs[0].trigger, saved.plugs[0].trigger_value),
        (PlugTrigger::Likes, 100)
    );

    // Editing replaces targets and plugs and moves the version on.
    input.connection_ids = vec![bluesky];
    input.overrides.clear();
    input.plugs = vec![PlugDraft {
        platform: Platform::Bluesky,
        text: "Link in bio".into(),
        trigger: PlugTrigger::TimeAfterPublish,
        value: 60,
    }];
    input.schedule = Some(at(2026, 10, 26, 9, 0));
    let edited = posts::update(&db, &ada, saved.post.id, 0, &input, now)
        .await
        .expect("edit");
    assert_eq!(edited.post.version, 1);
    assert_eq!(edited.targets.len(), 1);
    assert_eq!(edited.plugs[0].platform, PlatformKind::Bluesky);
    let read = posts::get(&db, &ada, saved.post.id).await.expect("get");
    assert_eq!(
        (read.targets.len(), read.plugs.len()),
        (1, 1),
        "old children are gone"
    );

    // The same edit from a stale page is refused, not lost.
    let stale = posts::update(&db, &ada, saved.post.id, 0, &input, now).await;
    assert!(matches!(stale, Err(PostError::Conflict)), "{stale:?}");
    assert_eq!(
        PostError::Conflict.to_string(),
        "This post was changed in the meantime. Reload it to see the latest version."
    );

    // Back to a draft, then the worker starts publishing: now it is locked.
    let drafted = posts::unschedule(&db, &ada, saved.post.id, 1)
        .await
        .expect("unschedule");
    assert_eq!(
        (
            drafted.post.status,
            drafted.post.scheduled_at,
            drafted.post.version
        ),
        (PostStatus::Draft, None, 2)
    );
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
        .filter(post::Column::Id.eq(saved.post.id))
        .exec(&db)
        .await
        .expect("worker takes it");
    let locked = posts::update(&db, &ada, saved.post.id, 2, &input, now).await;
    assert!(
        matches!(locked, Err(PostError::Locked("publishing"))),
        "{locked:?}"
    );
    let locked = posts::delete(&db, &ada, saved.post.id).await;
    assert_eq!(
        locked.map_err(|e| e.to_string()),
        Err("This post is publishing and can no longer be changed.".to_owned())
    );
}

#[tokio::test]
async fn other_workspaces_connections_and_posts_are_not_found_and_viewers_cannot_write() {
    let (_t, db) = database().await;
    let ada = person(&db, "ada@example.com").await;
    let bea = person(&db, "bea@example.com").await;
    let beas_x = connection(&db, &bea, PlatformKind::X).await;
    let now = Utc::now();
    let input = PostInput {
        text: "Hi".into(),
        connection_ids: vec![beas_x],
        time_zone: "UTC".into(),
        ..PostInput::default()
    };
    assert!(matches!(
        posts::create(&db, &ada, &input, now).await,
        Err(PostError::NotFound)
    ));
    let beas_post = posts::create(&db, &bea, &input, now)
        .await
        .expect("bea's draft");
    assert!(matches!(
        posts::get(&db, &ada, beas_post.post.id).await,
        Err(PostError::NotFound)
    ));
    assert!(matches!(
        posts::delete(&db, &ada, beas_post.post.id).await,
        Err(PostError::NotFound)
    ));
    assert!(matches!(
        posts::unschedule(&db, &ada, beas_post.post.id, 0).await,
        Err(PostError::NotFound)
    ));

    // A viewer in Bea's workspace reads but does not write.
    let viewer = identity::sign_up(
        &db,
        "val@example.com",
        "correct horse battery",
        "Val",
        "UTC",
    )
    .await
    .expect("val");
    membership::ActiveModel {
        id: Set(Uuid::new_v4()),
        workspace_id: Set(bea.workspace_id()),
        user_id: Set(viewer.user.id),
        role: Set(Role::Viewer),
        created_at: Set(now),
    }
    .insert(&db)
    .await
    .expect("membership");
    let val = authorize(&db, viewer.user.id, bea.workspace_id(), Action::Read)
        .await
        .expect("viewer");
    posts::get(&db, &val, beas_post.post.id)
        .await
        .expect("viewers read");
    let refused = posts::create(&db, &val, &input, now).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.to_string()),
        Err("Your role does not allow this. Ask a workspace editor or owner.".to_owned())
    );
    // Bea deletes her draft; it is gone.
    posts::delete(&db, &bea, beas_post.post.id)
        .await
        .expect("delete");
    assert!(matches!(
        posts::get(&db, &bea, beas_post.post.id).await,
        Err(PostError::NotFound)
    ));
}
