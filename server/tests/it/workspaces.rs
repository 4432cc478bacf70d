//! Workspaces, members, invitations and the profile, through the real server's functions, with
//! the exact messages people see.

use crate::support::{PASSWORD, TestApp, string_pairs};
use chrono::{Duration, Utc};
use omniplug_core::entities::invitation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::Value;

fn names(me: &Value) -> Vec<String> {
    me["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .map(|w| w["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn workspaces_are_created_renamed_and_switched_and_the_session_remembers_the_choice() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada Lovelace").await;
    let personal = ada.workspace_id().await;

    let created = ada.ok("create_workspace", &[("name", "  Acme  ")]).await;
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["role"], "owner");
    let acme = created["id"].as_str().expect("id").to_owned();
    let me = ada.ok("current_user", &[]).await;
    assert_eq!(
        me["workspace"]["id"],
        acme.as_str(),
        "creating switches to it"
    );
    assert_eq!(names(&me), ["Ada's workspace", "Acme"]);

    let renamed = ada
        .ok(
            "rename_workspace",
            &[("workspace_id", &acme), ("name", "Acme Inc.")],
        )
        .await;
    assert_eq!(renamed["name"], "Acme Inc.");

    ada.ok("switch_workspace", &[("workspace_id", &personal)])
        .await;
    let me = ada.ok("current_user", &[]).await;
    assert_eq!(me["workspace"]["name"], "Ada's workspace");
    // Remembered by the session: every later request (page loads too) is in that workspace.
    let dashboard = ada.get("/dashboard").await.text().await.expect("html");
    assert!(
        dashboard.contains("You are in Ada&#x27;s workspace as owner.")
            || dashboard.contains("You are in Ada's workspace as owner."),
        "{dashboard}"
    );
    ada.ok("switch_workspace", &[("workspace_id", &acme)]).await;
    let me = ada.ok("current_user", &[]).await;
    assert_eq!(me["workspace"]["name"], "Acme Inc.");

    // A new login (another browser, or after logging out) opens where she left off.
    let laptop = app.browser();
    let me = laptop
        .ok(
            "log_in",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(me["workspace"]["name"], "Acme Inc.");
    assert_eq!(
        laptop.ok("current_user", &[]).await["workspace"]["id"],
        acme.as_str()
    );
}

#[tokio::test]
async fn bad_workspace_input_gets_the_message_to_show() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let long = "x".repeat(81);
    assert_eq!(
        ada.err("create_workspace", &[("name", "   ")]).await,
        (400, "Enter a name for the workspace.".into())
    );
    assert_eq!(
        ada.err("create_workspace", &[("name", &long)]).await,
        (
            400,
            "Use at most 80 characters for the workspace name.".into()
        )
    );
    assert_eq!(
        ada.err("rename_workspace", &[("workspace_id", &ws), ("name", "")])
            .await,
        (400, "Enter a name for the workspace.".into())
    );
    let invite = |email: &'static str, role: &'static str| {
        let ws = ws.clone();
        let ada = &ada;
        async move {
            ada.err(
                "invite_member",
                &[("workspace_id", &ws), ("email", email), ("role", role)],
            )
            .await
        }
    };
    assert_eq!(
        invite("", "editor").await,
        (400, "Enter your e-mail address.".into())
    );
    assert_eq!(
        invite("bob@", "editor").await,
        (
            400,
            "Enter a valid e-mail address, like name@example.com.".into()
        )
    );
    assert_eq!(
        invite("bob@example.com", "superuser").await,
        (400, "Pick a role: admin, editor or viewer.".into())
    );
    assert_eq!(
        invite("bob@example.com", "owner").await,
        (
            400,
            "Invite people as admin, editor or viewer; make them owner once they have joined."
                .into()
        )
    );
    assert_eq!(
        invite("ADA@example.com", "editor").await,
        (
            400,
            "ada@example.com is already a member of this workspace.".into()
        )
    );
    assert_eq!(
        ada.err(
            "delete_workspace",
            &[("workspace_id", &ws), ("confirm", "nope")]
        )
        .await,
        (
            400,
            "Type the workspace name exactly to confirm deleting it.".into()
        )
    );
    assert_eq!(
        ada.err("switch_workspace", &[("workspace_id", "not-a-uuid")])
            .await,
        (404, "Not found.".into())
    );
}

