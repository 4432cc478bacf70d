//! One workspace never reaches another's data. Ada (workspace A) calls every workspace-scoped
//! server function with ids from Bea's workspace B and gets "Not found." while B stays exactly
//! as it was. The test walks the *registered* server functions and routes, so a new one that
//! is not classified here fails it until someone decides how it is scoped.

use std::collections::BTreeSet;

use crate::support::TestApp;
use omniplug_core::entities::{
    audit_log, invitation, media_asset, membership, platform_connection, post, workspace,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, prelude::Uuid};

/// How a server function relates to workspaces.
enum Scope {
    /// Takes workspace (and member/invitation) ids: called with B's ids, it must answer 404.
    Workspace(&'static [&'static str]),
    /// Not about one workspace's data; the reason is checked to be given.
    Unscoped(&'static str),
}

fn classify(endpoint: &str) -> Option<Scope> {
    use Scope::{Unscoped, Workspace};
    Some(match endpoint {
        "switch_workspace" | "list_members" | "leave_workspace" => Workspace(&["workspace_id"]),
        "rename_workspace" => Workspace(&["workspace_id", "name"]),
        "delete_workspace" => Workspace(&["workspace_id", "confirm"]),
        "invite_member" => Workspace(&["workspace_id", "email", "role"]),
        "revoke_invitation" => Workspace(&["workspace_id", "invitation_id"]),
        "change_member_role" => Workspace(&["workspace_id", "member_id", "role"]),
        "remove_member" | "transfer_ownership" => Workspace(&["workspace_id", "member_id"]),
        "list_connections" | "connect_sandbox" => Workspace(&["workspace_id"]),
        "begin_connect" => Workspace(&["workspace_id", "platform"]),
        "connect_bluesky" => Workspace(&["workspace_id", "handle", "app_password", "server"]),
        "rename_connection" => Workspace(&["workspace_id", "connection_id", "label"]),
        "sandbox_audience" => Workspace(&["workspace_id", "post", "likes"]),
        "disconnect_connection" | "check_connection" => {
            Workspace(&["workspace_id", "connection_id"])
        }
        "save_post" => Workspace(&["workspace_id", "post[post_id]", "post[text]"]),
        "get_post" | "delete_post" => Workspace(&["workspace_id", "post_id"]),
        "unschedule_post" | "publish_post_now" => {
            Workspace(&["workspace_id", "post_id", "version"])
        }
        "duplicate_post" => Workspace(&["workspace_id", "post_id"]),
        "retry_target" => Workspace(&["workspace_id", "target_id"]),
        "reschedule_post" => Workspace(&["workspace_id", "post_id", "version", "schedule"]),
        "list_posts" | "get_dashboard" => Workspace(&["workspace_id"]),
        "list_media" => Workspace(&["workspace_id", "page"]),
        "delete_media" => Workspace(&["workspace_id", "media_id"]),
        "get_calendar" => Workspace(&["workspace_id", "view", "day"]),
        "check_time" => Unscoped("reads a time in the caller's own zone; no workspace data"),
        "sign_up" | "log_in" => Unscoped("creates or opens the caller's own session"),
        "log_out" | "log_out_everywhere" | "current_user" => Unscoped("the caller's own sessions"),
        "update_profile" | "change_password" => Unscoped("the caller's own account"),
        "time_zones" | "system_status" => Unscoped("public, no workspace data"),
        "create_workspace" => Unscoped("creates a new workspace owned by the caller"),
        "invitation" | "accept_invitation" => {
            Unscoped("keyed by the secret link token; tested below with B's invitation id")
        }
        _ => return None,
    })
}

/// Everything about workspace B that a leak could change.
async fn snapshot(app: &TestApp, ws: Uuid) -> String {
    let db = &app.stores.db;
    let w = workspace::Entity::find_by_id(ws).one(db).await.expect("db");
    let members = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(ws))
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await
        .expect("db");
    let invites = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(ws))
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await
        .expect("db");
    let connections = platform_connection::Entity::find()
        .filter(platform_connection::Column::WorkspaceId.eq(ws))
        .all(db)
        .await
        .expect("db");
    let posts = post::Entity::find()
        .filter(post::Column::WorkspaceId.eq(ws))
        .all(db)
        .await
        .expect("db");
    let media = media_asset::Entity::find()
        .filter(media_asset::Column::WorkspaceId.eq(ws))
        .all(db)
        .await
        .expect("db");
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::WorkspaceId.eq(ws))
        .all(db)
        .await
        .expect("db")
        .len();
    format!(
        "{w:?}\n{members:?}\n{invites:?}\n{connections:?}\n{posts:?}\n{media:?}\naudit entries: {audit}"
    )
}

