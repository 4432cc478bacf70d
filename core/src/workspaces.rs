//! Workspaces and the people in them: create, rename, delete; members and their roles;
//! invitations by single-use link.
//!
//! Everything that touches one workspace takes a [`WorkspaceAccess`] (so the membership check
//! has happened) and checks the action it needs itself, so a caller cannot pick a weaker one.
//! Ids that are not in the access's workspace are answered as [`WorkspaceError::NotFound`],
//! the same as ids that do not exist.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, SqlErr,
    TransactionTrait, prelude::Uuid, sea_query::Expr,
};

use crate::{
    entities::{Plan, Role, audit_log, invitation, membership, user, workspace},
    identity::Email,
    sessions::hash_token,
    tenancy::{Action, WorkspaceAccess},
};

/// Longest workspace name.
pub const NAME_MAX: usize = 80;
/// How long an invitation link stays valid.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// Why a workspace operation was refused; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The workspace name is empty.
    #[error("Enter a name for the workspace.")]
    NameEmpty,
    /// The workspace name is too long.
    #[error("Use at most 80 characters for the workspace name.")]
    NameTooLong,
    /// An e-mail that cannot be invited.
    #[error("{0}")]
    Email(#[from] crate::identity::IdentityError),
    /// Not one of owner, admin, editor, viewer.
    #[error("Pick a role: admin, editor or viewer.")]
    RoleUnknown,
    /// Invitations cannot make owners.
    #[error("Invite people as admin, editor or viewer; make them owner once they have joined.")]
    InviteAsOwner,
    /// The invited person is already in the workspace.
    #[error("{0} is already a member of this workspace.")]
    AlreadyMember(String),
    /// Removing or demoting the only owner.
    #[error("A workspace needs an owner. Make someone else owner first.")]
    LastOwner,
    /// Only owners may change owners.
    #[error("Only an owner can change an owner's role or make someone owner.")]
    OwnerOnly,
    /// Deleting without typing the name.
    #[error("Type the workspace name exactly to confirm deleting it.")]
    ConfirmName,
    /// No invitation has this token.
    #[error("This invitation link is not valid. Ask the person who invited you for a new one.")]
    InviteUnknown,
    /// The invitation is older than 7 days.
    #[error("This invitation has expired. Ask the person who invited you for a new one.")]
    InviteExpired,
    /// The invitation was accepted already.
    #[error("This invitation has already been used. Log in to reach the workspace.")]
    InviteUsed,
    /// Accepting an invitation to a workspace one is already in.
    #[error("You are already a member of {0}.")]
    AlreadyJoined(String),
    /// Outside the caller's workspaces, or gone.
    #[error("Not found.")]
    NotFound,
    /// A member whose role is too low.
    #[error("{}", forbidden_message(.needed))]
    Forbidden {
        /// The least role that may do it, in words.
        needed: &'static str,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

crate::tenancy::from_access_error!(WorkspaceError);

fn forbidden_message(needed: &str) -> String {
    if needed == "owner" {
        "Only a workspace owner can do this.".to_owned()
    } else {
        format!("Your role does not allow this. Ask a workspace {needed} or owner.")
    }
}

/// A role as people read it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Editor => "editor",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

/// Parses `owner`, `admin`, `editor` or `viewer`.
pub fn parse_role(raw: &str) -> Result<Role, WorkspaceError> {
    match raw.trim().to_lowercase().as_str() {
        "owner" => Ok(Role::Owner),
        "admin" => Ok(Role::Admin),
        "editor" => Ok(Role::Editor),
        "viewer" => Ok(Role::Viewer),
        _ => Err(WorkspaceError::RoleUnknown),
    }
}

/// A workspace name: trimmed, 1–80 characters.
pub fn parse_name(raw: &str) -> Result<String, WorkspaceError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(WorkspaceError::NameEmpty);
    }
    if name.chars().count() > NAME_MAX {
        return Err(WorkspaceError::NameTooLong);
    }
    Ok(name.to_owned())
}

