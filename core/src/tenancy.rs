//! Tenancy in the types: workspace data is reached only through a [`WorkspaceAccess`], and the
//! only way to get one is [`authorize`], which checks the caller's membership and role. A
//! service that takes `&WorkspaceAccess` cannot be called without that check having passed.

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, prelude::Uuid};

use crate::entities::{Role, membership};

/// Something a member may try to do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See posts, calendar, analytics, members.
    Read,
    /// Write, schedule and delete posts and drafts.
    WritePosts,
    /// Connect and disconnect accounts on the networks.
    ManageConnections,
    /// Invite, remove and change the roles of members; rename the workspace.
    ManageMembers,
    /// Change plan and billing details.
    ManageBilling,
    /// Delete the workspace.
    DeleteWorkspace,
    /// Hand ownership to another member.
    TransferOwnership,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 7] = [
        Action::Read,
        Action::WritePosts,
        Action::ManageConnections,
        Action::ManageMembers,
        Action::ManageBilling,
        Action::DeleteWorkspace,
        Action::TransferOwnership,
    ];

    /// The least powerful role allowed to do this: viewer reads; editor writes and schedules;
    /// admin also manages connections, members and billing; owner also deletes and transfers.
    pub fn min_role(self) -> Role {
        match self {
            Action::Read => Role::Viewer,
            Action::WritePosts => Role::Editor,
            Action::ManageConnections | Action::ManageMembers | Action::ManageBilling => {
                Role::Admin
            }
            Action::DeleteWorkspace | Action::TransferOwnership => Role::Owner,
        }
    }
}

/// Why access was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Not a member, or no such workspace: the same answer, so ids cannot be probed.
    #[error("not found")]
    NotFound,
    /// A member whose role is too low.
    #[error("your role does not allow this; ask a workspace {needed:?} or the owner")]
    Forbidden {
        /// The least role that may do it.
        needed: Role,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

/// Proof that `user_id` is a member of `workspace_id` with `role`. Fields are private and there
/// is no public constructor besides [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceAccess {
    workspace_id: Uuid,
    user_id: Uuid,
    role: Role,
}

impl WorkspaceAccess {
    /// The workspace every query made with this access must be scoped to.
    pub fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    /// Who is acting.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// Their role in the workspace.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this member may also do `action`.
    pub fn can(&self, action: Action) -> bool {
        self.role >= action.min_role()
    }

    /// `Ok` when this member may also do `action`, else the role it takes: every service
    /// re-checks its own action with this, whatever the access was built for.
    pub fn check(&self, action: Action) -> Result<(), AccessError> {
        if self.can(action) {
            Ok(())
        } else {
            Err(AccessError::Forbidden {
                needed: action.min_role(),
            })
        }
    }
}

/// Checks that `user_id` belongs to `workspace_id` with a role allowed to do `action`.
#[tracing::instrument(skip_all, fields(%user_id, %workspace_id, ?action), err(level = tracing::Level::INFO))]
pub async fn authorize(
    db: &DatabaseConnection,
    user_id: Uuid,
    workspace_id: Uuid,
    action: Action,
) -> Result<WorkspaceAccess, AccessError> {
    let member = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(workspace_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(AccessError::NotFound)?;
    let access = WorkspaceAccess {
        workspace_id,
        user_id,
        role: member.role,
    };
    if access.can(action) {
        Ok(access)
    } else {
        Err(AccessError::Forbidden {
            needed: action.min_role(),
        })
    }
}

/// Implements `From<AccessError>` for a service's error type, which must have `NotFound`,
/// `Forbidden { needed: &'static str }` (the least role, in words) and `Database(DbErr)`
/// variants: every service turns a refused access into its own error the same way.
macro_rules! from_access_error {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$crate::tenancy::AccessError> for $error {
            fn from(err: $crate::tenancy::AccessError) -> Self {
                match err {
                    $crate::tenancy::AccessError::NotFound => Self::NotFound,
                    $crate::tenancy::AccessError::Forbidden { needed } => Self::Forbidden {
                        needed: $crate::workspaces::role_name(needed),
                    },
                    $crate::tenancy::AccessError::Database(err) => Self::Database(err),
                }
            }
        }
    )+};
}
pub(crate) use from_access_error;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_allowed_exactly_for_roles_at_or_above_its_minimum() {
        let roles = [Role::Viewer, Role::Editor, Role::Admin, Role::Owner];
        let expected: [(Action, [bool; 4]); 7] = [
            (Action::Read, [true, true, true, true]),
            (Action::WritePosts, [false, true, true, true]),
            (Action::ManageConnections, [false, false, true, true]),
            (Action::ManageMembers, [false, false, true, true]),
            (Action::ManageBilling, [false, false, true, true]),
            (Action::DeleteWorkspace, [false, false, false, true]),
            (Action::TransferOwnership, [false, false, false, true]),
        ];
        assert_eq!(expected.len(), Action::ALL.len(), "every action has a row");
        for (action, allowed) in expected {
            for (role, allowed) in roles.into_iter().zip(allowed) {
                let access = WorkspaceAccess {
                    workspace_id: Uuid::nil(),
                    user_id: Uuid::nil(),
                    role,
                };
                assert_eq!(access.can(action), allowed, "{role:?} {action:?}");
            }
        }
    }
}