#[tokio::test]
async fn every_workspace_scoped_server_function_answers_not_found_for_another_workspace() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws_a = ada.workspace_id().await;
    let bea = app.browser();
    bea.sign_up("bea@example.com", "Bea").await;
    let ws_b = bea.workspace_id().await;
    let cai = app.browser();
    cai.sign_up("cai@example.com", "Cai").await;
    let token = bea.invite(&ws_b, "cai@example.com", "editor").await;
    cai.ok("accept_invitation", &[("token", &token)]).await;
    bea.invite(&ws_b, "pending@example.com", "viewer").await;
    let view_b = bea.ok("list_members", &[("workspace_id", &ws_b)]).await;
    let member_b = bea.member_id(&ws_b, "cai@example.com").await;
    let owner_b = bea.member_id(&ws_b, "bea@example.com").await;
    let invitation_b = view_b["invitations"][0]["id"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let connected = bea.ok("connect_sandbox", &[("workspace_id", &ws_b)]).await;
    let connection_b = connected["id"].as_str().expect("connection").to_owned();
    let saved = bea
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws_b),
                ("post[text]", "Bea's draft"),
                ("post[connection_ids][0]", &connection_b),
            ],
        )
        .await;
    let post_b = saved["id"].as_str().expect("post").to_owned();
    let target_b = saved["targets"][0]["id"]
        .as_str()
        .expect("target")
        .to_owned();
    let media_b = bea
        .uploaded(&ws_b, "bea.png", omniplug_testkit::samples::png(8, 8))
        .await["id"]
        .as_str()
        .expect("media")
        .to_owned();
    let b_id: Uuid = ws_b.parse().expect("uuid");
    let before = snapshot(&app, b_id).await;

    // The upload answers like a server function: B's workspace is not found for A.
    let response = ada
        .upload(
            &ws_b,
            "a.png",
            "image/png",
            omniplug_testkit::samples::png(8, 8),
        )
        .await;
    assert_eq!(response.status(), 404, "uploading into another workspace");

    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let unclassified: Vec<&String> = registered
        .iter()
        .filter(|e| classify(e).is_none())
        .collect();
    assert!(
        unclassified.is_empty(),
        "classify these server functions in tests/isolation.rs: {unclassified:?}"
    );

    let mut scoped = 0;
    for endpoint in &registered {
        let fields = match classify(endpoint) {
            Some(Scope::Workspace(fields)) => fields,
            Some(Scope::Unscoped(reason)) => {
                assert!(!reason.is_empty(), "{endpoint} needs a reason");
                continue;
            }
            None => unreachable!("checked above"),
        };
        scoped += 1;
        // B's workspace id with B's other ids, then A's own workspace id with B's other ids.
        for workspace_id in [&ws_b, &ws_a] {
            let has_other_ids = fields.iter().any(|f| {
                [
                    "member_id",
                    "invitation_id",
                    "connection_id",
                    "post_id",
                    "post[post_id]",
                    "target_id",
                    "media_id",
                ]
                .contains(f)
            });
            if workspace_id == &ws_a && !has_other_ids {
                continue;
            }
            let form: Vec<(&str, &str)> = fields
                .iter()
                .map(|field| {
                    let value = match *field {
                        "workspace_id" => workspace_id.as_str(),
                        "member_id" if endpoint == "transfer_ownership" => member_b.as_str(),
                        "member_id" if endpoint == "change_member_role" => owner_b.as_str(),
                        "member_id" => member_b.as_str(),
                        "invitation_id" => invitation_b.as_str(),
                        "connection_id" => connection_b.as_str(),
                        "post_id" | "post[post_id]" => post_b.as_str(),
                        "target_id" => target_b.as_str(),
                        "media_id" => media_b.as_str(),
                        "page" => "1",
                        "post[text]" => "Taken over",
                        "version" => "0",
                        "platform" => "x",
                        "handle" => "mallory.test",
                        "app_password" => "not-a-real-one",
                        "server" => "",
                        "label" => "Taken over",
                        "name" => "Taken over",
                        "confirm" => "Bea's workspace",
                        "email" => "mallory@example.com",
                        "role" => "viewer",
                        "schedule" => "2030-01-07T09:00",
                        "view" => "month",
                        "day" => "",
                        "post" => "at://did:plc:sandbox00000001/app.bsky.feed.post/1",
                        "likes" => "500",
                        other => panic!("no value for {other}"),
                    };
                    (*field, value)
                })
                .collect();
            assert_eq!(
                ada.err(endpoint, &form).await,
                (404, "Not found.".to_owned()),
                "{endpoint} with {form:?}"
            );
        }
    }
    assert!(
        scoped >= 10,
        "only {scoped} scoped functions were exercised"
    );

    // Token-keyed functions: an invitation's id is not its secret.
    let (status, _) = ada
        .err("accept_invitation", &[("token", &invitation_b)])
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        ada.err("invitation", &[("token", &invitation_b)]).await.0,
        400
    );

    assert_eq!(
        snapshot(&app, b_id).await,
        before,
        "workspace B changed through A"
    );
    let me = ada.ok("current_user", &[]).await;
    assert_eq!(me["workspace"]["id"], ws_a.as_str(), "still in A");
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(1));
}

