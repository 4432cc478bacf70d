//! Sign-up, login, sessions and workspace access against a real database (SQLite, and
//! PostgreSQL when `make test` sets OMNIPLUG_TEST_DATABASE).

use chrono::{Duration, Utc};
use omniplug_core::{
    db,
    entities::{Role, membership, session},
    identity::{self, IdentityError, ServiceError},
    sessions,
    tenancy::{AccessError, Action, authorize},
};
use omniplug_testkit::{fresh_database, test_config};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait,
    prelude::Uuid,
};

async fn database() -> (omniplug_testkit::TestDatabase, DatabaseConnection) {
    let test_db = fresh_database().await;
    let conn = db::connect(&test_config(&test_db)).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    (test_db, conn)
}

fn invalid(result: Result<impl std::fmt::Debug, ServiceError>) -> IdentityError {
    match result {
        Err(ServiceError::Invalid(err)) => err,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn sign_up_creates_the_account_and_an_owned_personal_workspace() {
    let (_t, db) = database().await;
    let created = identity::sign_up(
        &db,
        " Ada@Example.com ",
        PASSWORD,
        "Ada Lovelace",
        "Europe/London",
    )
    .await
    .expect("sign up");
    assert_eq!(created.user.email, "ada@example.com");
    assert_eq!(created.user.timezone, "Europe/London");
    assert!(created.user.password_hash.starts_with("$argon2id$"));
    assert_eq!(created.workspace.name, "Ada's workspace");
    let access = authorize(
        &db,
        created.user.id,
        created.workspace.id,
        Action::DeleteWorkspace,
    )
    .await
    .expect("owner");
    assert_eq!(access.role(), Role::Owner);
}

#[tokio::test]
async fn sign_up_refuses_bad_input_with_the_message_people_see_and_stores_nothing() {
    let (_t, db) = database().await;
    let cases = [
        (("", PASSWORD, "Ada", "UTC"), "Enter your e-mail address."),
        (
            ("ada", PASSWORD, "Ada", "UTC"),
            "Enter a valid e-mail address, like name@example.com.",
        ),
        (
            ("ada@example.com", "short", "Ada", "UTC"),
            "Use at least 10 characters for your password.",
        ),
        (
            ("ada@example.com", "password123", "Ada", "UTC"),
            "That password is too common. Pick something only you would use.",
        ),
        (
            ("ada@example.com", PASSWORD, "  ", "UTC"),
            "Enter your name.",
        ),
        (
            ("ada@example.com", PASSWORD, "Ada", "Moon/Base"),
            "Pick a time zone from the list.",
        ),
    ];
    for ((email, password, name, tz), message) in cases {
        let err = invalid(identity::sign_up(&db, email, password, name, tz).await);
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        omniplug_core::entities::user::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        omniplug_core::entities::workspace::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn an_email_can_only_sign_up_once_whatever_its_case() {
    let (_t, db) = database().await;
    identity::sign_up(&db, "ada@example.com", PASSWORD, "Ada", "UTC")
        .await
        .expect("first");
    let err = invalid(identity::sign_up(&db, "ADA@example.com", PASSWORD, "Ada", "UTC").await);
    assert_eq!(err, IdentityError::EmailTaken);
    assert_eq!(
        err.to_string(),
        "An account with this e-mail already exists. Log in instead."
    );
    assert_eq!(
        omniplug_core::entities::workspace::Entity::find()
            .count(&db)
            .await
            .expect("count"),
        1,
        "rolled back"
    );
}

#[tokio::test]
async fn wrong_email_and_wrong_password_get_the_same_answer() {
    let (_t, db) = database().await;
    identity::sign_up(&db, "ada@example.com", PASSWORD, "Ada", "UTC")
        .await
        .expect("sign up");
    let user = identity::log_in(&db, "  ADA@example.com", PASSWORD)
        .await
        .expect("right password");
    assert_eq!(user.email, "ada@example.com");
    let wrong_password =
        invalid(identity::log_in(&db, "ada@example.com", "correct horse batterY").await);
    let unknown_email = invalid(identity::log_in(&db, "bob@example.com", PASSWORD).await);
    let malformed = invalid(identity::log_in(&db, "not an email", PASSWORD).await);
    assert_eq!(wrong_password, IdentityError::WrongCredentials);
    assert_eq!(unknown_email, wrong_password);
    assert_eq!(malformed, wrong_password);
}

#[tokio::test]
async fn a_session_kept_busy_still_ends_ninety_days_after_login() {
    let (_t, db) = database().await;
    let ada = identity::sign_up(&db, "ada@example.com", PASSWORD, "Ada", "UTC")
        .await
        .expect("sign up");
    let now = Utc::now();
    let (token, _) = sessions::create(&db, ada.user.id, None, None, now)
        .await
        .expect("create");
    // Used every twenty days: each use slides the idle expiry, never past the 90th day.
    for day in [20, 40, 60, 80] {
        let (_, seen) = sessions::authenticate(&db, token.expose(), now + Duration::days(day))
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("still valid on day {day}"));
        assert!(
            seen.expires_at <= now + sessions::SESSION_MAX_AGE,
            "day {day}"
        );
    }
    assert!(
        sessions::authenticate(&db, token.expose(), now + Duration::days(90))
            .await
            .expect("query")
            .is_none(),
        "ended on day 90 although used on day 80"
    );
}

#[tokio::test]
async fn sessions_authenticate_slide_expire_and_end() {
    let (_t, db) = database().await;
    let ada = identity::sign_up(&db, "ada@example.com", PASSWORD, "Ada", "UTC")
        .await
        .expect("sign up");
    let now = Utc::now();
    let (token, created) =
        sessions::create(&db, ada.user.id, Some(ada.workspace.id), Some("test"), now)
            .await
            .expect("create");
    assert_ne!(
        created.token_hash,
        token.expose(),
        "only the hash is stored"
    );
    assert_eq!(token.expose().len(), 43, "256 bits, base64url");

    let (user, seen) = sessions::authenticate(&db, token.expose(), now + Duration::days(10))
        .await
        .expect("query")
        .expect("valid");
    assert_eq!(user.id, ada.user.id);
    // PostgreSQL keeps microseconds, chrono nanoseconds: compare to the millisecond.
    assert_eq!(
        (seen.expires_at - (now + Duration::days(40))).num_milliseconds(),
        0,
        "expiry slid forward on use"
    );
    assert!(
        sessions::authenticate(&db, "forged-token", now)
            .await
            .expect("query")
            .is_none()
    );

    // Unused for longer than the (slid) lifetime: gone.
    assert!(
        sessions::authenticate(&db, token.expose(), now + Duration::days(41))
            .await
            .expect("query")
            .is_none()
    );
    assert_eq!(
        session::Entity::find().count(&db).await.expect("count"),
        0,
        "expired session deleted"
    );

    // Logout and log out everywhere.
    let (a, _) = sessions::create(&db, ada.user.id, None, None, now)
        .await
        .expect("create");
    let (b, keep) = sessions::create(&db, ada.user.id, None, None, now)
        .await
        .expect("create");
    let (c, _) = sessions::create(&db, ada.user.id, None, None, now)
        .await
        .expect("create");
    assert!(sessions::end(&db, a.expose()).await.expect("end"));
    assert!(!sessions::end(&db, a.expose()).await.expect("end twice"));
    assert_eq!(
        sessions::end_all(&db, ada.user.id, Some(keep.id))
            .await
            .expect("end all"),
        1
    );
    assert!(
        sessions::authenticate(&db, b.expose(), now)
            .await
            .expect("query")
            .is_some(),
        "kept"
    );
    assert!(
        sessions::authenticate(&db, c.expose(), now)
            .await
            .expect("query")
            .is_none()
    );
}

#[tokio::test]
async fn other_workspaces_are_not_found_and_roles_gate_actions() {
    let (_t, db) = database().await;
    let ada = identity::sign_up(&db, "ada@example.com", PASSWORD, "Ada", "UTC")
        .await
        .expect("ada");
    let bob = identity::sign_up(&db, "bob@example.com", PASSWORD, "Bob", "UTC")
        .await
        .expect("bob");

    // Bob probing Ada's workspace, or one that does not exist: the same "not found".
    for workspace in [ada.workspace.id, Uuid::now_v7()] {
        let err = authorize(&db, bob.user.id, workspace, Action::Read)
            .await
            .expect_err("not a member");
        assert!(matches!(err, AccessError::NotFound), "{err:?}");
    }

    // Ada adds Bob as a viewer: he may read, not write.
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(ada.workspace.id),
        user_id: Set(bob.user.id),
        role: Set(Role::Viewer),
        created_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .expect("membership");
    let access = authorize(&db, bob.user.id, ada.workspace.id, Action::Read)
        .await
        .expect("viewer reads");
    assert_eq!(access.workspace_id(), ada.workspace.id);
    let err = authorize(&db, bob.user.id, ada.workspace.id, Action::WritePosts)
        .await
        .expect_err("viewer cannot write");
    assert!(
        matches!(
            err,
            AccessError::Forbidden {
                needed: Role::Editor
            }
        ),
        "{err:?}"
    );
}
