//! Workspaces, members and invitations from the browser's side.
//!
//! Every function about one workspace takes its id explicitly and checks the caller's
//! membership first; ids outside the caller's workspaces get "Not found." (404), exactly like
//! ids that do not exist.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{auth::WorkspaceSummary, error::AppError};

/// One member, as the members page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// The membership id (what role changes and removal take).
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// owner, admin, editor or viewer.
    pub role: String,
    /// Joined on, `YYYY-MM-DD` (UTC).
    pub joined: String,
    /// Whether this row is the caller.
    pub is_you: bool,
}

/// A pending invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRow {
    /// Invitation id (what revoking takes).
    pub id: String,
    /// Who is invited.
    pub email: String,
    /// The role they will get.
    pub role: String,
    /// Expiry, `YYYY-MM-DD HH:MM` UTC.
    pub expires: String,
}

/// The members page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersView {
    /// The workspace.
    pub workspace: WorkspaceSummary,
    /// Everyone in it.
    pub members: Vec<MemberRow>,
    /// Invitations waiting to be accepted.
    pub invitations: Vec<InviteRow>,
}

/// A just-created invitation with its link (shown once: only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvite {
    /// The invitation.
    pub invite: InviteRow,
    /// Path of the link to send, `/invite/<token>`.
    pub link: String,
}

/// What an invitation link offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    /// The workspace to join.
    pub workspace_name: String,
    /// Invited address.
    pub email: String,
    /// The role on joining.
    pub role: String,
    /// Who sent it.
    pub invited_by: Option<String>,
    /// Expiry, `YYYY-MM-DD HH:MM` UTC.
    pub expires: String,
}

/// Creates a workspace owned by the caller and switches the session to it.
#[server(endpoint = "create_workspace")]
pub async fn create_workspace(name: String) -> Result<WorkspaceSummary, AppError> {
    use crate::auth::ssr::{require_session, stores};
    use crate::error::ssr::workspace_error;
    use omniplug_core::{tenancy, workspaces};
    let stores = stores()?;
    let (user, session) = require_session(&stores).await?;
    let limit = omniplug_core::rate_limit::WORKSPACES_PER_PERSON;
    let subject = user.id.to_string();
    crate::auth::ssr::take_turn(&stores, &limit, &subject).await?;
    let created = match workspaces::create(&stores.db, user.id, &name).await {
        Ok(created) => created,
        Err(err) => {
            // A name to correct does not use up the day's allowance.
            omniplug_core::rate_limit::give_back(&stores.redis, &limit, &subject).await;
            return Err(workspace_error(err));
        }
    };
    let access = tenancy::authorize(&stores.db, user.id, created.id, tenancy::Action::Read)
        .await
        .map_err(|err| workspace_error(err.into()))?;
    omniplug_core::sessions::switch_workspace(&stores.db, session.id, &access)
        .await
        .map_err(crate::error::ssr::internal)?;
    Ok(WorkspaceSummary {
        id: created.id.to_string(),
        name: created.name,
        role: "owner".into(),
    })
}

/// Makes `workspace_id` the session's current workspace.
#[server(endpoint = "switch_workspace")]
pub async fn switch_workspace(workspace_id: String) -> Result<WorkspaceSummary, AppError> {
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, session, access) = ssr::access(&stores, &workspace_id, Action::Read).await?;
    omniplug_core::sessions::switch_workspace(&stores.db, session.id, &access)
        .await
        .map_err(crate::error::ssr::internal)?;
    ssr::summary(&stores, &access).await
}

/// Renames a workspace (admins and owners).
#[server(endpoint = "rename_workspace")]
pub async fn rename_workspace(
    workspace_id: String,
    name: String,
) -> Result<WorkspaceSummary, AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::ManageMembers).await?;
    omniplug_core::workspaces::rename(&stores.db, &access, &name)
        .await
        .map_err(workspace_error)?;
    ssr::summary(&stores, &access).await
}