/// Pages take no workspace ids: they show the session's current workspace, which only
/// `switch_workspace` (above) can change. Every route must be classified here.
#[tokio::test]
async fn every_route_is_classified_and_pages_show_only_the_current_workspace() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let bea = app.browser();
    bea.sign_up("bea@example.com", "Bea Secretname").await;
    let ws_b = bea.workspace_id().await;
    bea.ok(
        "rename_workspace",
        &[("workspace_id", &ws_b), ("name", "Zanzibar Secret Project")],
    )
    .await;
    let media_b = bea
        .uploaded(&ws_b, "secret.png", omniplug_testkit::samples::png(8, 8))
        .await["id"]
        .as_str()
        .expect("media")
        .to_owned();

    let mut paths: Vec<String> = server::route_list()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    paths.extend(server::routes::PATHS.iter().map(|p| (*p).to_owned()));
    paths.extend(server::media::PATHS.iter().map(|p| (*p).to_owned()));
    for path in &paths {
        let concrete = match path.as_str() {
            "/" | "/login" | "/signup" | "/health" | "/metrics" => path.clone(),
            "/dashboard"
            | "/compose"
            | "/schedule"
            | "/analytics"
            | "/settings"
            | "/settings/workspace"
            | "/settings/members"
            | "/connections"
            | "/library"
            | "/posts" => path.clone(),
            // Another workspace's file reads as missing, its thumbnail too.
            "/media/{id}" => format!("/media/{media_b}"),
            "/media/{id}/thumb" => format!("/media/{media_b}/thumb"),
            // Public addresses need the file's secret token.
            "/media/public/{id}/{token}" => format!("/media/public/{media_b}/guessed"),
            // Takes POSTs only (tested with another workspace's id in the test above).
            "/api/media/upload" => path.clone(),
            "/invite/{token}" => format!("/invite/{ws_b}"),
            // Any id: a post of another workspace reads as gone.
            "/posts/{id}" => format!("/posts/{ws_b}"),
            // Keyed by the single-use state, which is bound to the person who started.
            "/connections/callback/{platform}" => {
                "/connections/callback/x?code=c&state=s".to_owned()
            }
            other => panic!("classify route {other} in tests/isolation.rs"),
        };
        let response = ada.get(&concrete).await;
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        let expected: &[u16] = if concrete.starts_with("/connections/callback/") {
            &[400]
        } else if concrete.starts_with("/media/") {
            &[404]
        } else if concrete == "/api/media/upload" {
            &[405]
        } else {
            &[200, 303]
        };
        assert!(expected.contains(&status), "{concrete} answered {status}");
        for secret in [
            "Zanzibar Secret Project",
            "Bea Secretname",
            "bea@example.com",
        ] {
            assert!(!body.contains(secret), "{concrete} shows {secret}");
        }
    }
}
