//! Who: users and their sessions, workspaces, memberships with roles, invitations,
//! notifications, API keys and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{
    ApiKeys, AuditLog, Invitations, Memberships, Notifications, Sessions, Users, Workspaces,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade_to(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: impl IntoIden + 'static,
    to_col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn set_null_to(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: impl IntoIden + 'static,
    to_col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::SetNull)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                .col(string_len_uniq(Users::Email, 320))
                .col(string_len(Users::PasswordHash, 255))
                .col(string_len(Users::Name, 100))
                .col(string_len(Users::Timezone, 64).default("UTC"))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Workspaces::Table)
                .col(pk_uuid(Workspaces::Id))
                .col(string_len(Workspaces::Name, 80))
                .col(string_len(Workspaces::Plan, 16).default("FREE"))
                .col(string_len_null(Workspaces::BillingCustomerId, 128))
                .col(string_len_null(Workspaces::BillingSubscriptionId, 128))
                // How late a post may still go out after downtime before it is marked MISSED.
                .col(integer(Workspaces::MissedGraceMinutes).default(15))
                .col(timestamp_with_time_zone(Workspaces::CreatedAt))
                .col(timestamp_with_time_zone(Workspaces::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(pk_uuid(Sessions::Id))
                .col(uuid(Sessions::UserId))
                // SHA-256 of the cookie token, hex; the token itself is never stored.
                .col(string_len_uniq(Sessions::TokenHash, 64))
                .col(uuid_null(Sessions::CurrentWorkspaceId))
                .col(string_len_null(Sessions::UserAgent, 255))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .foreign_key(&mut cascade_to(
                    "fk_sessions_user",
                    (Sessions::Table, Sessions::UserId),
                    Users::Table,
                    Users::Id,
                ))
                .foreign_key(&mut set_null_to(
                    "fk_sessions_workspace",
                    (Sessions::Table, Sessions::CurrentWorkspaceId),
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_expires")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(pk_uuid(Memberships::Id))
                .col(uuid(Memberships::WorkspaceId))
                .col(uuid(Memberships::UserId))
                .col(string_len(Memberships::Role, 16))
                .col(timestamp_with_time_zone(Memberships::CreatedAt))
                .foreign_key(&mut cascade_to(
                    "fk_memberships_workspace",
                    (Memberships::Table, Memberships::WorkspaceId),
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .foreign_key(&mut cascade_to(
                    "fk_memberships_user",
                    (Memberships::Table, Memberships::UserId),
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_memberships_workspace_user")
                .table(Memberships::Table)
                .col(Memberships::WorkspaceId)
                .col(Memberships::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_memberships_user")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(pk_uuid(Invitations::Id))
                .col(uuid(Invitations::WorkspaceId))
                .col(string_len(Invitations::Email, 320))
                .col(string_len(Invitations::Role, 16))
                .col(string_len_uniq(Invitations::TokenHash, 64))
                .col(uuid_null(Invitations::InvitedBy))
                .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                .col(uuid_null(Invitations::AcceptedBy))
                .col(timestamp_with_time_zone(Invitations::CreatedAt))
                .foreign_key(&mut cascade_to(
                    "fk_invitations_workspace",
                    (Invitations::Table, Invitations::WorkspaceId),
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .foreign_key(&mut set_null_to(
                    "fk_invitations_inviter",
                    (Invitations::Table, Invitations::InvitedBy),
                    Users::Table,
                    Users::Id,
                ))
                .foreign_key(&mut set_null_to(
                    "fk_invitations_acceptor",
                    (Invitations::Table, Invitations::AcceptedBy),
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_invitations_workspace")
                .table(Invitations::Table)
                .col(Invitations::WorkspaceId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk_uuid(Notifications::Id))
                .col(uuid(Notifications::WorkspaceId))
                .col(uuid_null(Notifications::UserId))
                .col(string_len(Notifications::Kind, 32))
                .col(string_len(Notifications::Title, 200))
                .col(text(Notifications::Body))
                .col(string_len_null(Notifications::Link, 500))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .foreign_key(&mut cascade_to(
                    "fk_notifications_workspace",
                    (Notifications::Table, Notifications::WorkspaceId),
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .foreign_key(&mut cascade_to(
                    "fk_notifications_user",
                    (Notifications::Table, Notifications::UserId),
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_workspace_created")
                .table(Notifications::Table)
                .col(Notifications::WorkspaceId)
                .col(Notifications::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_user_unread")
                .table(Notifications::Table)
                .col(Notifications::UserId)
                .col(Notifications::ReadAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(pk_uuid(ApiKeys::Id))
                .col(uuid(ApiKeys::WorkspaceId))
                .col(uuid_null(ApiKeys::CreatedBy))
                .col(string_len(ApiKeys::Name, 80))
                // The first characters of the key, shown in lists so people can tell keys apart.
                .col(string_len(ApiKeys::Prefix, 16))
                .col(string_len_uniq(ApiKeys::KeyHash, 64))
                .col(text(ApiKeys::Scopes))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .foreign_key(&mut cascade_to(
                    "fk_api_keys_workspace",
                    (ApiKeys::Table, ApiKeys::WorkspaceId),
                    Workspaces::Table,
                    Workspaces::Id,
                ))
                .foreign_key(&mut set_null_to(
                    "fk_api_keys_creator",
                    (ApiKeys::Table, ApiKeys::CreatedBy),
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_api_keys_workspace")
                .table(ApiKeys::Table)
                .col(ApiKeys::WorkspaceId)
                .to_owned(),
        )
        .await?;

        // No foreign keys: the audit trail outlives the rows it talks about.
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(pk_uuid(AuditLog::Id))
                .col(uuid_null(AuditLog::WorkspaceId))
                .col(uuid_null(AuditLog::ActorUserId))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::SubjectType, 32))
                .col(string_len_null(AuditLog::SubjectId, 64))
                .col(json(AuditLog::Details))
                .col(string_len_null(AuditLog::Ip, 64))
                .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_log_workspace_created")
                .table(AuditLog::Table)
                .col(AuditLog::WorkspaceId)
                .col(AuditLog::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Notifications::Table.into_iden(),
            Invitations::Table.into_iden(),
            Memberships::Table.into_iden(),
            Sessions::Table.into_iden(),
            Workspaces::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