/// Deletes a workspace and everything in it (owners). `confirm` must be its exact name.
#[server(endpoint = "delete_workspace")]
pub async fn delete_workspace(workspace_id: String, confirm: String) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::DeleteWorkspace).await?;
    omniplug_core::workspaces::delete(&stores.db, &stores.media, &access, &confirm)
        .await
        .map_err(workspace_error)
}

/// Members and pending invitations of a workspace (any member).
#[server(endpoint = "list_members")]
pub async fn list_members(workspace_id: String) -> Result<MembersView, AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::{tenancy::Action, workspaces};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::Read).await?;
    let now = chrono::Utc::now();
    let members = workspaces::members(&stores.db, &access)
        .await
        .map_err(workspace_error)?;
    let invitations = workspaces::pending_invitations(&stores.db, &access, now)
        .await
        .map_err(workspace_error)?;
    Ok(MembersView {
        workspace: ssr::summary(&stores, &access).await?,
        members: members
            .into_iter()
            .map(|m| MemberRow {
                id: m.membership.id.to_string(),
                is_you: m.user.id == access.user_id(),
                name: m.user.name,
                email: m.user.email,
                role: workspaces::role_name(m.membership.role).into(),
                joined: m.membership.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        invitations: invitations.into_iter().map(ssr::invite_row).collect(),
    })
}

/// Invites someone by e-mail as admin, editor or viewer (admins). Returns the link to send.
#[server(endpoint = "invite_member")]
pub async fn invite_member(
    workspace_id: String,
    email: String,
    role: String,
) -> Result<CreatedInvite, AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::{tenancy::Action, workspaces};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::ManageMembers).await?;
    let role = workspaces::parse_role(&role).map_err(workspace_error)?;
    crate::auth::ssr::take_turn(
        &stores,
        &omniplug_core::rate_limit::INVITATIONS_PER_PERSON,
        &access.user_id().to_string(),
    )
    .await?;
    let created = workspaces::invite(&stores.db, &access, &email, role, chrono::Utc::now())
        .await
        .map_err(workspace_error)?;
    Ok(CreatedInvite {
        link: format!("/invite/{}", created.token),
        invite: ssr::invite_row(created.invitation),
    })
}

/// Withdraws a pending invitation (admins).
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(
    workspace_id: String,
    invitation_id: String,
) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::ManageMembers).await?;
    let id = ssr::parse_id(&invitation_id)?;
    omniplug_core::workspaces::revoke_invitation(&stores.db, &access, id)
        .await
        .map_err(workspace_error)
}

/// Changes a member's role (admins; owner changes need an owner; the last owner stays owner).
#[server(endpoint = "change_member_role")]
pub async fn change_member_role(
    workspace_id: String,
    member_id: String,
    role: String,
) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::{tenancy::Action, workspaces};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::ManageMembers).await?;
    let id = ssr::parse_id(&member_id)?;
    let role = workspaces::parse_role(&role).map_err(workspace_error)?;
    workspaces::change_role(&stores.db, &access, id, role)
        .await
        .map(|_| ())
        .map_err(workspace_error)
}

/// Removes a member (admins; removing an owner needs an owner; the last owner stays).
#[server(endpoint = "remove_member")]
pub async fn remove_member(workspace_id: String, member_id: String) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::ManageMembers).await?;
    let id = ssr::parse_id(&member_id)?;
    omniplug_core::workspaces::remove_member(&stores.db, &access, id)
        .await
        .map_err(workspace_error)
}

/// Hands ownership to another member; the caller becomes admin (owners).
#[server(endpoint = "transfer_ownership")]
pub async fn transfer_ownership(workspace_id: String, member_id: String) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::TransferOwnership).await?;
    let id = ssr::parse_id(&member_id)?;
    omniplug_core::workspaces::transfer_ownership(&stores.db, &access, id)
        .await
        .map_err(workspace_error)
}