#[tokio::test]
async fn an_invitation_link_adds_the_member_once_and_expires_after_seven_days() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let token = ada.invite(&ws, "Bob@Example.com", "editor").await;

    // The link says what it offers, to anyone holding it.
    let bob = app.browser();
    let preview = bob.ok("invitation", &[("token", &token)]).await;
    assert_eq!(preview["workspace_name"], "Ada's workspace");
    assert_eq!(preview["email"], "bob@example.com");
    assert_eq!(preview["role"], "editor");
    assert_eq!(preview["invited_by"], "Ada");
    let page = bob
        .get(&format!("/invite/{token}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(page.contains("Sign up to accept"), "{page}");

    // Accepting needs a login.
    assert_eq!(
        bob.err("accept_invitation", &[("token", &token)]).await,
        (401, "Log in to continue.".into())
    );
    bob.sign_up("bob@example.com", "Bob").await;
    let joined = bob.ok("accept_invitation", &[("token", &token)]).await;
    assert_eq!(joined["name"], "Ada's workspace");
    assert_eq!(joined["role"], "editor");
    let me = bob.ok("current_user", &[]).await;
    assert_eq!(
        me["workspace"]["id"],
        ws.as_str(),
        "switched to the new workspace"
    );

    let view = ada.ok("list_members", &[("workspace_id", &ws)]).await;
    let members = string_pairs(&view["members"], "email", "role");
    assert_eq!(
        members,
        [
            ("ada@example.com".to_owned(), "owner".to_owned()),
            ("bob@example.com".to_owned(), "editor".to_owned())
        ]
    );
    assert_eq!(
        view["invitations"],
        Value::Array(vec![]),
        "no longer pending"
    );

    // Reused, unknown, expired.
    let carol = app.browser();
    carol.sign_up("carol@example.com", "Carol").await;
    let used = "This invitation has already been used. Log in to reach the workspace.";
    assert_eq!(
        carol.err("accept_invitation", &[("token", &token)]).await,
        (400, used.into())
    );
    assert_eq!(
        carol.err("invitation", &[("token", &token)]).await,
        (400, used.into())
    );
    assert_eq!(
        carol
            .err("accept_invitation", &[("token", "no-such-token")])
            .await,
        (
            400,
            "This invitation link is not valid. Ask the person who invited you for a new one."
                .into()
        )
    );
    let late = ada.invite(&ws, "carol@example.com", "viewer").await;
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .filter(invitation::Column::Email.eq("carol@example.com"))
        .exec(&app.stores.db)
        .await
        .expect("age the invitation");
    assert_eq!(
        carol.err("accept_invitation", &[("token", &late)]).await,
        (
            400,
            "This invitation has expired. Ask the person who invited you for a new one.".into()
        )
    );
    let me = carol.ok("current_user", &[]).await;
    assert_eq!(names(&me), ["Carol's workspace"], "nothing was joined");

    // Already a member: the link is not used up.
    let again = ada.invite(&ws, "dave@example.com", "viewer").await;
    assert_eq!(
        bob.err("accept_invitation", &[("token", &again)]).await,
        (400, "You are already a member of Ada's workspace.".into())
    );
}

#[tokio::test]
async fn invitations_can_be_revoked_and_replaced() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let first = ada.invite(&ws, "bob@example.com", "viewer").await;
    let second = ada.invite(&ws, "bob@example.com", "admin").await;
    let view = ada.ok("list_members", &[("workspace_id", &ws)]).await;
    let pending = view["invitations"].as_array().expect("invitations");
    assert_eq!(pending.len(), 1, "a new invitation replaces the old one");
    assert_eq!(pending[0]["role"], "admin");
    let bob = app.browser();
    assert_eq!(bob.err("invitation", &[("token", &first)]).await.0, 400);

    let id = pending[0]["id"].as_str().expect("id");
    ada.ok(
        "revoke_invitation",
        &[("workspace_id", &ws), ("invitation_id", id)],
    )
    .await;
    assert_eq!(
        bob.err("invitation", &[("token", &second)]).await,
        (
            400,
            "This invitation link is not valid. Ask the person who invited you for a new one."
                .into()
        )
    );
}