async fn audit(
    db: &impl ConnectionTrait,
    access: &WorkspaceAccess,
    action: &str,
    subject_type: &str,
    subject_id: Option<Uuid>,
    details: serde_json::Value,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(Some(access.workspace_id())),
        actor_user_id: Set(Some(access.user_id())),
        action: Set(action.to_owned()),
        subject_type: Set(subject_type.to_owned()),
        subject_id: Set(subject_id.map(|id| id.to_string())),
        details: Set(details),
        ip: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Creates a workspace owned by `user_id`.
#[tracing::instrument(skip_all, fields(%user_id), err(level = tracing::Level::INFO))]
pub async fn create(
    db: &DatabaseConnection,
    user_id: Uuid,
    name: &str,
) -> Result<workspace::Model, WorkspaceError> {
    let name = parse_name(name)?;
    let txn = db.begin().await?;
    let created = insert_owned(&txn, user_id, name, Utc::now()).await?;
    txn.commit().await?;
    Ok(created)
}

/// Inserts a workspace on the free plan and makes `owner` its owner (inside the caller's
/// transaction; sign-up uses it for the personal workspace).
pub async fn insert_owned(
    db: &impl ConnectionTrait,
    owner: Uuid,
    name: String,
    now: DateTime<Utc>,
) -> Result<workspace::Model, DbErr> {
    let created = workspace::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        plan: Set(Plan::Free),
        billing_customer_id: Set(None),
        billing_subscription_id: Set(None),
        missed_grace_minutes: Set(15),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(created.id),
        user_id: Set(owner),
        role: Set(Role::Owner),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(created)
}

/// The user's workspaces with their role in each, oldest membership first.
pub async fn list_for(
    db: &DatabaseConnection,
    user_id: Uuid,
) -> Result<Vec<(workspace::Model, Role)>, DbErr> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::CreatedAt)
        .find_also_related(workspace::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, w)| w.map(|w| (w, m.role)))
        .collect())
}

/// The workspace the access is for.
pub async fn get(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
) -> Result<workspace::Model, WorkspaceError> {
    workspace::Entity::find_by_id(access.workspace_id())
        .one(db)
        .await?
        .ok_or(WorkspaceError::NotFound)
}

/// Renames the workspace (admins and owners).
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id()), err(level = tracing::Level::INFO))]
pub async fn rename(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    name: &str,
) -> Result<workspace::Model, WorkspaceError> {
    access.check(Action::ManageMembers)?;
    let name = parse_name(name)?;
    let mut active = get(db, access).await?.into_active_model();
    active.name = Set(name.clone());
    active.updated_at = Set(Utc::now());
    let txn = db.begin().await?;
    let renamed = active.update(&txn).await?;
    audit(
        &txn,
        access,
        "workspace.renamed",
        "workspace",
        Some(renamed.id),
        serde_json::json!({ "name": name }),
    )
    .await?;
    txn.commit().await?;
    Ok(renamed)
}

/// Deletes the workspace and everything in it, its media files too (owners only). `confirm`
/// must equal its name.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id()), err(level = tracing::Level::INFO))]
pub async fn delete(
    db: &DatabaseConnection,
    media: &crate::media::MediaStore,
    access: &WorkspaceAccess,
    confirm: &str,
) -> Result<(), WorkspaceError> {
    access.check(Action::DeleteWorkspace)?;
    let found = get(db, access).await?;
    if confirm.trim() != found.name {
        return Err(WorkspaceError::ConfirmName);
    }
    let txn = db.begin().await?;
    audit(
        &txn,
        access,
        "workspace.deleted",
        "workspace",
        Some(found.id),
        serde_json::json!({ "name": found.name }),
    )
    .await?;
    workspace::Entity::delete_by_id(found.id).exec(&txn).await?;
    txn.commit().await?;
    // Its files go too. The rows naming them are gone, so a failure here is the operator's to
    // clean up (logged with the prefix), not the owner's to retry.
    if let Err(err) = media.remove_workspace(found.id).await {
        tracing::error!(workspace_id = %found.id, error = %err, "files of a deleted workspace left in media storage under media/<workspace_id>/");
    }
    Ok(())
}

/// A member as the members page shows them.
#[derive(Debug, Clone)]
pub struct Member {
    /// The membership.
    pub membership: membership::Model,
    /// The person.
    pub user: user::Model,
}

/// Everyone in the workspace, owners first, then by join date.
pub async fn members(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
) -> Result<Vec<Member>, WorkspaceError> {
    access.check(Action::Read)?;
    let mut rows: Vec<Member> = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(access.workspace_id()))
        .order_by_asc(membership::Column::CreatedAt)
        .find_also_related(user::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(membership, user)| user.map(|user| Member { membership, user }))
        .collect();
    rows.sort_by_key(|m| std::cmp::Reverse(m.membership.role));
    Ok(rows)
}

