//! Login sessions: a random 256-bit token goes to the browser (in an HttpOnly cookie); the
//! database keeps only its SHA-256, so a leaked database cannot be used to log in.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ring::{
    digest::{SHA256, digest},
    rand::{SecureRandom, SystemRandom},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, prelude::Uuid,
};

use crate::{
    config::Secret,
    entities::{session, user},
};

/// How long a session lives without use; every use pushes the expiry this far out again...
pub const SESSION_TTL: Duration = Duration::days(30);
/// ...but never past this long after logging in: a stolen cookie stops working at the latest
/// then, however busy it is kept.
pub const SESSION_MAX_AGE: Duration = Duration::days(90);
/// Sliding the expiry is a write; do it at most this often per session.
const SLIDE_EVERY: Duration = Duration::minutes(5);

/// The secret half of a session, for the cookie only.
#[derive(Debug, Clone)]
pub struct SessionToken(Secret<String>);

impl SessionToken {
    /// The value to put in the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// SHA-256 of a token, hex-encoded: what the `sessions` table stores.
pub fn hash_token(token: &str) -> String {
    digest(&SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 256 random bits, URL-safe base64: session tokens and invitation links.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    // Only fails without an OS random source, and then no session can be safe.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("operating system random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn new_token() -> SessionToken {
    SessionToken(Secret::new(new_secret()))
}

/// Starts a session for `user_id`, optionally already in `workspace_id`.
#[tracing::instrument(skip_all, fields(user_id = %user_id), err)]
pub async fn create(
    db: &DatabaseConnection,
    user_id: Uuid,
    workspace_id: Option<Uuid>,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(SessionToken, session::Model), DbErr> {
    let token = new_token();
    let model = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        token_hash: Set(hash_token(token.expose())),
        current_workspace_id: Set(workspace_id),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(255).collect())),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + SESSION_TTL),
    }
    .insert(db)
    .await?;
    Ok((token, model))
}

/// The user and session behind a cookie token, if it is known and not expired (idle for
/// [`SESSION_TTL`], or older than [`SESSION_MAX_AGE`]). Slides the expiry forward on use.
#[tracing::instrument(skip_all, err)]
pub async fn authenticate(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(user::Model, session::Model)>, DbErr> {
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(hash_token(token)))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    let Some((session, Some(user))) = found else {
        return Ok(None);
    };
    let ends = session.created_at + SESSION_MAX_AGE;
    if session.expires_at <= now || ends <= now {
        session::Entity::delete_by_id(session.id).exec(db).await?;
        return Ok(None);
    }
    let session = if now - session.last_seen_at >= SLIDE_EVERY {
        let mut active = session.into_active_model();
        active.last_seen_at = Set(now);
        active.expires_at = Set((now + SESSION_TTL).min(ends));
        active.update(db).await?
    } else {
        session
    };
    Ok(Some((user, session)))
}

/// Ends the session behind `token` (logout). Returns whether one existed.
pub async fn end(db: &DatabaseConnection, token: &str) -> Result<bool, DbErr> {
    let result = session::Entity::delete_many()
        .filter(session::Column::TokenHash.eq(hash_token(token)))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ends every session of `user_id` except `keep` ("log out everywhere", password change).
pub async fn end_all(
    db: &DatabaseConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, DbErr> {
    let mut query = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(keep));
    }
    Ok(query.exec(db).await?.rows_affected)
}

/// Remembers `workspace_id` as the session's current workspace and the user's last one. The caller checks membership
/// first (it holds a `WorkspaceAccess` for it).
pub async fn switch_workspace(
    db: &DatabaseConnection,
    session_id: Uuid,
    access: &crate::tenancy::WorkspaceAccess,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(
            session::Column::CurrentWorkspaceId,
            sea_orm::sea_query::Expr::value(access.workspace_id()),
        )
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(access.user_id()))
        .exec(db)
        .await?;
    // Also the user's default for their next login.
    user::Entity::update_many()
        .col_expr(
            user::Column::LastWorkspaceId,
            sea_orm::sea_query::Expr::value(access.workspace_id()),
        )
        .filter(user::Column::Id.eq(access.user_id()))
        .exec(db)
        .await?;
    Ok(())
}
