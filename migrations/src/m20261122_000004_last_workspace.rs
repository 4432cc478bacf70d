//! Remembers the workspace a user last switched to, so a new login opens where they left off.
//! No foreign key (SQLite cannot add one to an existing table): readers only use it through
//! the user's memberships, so a deleted workspace is simply not found and ignored.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(uuid_null(Users::LastWorkspaceId))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::LastWorkspaceId)
                .to_owned(),
        )
        .await
    }
}
