//! The post server functions through the real server: drafts, scheduling with field-by-field
//! refusals, the person's own time zone, compare-and-set editing, unscheduling and deleting.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use omniplug_core::{
    entities::{TargetState, post, post_target},
    schedule,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::Value;

use crate::support::{Browser, TestApp, string_pairs};

async fn with_sandbox_account(app: &TestApp) -> (Browser, String, String) {
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await; // time zone Europe/Paris
    let ws = ada.workspace_id().await;
    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let connection = card["id"].as_str().expect("connection").to_owned();
    (ada, ws, connection)
}

/// The next last Sunday of March, when Paris skips 02:00–03:00.
fn next_paris_gap() -> NaiveDate {
    let today = Utc::now().date_naive();
    (today.year()..)
        .map(|year| {
            let end = NaiveDate::from_ymd_opt(year, 3, 31).expect("date");
            end - Duration::days(i64::from(end.weekday().num_days_from_sunday()))
        })
        .find(|day| *day > today)
        .expect("a future March")
}

async fn save(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    browser.call("save_post", fields).await
}

#[tokio::test]
async fn drafts_save_and_scheduling_answers_field_by_field() {
    let app = TestApp::spawn().await;
    let (ada, ws, connection) = with_sandbox_account(&app).await;

    let draft = ada
        .ok(
            "save_post",
            &[("workspace_id", &ws), ("post[text]", "An idea")],
        )
        .await;
    assert_eq!(
        (draft["status"].as_str(), draft["version"].as_i64()),
        (Some("DRAFT"), Some(0))
    );

    // Scheduling checks everything and says where.
    let long = "a".repeat(501);
    let gap = format!("{}T02:30", next_paris_gap());
    assert_eq!(next_paris_gap().weekday(), Weekday::Sun);
    let response = save(
        &ada,
        &[
            ("workspace_id", &ws),
            ("post[text]", &long),
            ("post[connection_ids][0]", &connection),
            ("post[plugs][0][platform]", "x"),
            ("post[plugs][0][text]", "Get it"),
            ("post[plugs][0][trigger]", "likes"),
            ("post[plugs][0][value]", "10"),
            ("post[schedule]", &gap),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["kind"], "invalid");
    let fields = string_pairs(&body["fields"], "field", "message");
    assert_eq!(
        fields,
        vec![
            (
                "text".to_owned(),
                "Sandbox allows 500 characters; this is 501. Shorten it by 1.".to_owned()
            ),
            (
                "plugs.x".to_owned(),
                "This post does not go to X; add a X account or remove the plug.".to_owned()
            ),
            (
                "scheduled_at".to_owned(),
                format!(
                    "02:30 on {} does not exist in Europe/Paris: the clocks skip that hour. Pick another time.",
                    next_paris_gap()
                )
            ),
        ]
    );
    assert_eq!(
        body["message"], fields[0].1,
        "the message is the first field's"
    );

    let (status, message) = crate::support::error_of(
        save(
            &ada,
            &[
                ("workspace_id", &ws),
                ("post[text]", "Hi"),
                ("post[schedule]", "tomorrow morning"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "Use a date and time like 2026-12-01T09:30.")
    );
}

#[tokio::test]
async fn a_scheduled_post_is_edited_once_per_version_then_unscheduled_and_deleted() {
    let app = TestApp::spawn().await;
    let (ada, ws, connection) = with_sandbox_account(&app).await;
    // Tokyo keeps one offset all year (UTC+9), so the expected instant is plain arithmetic.
    ada.ok(
        "update_profile",
        &[("name", "Ada"), ("timezone", "Asia/Tokyo")],
    )
    .await;
    let day = Utc::now().date_naive() + Duration::days(30);
    let local = format!("{day}T09:30");
    let fields = |text: &'static str, version: &'static str, id: &str| {
        vec![
            ("workspace_id", ws.clone()),
            ("post[post_id]", id.to_owned()),
            ("post[version]", version.to_owned()),
            ("post[text]", text.to_owned()),
            ("post[connection_ids][0]", connection.clone()),
            ("post[plugs][0][platform]", "sandbox".to_owned()),
            ("post[plugs][0][text]", "Get it at omniplug.test".to_owned()),
            ("post[plugs][0][trigger]", "time_after_publish".to_owned()),
            ("post[plugs][0][value]", "60".to_owned()),
            ("post[schedule]", local.clone()),
        ]
    };
    let as_refs =
        |v: &[(&'static str, String)]| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let first = as_refs(&fields("Launch day", "0", ""));
    let first: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = ada.ok("save_post", &first).await;
    assert_eq!(saved["status"], "SCHEDULED");
    assert_eq!(
        saved["scheduled_at"],
        format!("{day}T00:30:00Z"),
        "09:30 in Tokyo"
    );
    assert_eq!(saved["targets"][0]["state"], "PENDING");
    assert_eq!(saved["plugs"][0]["trigger"], "TIME_AFTER_PUBLISH");
    let id = saved["id"].as_str().expect("id").to_owned();
    // The worker will find it: its target is in the due index at its instant.
    let target: sea_orm::prelude::Uuid = saved["targets"][0]["id"]
        .as_str()
        .expect("target")
        .parse()
        .expect("uuid");
    let due = schedule::due_at(&app.stores.redis, schedule::Due::Publish(target))
        .await
        .expect("redis");
    assert_eq!(
        due.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        Some(format!("{day}T00:30:00Z"))
    );

    let edit = as_refs(&fields("Launch day, edited", "0", &id));
    let edit: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let edited = ada.ok("save_post", &edit).await;
    assert_eq!(
        (edited["text"].as_str(), edited["version"].as_i64()),
        (Some("Launch day, edited"), Some(1))
    );
    // The same edit again comes from a stale page.
    let (status, message) = crate::support::error_of(save(&ada, &edit).await).await;
    assert_eq!(
        (status, message.as_str()),
        (
            409,
            "This post was changed in the meantime. Reload it to see the latest version."
        )
    );

    let drafted = ada
        .ok(
            "unschedule_post",
            &[("workspace_id", &ws), ("post_id", &id), ("version", "1")],
        )
        .await;
    assert_eq!(
        (drafted["status"].as_str(), drafted["scheduled_at"].as_str()),
        (Some("DRAFT"), None)
    );

    // Once the worker is publishing it, nothing changes it.
    post::Entity::update_many()
        .col_expr(
            post::Column::Status,
            Expr::value(omniplug_core::entities::PostStatus::Publishing),
        )
        .filter(post::Column::Id.eq(id.parse::<sea_orm::prelude::Uuid>().expect("uuid")))
        .exec(&app.stores.db)
        .await
        .expect("publishing");
    let (status, message) = ada
        .err("delete_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(
        (status, message.as_str()),
        (409, "This post is publishing and can no longer be changed.")
    );
    post::Entity::update_many()
        .col_expr(
            post::Column::Status,
            Expr::value(omniplug_core::entities::PostStatus::Draft),
        )
        .exec(&app.stores.db)
        .await
        .expect("back");
    ada.ok("delete_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    let (status, _) = ada
        .err("get_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn publish_now_sends_a_draft_at_once_duplicates_copy_and_failed_targets_retry() {
    let app = TestApp::spawn().await;
    let (ada, ws, connection) = with_sandbox_account(&app).await;
    let worker = app.worker().await;
    let draft = ada
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "Right now"),
                ("post[connection_ids][0]", &connection),
            ],
        )
        .await;
    let id = draft["id"].as_str().expect("id").to_owned();
    let queued = ada
        .ok(
            "publish_post_now",
            &[("workspace_id", &ws), ("post_id", &id), ("version", "0")],
        )
        .await;
    assert_eq!(queued["status"], "SCHEDULED");
    worker.step(Utc::now()).await.expect("step");
    let sent = ada
        .ok("get_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(sent["status"], "PUBLISHED", "{sent}");
    assert_eq!(sent["targets"][0]["state"], "PUBLISHED");
    assert!(sent["targets"][0]["url"].is_string(), "{sent}");
    // Published: publish now again is refused.
    let (status, message) = ada
        .err(
            "publish_post_now",
            &[("workspace_id", &ws), ("post_id", &id), ("version", "3")],
        )
        .await;
    assert_eq!(
        (status, message.as_str()),
        (409, "This post is published and can no longer be changed.")
    );

    let copy = ada
        .ok("duplicate_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(copy["status"], "DRAFT");
    assert_eq!(copy["text"], "Right now");
    assert_ne!(copy["id"], sent["id"]);
    assert_eq!(copy["targets"][0]["connection_id"], connection.as_str());

    // A target that failed (say, the account needed reconnecting) is retried on request.
    let target: sea_orm::prelude::Uuid = sent["targets"][0]["id"]
        .as_str()
        .expect("target")
        .parse()
        .expect("uuid");
    post_target::Entity::update_many()
        .col_expr(post_target::Column::State, Expr::value(TargetState::Failed))
        .col_expr(
            post_target::Column::FailReason,
            Expr::value(Some("Reconnect the account.".to_owned())),
        )
        .filter(post_target::Column::Id.eq(target))
        .exec(&app.stores.db)
        .await
        .expect("fail it");
    let retried = ada
        .ok(
            "retry_target",
            &[("workspace_id", &ws), ("target_id", &target.to_string())],
        )
        .await;
    assert_eq!(retried["status"], "PUBLISHING");
    assert_eq!(retried["targets"][0]["state"], "PENDING");
    worker.step(Utc::now()).await.expect("step");
    let again = ada
        .ok("get_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(again["targets"][0]["state"], "PUBLISHED", "{again}");
    // Only failed targets can be retried.
    let (status, _) = ada
        .err(
            "retry_target",
            &[("workspace_id", &ws), ("target_id", &target.to_string())],
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_calendar_reschedules_lists_searches_and_counts_in_the_persons_zone() {
    let app = TestApp::spawn().await;
    let (ada, ws, connection) = with_sandbox_account(&app).await; // Europe/Paris
    let day = Utc::now().date_naive() + Duration::days(20);
    let saved = ada
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "Calendar post about sourdough"),
                ("post[connection_ids][0]", &connection),
                ("post[schedule]", &format!("{day}T09:00")),
            ],
        )
        .await;
    let id = saved["id"].as_str().expect("id").to_owned();
    assert_eq!(saved["local_at"], format!("{day}T09:00"));
    ada.ok(
        "save_post",
        &[("workspace_id", &ws), ("post[text]", "A draft about bread")],
    )
    .await;

    // The month around that day holds the scheduled post (drafts have no place on it).
    let month = ada
        .ok(
            "get_calendar",
            &[
                ("workspace_id", &ws),
                ("view", "month"),
                ("day", &day.to_string()),
            ],
        )
        .await;
    assert_eq!(month["weeks"].as_array().expect("weeks").len(), 6);
    let on_it: Vec<&str> = month["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(on_it, ["Calendar post about sourdough"]);

    // Dragged to the next day at 10:30: the same post, the new time, re-indexed.
    let next = day + Duration::days(1);
    let moved = ada
        .ok(
            "reschedule_post",
            &[
                ("workspace_id", &ws),
                ("post_id", &id),
                ("version", "0"),
                ("schedule", &format!("{next}T10:30")),
            ],
        )
        .await;
    assert_eq!(moved["local_at"], format!("{next}T10:30"));
    assert_eq!(moved["version"], 1);
    assert_eq!(moved["text"], "Calendar post about sourdough");
    let target: sea_orm::prelude::Uuid = moved["targets"][0]["id"]
        .as_str()
        .expect("target")
        .parse()
        .expect("uuid");
    let due = schedule::due_at(&app.stores.redis, schedule::Due::Publish(target))
        .await
        .expect("redis")
        .expect("indexed");
    assert_eq!(
        Some(due),
        moved["scheduled_at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    );
    // A stale drag (old version) and a time the clocks skip are refused, and say why.
    let stale = ada
        .call(
            "reschedule_post",
            &[
                ("workspace_id", &ws),
                ("post_id", &id),
                ("version", "0"),
                ("schedule", &format!("{next}T11:00")),
            ],
        )
        .await;
    assert_eq!(stale.status(), 409);
    let gap = ada
        .call(
            "reschedule_post",
            &[
                ("workspace_id", &ws),
                ("post_id", &id),
                ("version", "1"),
                ("schedule", &format!("{}T02:30", next_paris_gap())),
            ],
        )
        .await;
    assert_eq!(gap.status(), 400);
    assert!(gap.text().await.expect("body").contains("clocks skip"));

    // The list filters by status and searches the text.
    let drafts = ada
        .ok(
            "list_posts",
            &[("workspace_id", &ws), ("filter[status]", "DRAFT")],
        )
        .await;
    assert_eq!(drafts["total"], 1);
    assert_eq!(drafts["posts"][0]["text"], "A draft about bread");
    let found = ada
        .ok(
            "list_posts",
            &[("workspace_id", &ws), ("filter[search]", "SOURDOUGH")],
        )
        .await;
    assert_eq!(found["total"], 1);
    let bad = ada
        .call(
            "list_posts",
            &[("workspace_id", &ws), ("filter[status]", "LOST")],
        )
        .await;
    assert_eq!(bad.status(), 400);
    // A page far past the end is empty, not an error.
    let far = ada
        .ok(
            "list_posts",
            &[
                ("workspace_id", &ws),
                ("filter[page]", "18446744073709551615"),
            ],
        )
        .await;
    assert_eq!(far["posts"].as_array().map(Vec::len), Some(0));
    assert_eq!(far["total"], 2);

    // The dashboard: next up is the scheduled post; nothing published yet.
    let board = ada.ok("get_dashboard", &[("workspace_id", &ws)]).await;
    assert_eq!(board["upcoming"][0]["id"], id.as_str());
    assert_eq!(board["month_published"], 0);
    assert_eq!(board["streak_days"], 0);

    // The composer's time check: the instant in UTC, or the reason.
    let check = ada
        .ok("check_time", &[("schedule", &format!("{next}T10:30"))])
        .await;
    assert!(check["utc"].as_str().expect("utc").contains("UTC"));
    let skipped = ada
        .call(
            "check_time",
            &[("schedule", &format!("{}T02:30", next_paris_gap()))],
        )
        .await;
    assert_eq!(skipped.status(), 400);
}
