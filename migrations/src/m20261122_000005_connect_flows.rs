//! What connecting accounts needs beyond migration 2: a person's own name for a connection, a
//! self-hosted server address (Bluesky PDS), a sealed app password, when it was last checked,
//! a lease so only one refresh per connection runs at a time, when it was disconnected, and
//! single-use OAuth states.
//!
//! SQLite adds one column per ALTER TABLE, hence one statement per column.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{OauthStates as Os, PlatformConnections as Pc, Users, Workspaces};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn added_columns() -> Vec<ColumnDef> {
    vec![
        string_len_null(Pc::Label, 100),
        string_len_null(Pc::BaseUrl, 300),
        // Vault-sealed, like the tokens.
        text_null(Pc::SecretEnc),
        timestamp_with_time_zone_null(Pc::CheckedAt),
        timestamp_with_time_zone_null(Pc::RefreshLeaseUntil),
        // Disconnecting wipes the secrets but keeps the row, so published posts keep their links.
        timestamp_with_time_zone_null(Pc::DisconnectedAt),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for mut column in added_columns() {
            m.alter_table(
                Table::alter()
                    .table(Pc::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Os::Table)
                .col(pk_uuid(Os::Id))
                // SHA-256 of the `state` sent to the network; the value itself is not kept.
                .col(string_len_uniq(Os::StateHash, 64))
                .col(uuid(Os::UserId))
                .col(uuid(Os::WorkspaceId))
                .col(string_len(Os::Platform, 16))
                .col(text(Os::VerifierEnc))
                .col(timestamp_with_time_zone(Os::CreatedAt))
                .col(timestamp_with_time_zone(Os::ExpiresAt))
                .col(timestamp_with_time_zone_null(Os::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_oauth_states_user")
                        .from(Os::Table, Os::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_oauth_states_workspace")
                        .from(Os::Table, Os::WorkspaceId)
                        .to(Workspaces::Table, Workspaces::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Os::Table).to_owned())
            .await?;
        for column in added_columns() {
            m.alter_table(
                Table::alter()
                    .table(Pc::Table)
                    .drop_column(Alias::new(column.get_column_name()))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