/// Invitations not yet accepted and not expired, newest first.
pub async fn pending_invitations(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    now: DateTime<Utc>,
) -> Result<Vec<invitation::Model>, WorkspaceError> {
    access.check(Action::Read)?;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await?)
}

async fn member_in(
    db: &impl ConnectionTrait,
    access: &WorkspaceAccess,
    membership_id: Uuid,
) -> Result<membership::Model, WorkspaceError> {
    membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::WorkspaceId.eq(access.workspace_id()))
        .one(db)
        .await?
        .ok_or(WorkspaceError::NotFound)
}

async fn owner_count(db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(db)
        .await
}

/// Changes a member's role (admins; anything involving the owner role needs an owner). The
/// last owner cannot be demoted.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %membership_id), err(level = tracing::Level::INFO))]
pub async fn change_role(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    membership_id: Uuid,
    role: Role,
) -> Result<membership::Model, WorkspaceError> {
    access.check(Action::ManageMembers)?;
    let txn = db.begin().await?;
    let target = member_in(&txn, access, membership_id).await?;
    if target.role == role {
        return Ok(target);
    }
    if (target.role == Role::Owner || role == Role::Owner) && !access.can(Action::TransferOwnership)
    {
        return Err(WorkspaceError::OwnerOnly);
    }
    if target.role == Role::Owner && owner_count(&txn, access.workspace_id()).await? <= 1 {
        return Err(WorkspaceError::LastOwner);
    }
    let before = target.role;
    let mut active = target.into_active_model();
    active.role = Set(role);
    let changed = active.update(&txn).await?;
    audit(
        &txn,
        access,
        "member.role_changed",
        "membership",
        Some(changed.id),
        serde_json::json!({ "from": role_name(before), "to": role_name(role) }),
    )
    .await?;
    txn.commit().await?;
    Ok(changed)
}

/// Removes a member (admins; removing an owner needs an owner). The last owner stays.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %membership_id), err(level = tracing::Level::INFO))]
pub async fn remove_member(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    membership_id: Uuid,
) -> Result<(), WorkspaceError> {
    access.check(Action::ManageMembers)?;
    remove(db, access, membership_id).await
}

/// The caller leaves the workspace (any role; the last owner cannot).
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id()), err(level = tracing::Level::INFO))]
pub async fn leave(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
) -> Result<(), WorkspaceError> {
    let own = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(membership::Column::UserId.eq(access.user_id()))
        .one(db)
        .await?
        .ok_or(WorkspaceError::NotFound)?;
    remove(db, access, own.id).await
}