#[tokio::test]
async fn roles_change_members_leave_and_the_last_owner_stays() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let bob = app.browser();
    bob.sign_up("bob@example.com", "Bob").await;
    let token = ada.invite(&ws, "bob@example.com", "admin").await;
    bob.ok("accept_invitation", &[("token", &token)]).await;
    let ada_id = ada.member_id(&ws, "ada@example.com").await;
    let bob_id = ada.member_id(&ws, "bob@example.com").await;

    let last_owner = (
        400,
        "A workspace needs an owner. Make someone else owner first.".to_owned(),
    );
    assert_eq!(
        ada.err(
            "change_member_role",
            &[
                ("workspace_id", &ws),
                ("member_id", &ada_id),
                ("role", "admin")
            ]
        )
        .await,
        last_owner
    );
    assert_eq!(
        ada.err("leave_workspace", &[("workspace_id", &ws)]).await,
        last_owner
    );
    // An admin cannot touch the owner.
    assert_eq!(
        bob.err(
            "change_member_role",
            &[
                ("workspace_id", &ws),
                ("member_id", &ada_id),
                ("role", "viewer")
            ]
        )
        .await,
        (
            400,
            "Only an owner can change an owner's role or make someone owner.".into()
        )
    );
    assert_eq!(
        bob.err(
            "remove_member",
            &[("workspace_id", &ws), ("member_id", &ada_id)]
        )
        .await
        .0,
        400
    );

    // Transfer: Bob becomes owner, Ada admin; now Ada may leave.
    ada.ok(
        "transfer_ownership",
        &[("workspace_id", &ws), ("member_id", &bob_id)],
    )
    .await;
    let view = bob.ok("list_members", &[("workspace_id", &ws)]).await;
    let roles: Vec<&str> = view["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(roles, ["owner", "admin"]);
    bob.ok(
        "change_member_role",
        &[
            ("workspace_id", &ws),
            ("member_id", &ada_id),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(
        ada.err(
            "invite_member",
            &[
                ("workspace_id", &ws),
                ("email", "x@example.com"),
                ("role", "viewer")
            ]
        )
        .await,
        (
            403,
            "Your role does not allow this. Ask a workspace admin or owner.".into()
        ),
        "a viewer now"
    );
    ada.ok("leave_workspace", &[("workspace_id", &ws)]).await;
    let me = ada.ok("current_user", &[]).await;
    assert_eq!(me["workspaces"].as_array().map(Vec::len), Some(0));
    assert_eq!(me["workspace"], Value::Null);
    assert_eq!(
        ada.err("list_members", &[("workspace_id", &ws)]).await,
        (404, "Not found.".into()),
        "gone from view once left"
    );
}

#[tokio::test]
async fn removed_members_lose_the_workspace_and_fall_back_to_their_own() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let bob = app.browser();
    bob.sign_up("bob@example.com", "Bob").await;
    let token = ada.invite(&ws, "bob@example.com", "editor").await;
    bob.ok("accept_invitation", &[("token", &token)]).await;
    let bob_id = ada.member_id(&ws, "bob@example.com").await;
    ada.ok(
        "remove_member",
        &[("workspace_id", &ws), ("member_id", &bob_id)],
    )
    .await;
    let me = bob.ok("current_user", &[]).await;
    assert_eq!(me["workspace"]["name"], "Bob's workspace");
    assert_eq!(names(&me), ["Bob's workspace"]);
}

#[tokio::test]
async fn deleting_a_workspace_takes_it_away_from_every_member() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let acme = ada.ok("create_workspace", &[("name", "Acme")]).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let bob = app.browser();
    bob.sign_up("bob@example.com", "Bob").await;
    let token = ada.invite(&acme, "bob@example.com", "admin").await;
    bob.ok("accept_invitation", &[("token", &token)]).await;
    assert_eq!(
        bob.err(
            "delete_workspace",
            &[("workspace_id", &acme), ("confirm", "Acme")]
        )
        .await,
        (403, "Only a workspace owner can do this.".into()),
        "admins cannot delete"
    );
    ada.ok(
        "delete_workspace",
        &[("workspace_id", &acme), ("confirm", "Acme")],
    )
    .await;
    for who in [&ada, &bob] {
        let me = who.ok("current_user", &[]).await;
        assert!(!names(&me).contains(&"Acme".to_owned()), "{me}");
        assert!(me["workspace"]["name"] != "Acme");
    }
}

#[tokio::test]
async fn profile_changes_and_a_password_change_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let me = ada
        .ok(
            "update_profile",
            &[("name", "Ada King"), ("timezone", "America/New_York")],
        )
        .await;
    assert_eq!(me["name"], "Ada King");
    assert_eq!(me["timezone"], "America/New_York");
    assert_eq!(
        ada.err(
            "update_profile",
            &[("name", "Ada"), ("timezone", "Mars/Olympus")]
        )
        .await,
        (400, "Pick a time zone from the list.".into())
    );
    assert_eq!(
        ada.err("update_profile", &[("name", " "), ("timezone", "UTC")])
            .await,
        (400, "Enter your name.".into())
    );
    let zones = ada.ok("time_zones", &[]).await;
    let zones = zones.as_array().expect("list");
    assert!(zones.len() > 300, "{}", zones.len());
    assert!(zones.iter().any(|z| z == "Europe/Paris"));

    let phone = app.browser();
    phone
        .ok(
            "log_in",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        ada.err(
            "change_password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a brand new secret")
            ]
        )
        .await,
        (400, "Your current password is not right.".into())
    );
    assert_eq!(
        ada.err(
            "change_password",
            &[("current_password", PASSWORD), ("new_password", "short")]
        )
        .await,
        (400, "Use at least 10 characters for your password.".into())
    );
    let ended = ada
        .ok(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(ended, 1, "the phone's session");
    assert_eq!(phone.ok("current_user", &[]).await, Value::Null);
    assert_eq!(
        ada.ok("current_user", &[]).await["email"],
        "ada@example.com",
        "this session stays"
    );
    assert_eq!(
        phone
            .err(
                "log_in",
                &[("email", "ada@example.com"), ("password", PASSWORD)]
            )
            .await
            .0,
        401
    );
    phone
        .ok(
            "log_in",
            &[
                ("email", "ada@example.com"),
                ("password", "a brand new secret"),
            ],
        )
        .await;
}