/// The caller leaves a workspace (the last owner cannot).
#[server(endpoint = "leave_workspace")]
pub async fn leave_workspace(workspace_id: String) -> Result<(), AppError> {
    use crate::error::ssr::workspace_error;
    use omniplug_core::tenancy::Action;
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) = ssr::access(&stores, &workspace_id, Action::Read).await?;
    omniplug_core::workspaces::leave(&stores.db, &access)
        .await
        .map_err(workspace_error)
}

/// What the invitation behind `token` offers (no login needed: the token is the secret).
#[server(endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitePreview, AppError> {
    use crate::error::ssr::workspace_error;
    let stores = crate::auth::ssr::stores()?;
    let preview =
        omniplug_core::workspaces::preview_invitation(&stores.db, &token, chrono::Utc::now())
            .await
            .map_err(workspace_error)?;
    let row = ssr::invite_row(preview.invitation);
    Ok(InvitePreview {
        workspace_name: preview.workspace_name,
        email: row.email,
        role: row.role,
        invited_by: preview.invited_by,
        expires: row.expires,
    })
}

/// Accepts an invitation as the logged-in user and switches to the workspace.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<WorkspaceSummary, AppError> {
    use crate::auth::ssr::{require_session, stores};
    use crate::error::ssr::{internal, workspace_error};
    use omniplug_core::tenancy::{self, Action};
    let stores = stores()?;
    let (user, session) = require_session(&stores).await?;
    let joined = omniplug_core::workspaces::accept_invitation(
        &stores.db,
        user.id,
        &token,
        chrono::Utc::now(),
    )
    .await
    .map_err(workspace_error)?;
    let access = tenancy::authorize(&stores.db, user.id, joined.workspace_id, Action::Read)
        .await
        .map_err(|err| workspace_error(err.into()))?;
    omniplug_core::sessions::switch_workspace(&stores.db, session.id, &access)
        .await
        .map_err(internal)?;
    ssr::summary(&stores, &access).await
}

/// Server-only helpers.
#[cfg(feature = "ssr")]
pub mod ssr {
    use omniplug_core::{
        Stores,
        entities::{invitation, session, user},
        tenancy::{self, Action, WorkspaceAccess},
        workspaces,
    };
    use sea_orm::prelude::Uuid;

    use super::InviteRow;
    use crate::{
        auth::{WorkspaceSummary, ssr::require_session},
        error::{
            AppError,
            ssr::{fail, workspace_error},
        },
    };

    /// An id from the request; one that does not parse cannot exist, so it is "not found".
    pub fn parse_id(raw: &str) -> Result<Uuid, AppError> {
        Uuid::parse_str(raw.trim()).map_err(|_| fail(AppError::NotFound))
    }

    /// The logged-in caller's access to `workspace_id` for `action`: 401 without a session,
    /// 404 outside their workspaces, 403 when their role is too low.
    pub async fn access(
        stores: &Stores,
        workspace_id: &str,
        action: Action,
    ) -> Result<(user::Model, session::Model, WorkspaceAccess), AppError> {
        let (user, session) = require_session(stores).await?;
        let id = parse_id(workspace_id)?;
        let access = tenancy::authorize(&stores.db, user.id, id, action)
            .await
            .map_err(|err| workspace_error(err.into()))?;
        Ok((user, session, access))
    }

    /// The workspace as the interface shows it.
    pub async fn summary(
        stores: &Stores,
        access: &WorkspaceAccess,
    ) -> Result<WorkspaceSummary, AppError> {
        let found = workspaces::get(&stores.db, access)
            .await
            .map_err(workspace_error)?;
        Ok(WorkspaceSummary {
            id: found.id.to_string(),
            name: found.name,
            role: workspaces::role_name(access.role()).into(),
        })
    }

    /// An invitation row for the interface.
    pub fn invite_row(inv: invitation::Model) -> InviteRow {
        InviteRow {
            id: inv.id.to_string(),
            email: inv.email,
            role: workspaces::role_name(inv.role).into(),
            expires: inv.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}
