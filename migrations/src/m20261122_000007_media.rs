//! Media beyond migration 3: each asset gets an unguessable token for the public address
//! networks fetch it from (Instagram takes images by URL), and uploads are counted per
//! workspace and month so plans can limit them later.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{MediaAssets, MediaUsage, Workspaces};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(MediaAssets::Table)
                .add_column(string_len(MediaAssets::PublicToken, 64).default(""))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MediaUsage::Table)
                .col(uuid(MediaUsage::WorkspaceId))
                // `YYYY-MM`, in UTC.
                .col(string_len(MediaUsage::Month, 7))
                .col(big_integer(MediaUsage::Uploads).default(0))
                .primary_key(
                    Index::create()
                        .col(MediaUsage::WorkspaceId)
                        .col(MediaUsage::Month),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_media_usage_workspace")
                        .from(MediaUsage::Table, MediaUsage::WorkspaceId)
                        .to(Workspaces::Table, Workspaces::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MediaUsage::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(MediaAssets::Table)
                .drop_column(MediaAssets::PublicToken)
                .to_owned(),
        )
        .await
    }
}
