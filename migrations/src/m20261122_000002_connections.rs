//! Connected accounts on the networks, with their tokens sealed by the vault.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{PlatformConnections as Pc, Users, Workspaces};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Pc::Table)
                .col(pk_uuid(Pc::Id))
                .col(uuid(Pc::WorkspaceId))
                .col(string_len(Pc::Platform, 16))
                .col(string_len(Pc::PlatformUserId, 128))
                .col(string_len(Pc::Handle, 128))
                .col(string_len_null(Pc::DisplayName, 200))
                .col(string_len_null(Pc::AvatarUrl, 1000))
                // Vault-sealed (`<key id>:<base64>`), bound to this row and column.
                .col(text(Pc::AccessTokenEnc))
                .col(text_null(Pc::RefreshTokenEnc))
                .col(timestamp_with_time_zone_null(Pc::TokenExpiresAt))
                .col(text(Pc::Scopes))
                .col(boolean(Pc::IsValid).default(true))
                .col(text_null(Pc::LastError))
                // JSON array of {at, event, detail}: connected, refreshed, invalidated, reconnected.
                .col(json(Pc::History))
                .col(uuid_null(Pc::ConnectedBy))
                .col(timestamp_with_time_zone(Pc::CreatedAt))
                .col(timestamp_with_time_zone(Pc::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_connections_workspace")
                        .from(Pc::Table, Pc::WorkspaceId)
                        .to(Workspaces::Table, Workspaces::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_connections_user")
                        .from(Pc::Table, Pc::ConnectedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        // One row per account per workspace: reconnecting updates it instead of duplicating.
        m.create_index(
            Index::create()
                .name("uq_connections_workspace_account")
                .table(Pc::Table)
                .col(Pc::WorkspaceId)
                .col(Pc::Platform)
                .col(Pc::PlatformUserId)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Pc::Table).to_owned())
            .await
    }
}