async fn remove(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    membership_id: Uuid,
) -> Result<(), WorkspaceError> {
    let txn = db.begin().await?;
    let target = member_in(&txn, access, membership_id).await?;
    let leaving = target.user_id == access.user_id();
    if target.role == Role::Owner {
        if !leaving && !access.can(Action::TransferOwnership) {
            return Err(WorkspaceError::OwnerOnly);
        }
        if owner_count(&txn, access.workspace_id()).await? <= 1 {
            return Err(WorkspaceError::LastOwner);
        }
    }
    membership::Entity::delete_by_id(target.id)
        .exec(&txn)
        .await?;
    audit(
        &txn,
        access,
        if leaving {
            "member.left"
        } else {
            "member.removed"
        },
        "membership",
        Some(target.id),
        serde_json::json!({ "user_id": target.user_id, "role": role_name(target.role) }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Makes another member owner and the caller admin (owners only).
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %membership_id), err(level = tracing::Level::INFO))]
pub async fn transfer_ownership(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    membership_id: Uuid,
) -> Result<(), WorkspaceError> {
    access.check(Action::TransferOwnership)?;
    let txn = db.begin().await?;
    let target = member_in(&txn, access, membership_id).await?;
    if target.user_id == access.user_id() {
        return Ok(());
    }
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value(Role::Owner))
        .filter(membership::Column::Id.eq(target.id))
        .exec(&txn)
        .await?;
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value(Role::Admin))
        .filter(membership::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(membership::Column::UserId.eq(access.user_id()))
        .exec(&txn)
        .await?;
    audit(
        &txn,
        access,
        "workspace.ownership_transferred",
        "membership",
        Some(target.id),
        serde_json::json!({ "to_user_id": target.user_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A new invitation and the secret for its link (shown once; only its hash is stored).
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The stored invitation.
    pub invitation: invitation::Model,
    /// Goes into the link `/invite/<token>`.
    pub token: String,
}

/// Invites `email` as `role` (admins). A pending invitation to the same address is replaced.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id()), err(level = tracing::Level::INFO))]
pub async fn invite(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    email: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<NewInvitation, WorkspaceError> {
    access.check(Action::ManageMembers)?;
    let email = Email::parse(email)?;
    if role == Role::Owner {
        return Err(WorkspaceError::InviteAsOwner);
    }
    let already = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(access.workspace_id()))
        .find_also_related(user::Entity)
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    if already.is_some() {
        return Err(WorkspaceError::AlreadyMember(email.as_str().to_owned()));
    }
    let token = crate::sessions::new_secret();
    let txn = db.begin().await?;
    invitation::Entity::delete_many()
        .filter(invitation::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    let created = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(access.workspace_id()),
        email: Set(email.as_str().to_owned()),
        role: Set(role),
        token_hash: Set(hash_token(&token)),
        invited_by: Set(Some(access.user_id())),
        expires_at: Set(now + INVITATION_TTL),
        accepted_at: Set(None),
        accepted_by: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit(
        &txn,
        access,
        "invitation.created",
        "invitation",
        Some(created.id),
        serde_json::json!({ "email": created.email, "role": role_name(role) }),
    )
    .await?;
    txn.commit().await?;
    Ok(NewInvitation {
        invitation: created,
        token,
    })
}

/// Withdraws a pending invitation (admins).
pub async fn revoke_invitation(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    invitation_id: Uuid,
) -> Result<(), WorkspaceError> {
    access.check(Action::ManageMembers)?;
    let deleted = invitation::Entity::delete_many()
        .filter(invitation::Column::Id.eq(invitation_id))
        .filter(invitation::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(WorkspaceError::NotFound);
    }
    audit(
        db,
        access,
        "invitation.revoked",
        "invitation",
        Some(invitation_id),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// What an invitation link leads to, for the page that offers to accept it.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    /// The invitation.
    pub invitation: invitation::Model,
    /// The workspace's name.
    pub workspace_name: String,
    /// Who sent it, if they still exist.
    pub invited_by: Option<String>,
}

async fn find_invitation(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(invitation::Model, workspace::Model), WorkspaceError> {
    let (found, ws) = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token.trim())))
        .find_also_related(workspace::Entity)
        .one(db)
        .await?
        .ok_or(WorkspaceError::InviteUnknown)?;
    let ws = ws.ok_or(WorkspaceError::InviteUnknown)?;
    if found.accepted_at.is_some() {
        return Err(WorkspaceError::InviteUsed);
    }
    if found.expires_at <= now {
        return Err(WorkspaceError::InviteExpired);
    }
    Ok((found, ws))
}

/// Reads an invitation by the token in its link.
pub async fn preview_invitation(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<InvitationPreview, WorkspaceError> {
    let (found, ws) = find_invitation(db, token, now).await?;
    let invited_by = match found.invited_by {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    };
    Ok(InvitationPreview {
        invitation: found,
        workspace_name: ws.name,
        invited_by,
    })
}

/// Accepts an invitation for `user_id`: adds the membership and uses up the link, once.
#[tracing::instrument(skip_all, fields(%user_id), err(level = tracing::Level::INFO))]
pub async fn accept_invitation(
    db: &DatabaseConnection,
    user_id: Uuid,
    token: &str,
    now: DateTime<Utc>,
) -> Result<membership::Model, WorkspaceError> {
    let txn = db.begin().await?;
    let (found, ws) = find_invitation(&txn, token, now).await?;
    let existing = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(ws.id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(WorkspaceError::AlreadyJoined(ws.name));
    }
    // The conditional update is what makes the link single-use when two accepts race.
    let used = invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(user_id))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(WorkspaceError::InviteUsed);
    }
    let joined = membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(ws.id),
        user_id: Set(user_id),
        role: Set(found.role),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            WorkspaceError::AlreadyJoined(ws.name.clone())
        }
        _ => WorkspaceError::Database(err),
    })?;
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(Some(ws.id)),
        actor_user_id: Set(Some(user_id)),
        action: Set("invitation.accepted".to_owned()),
        subject_type: Set("invitation".to_owned()),
        subject_id: Set(Some(found.id.to_string())),
        details: Set(serde_json::json!({ "role": role_name(found.role) })),
        ip: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(joined)
}
