//! What the publishing engine needs beyond migration 3: like a target, a plug being replied
//! carries a lease (after it, another worker may settle the reply's unknown outcome) and an
//! attempt count; and a published target keeps the network's content hash (Bluesky's CID),
//! which replies to it must name.
//!
//! SQLite adds one column per ALTER TABLE, hence one statement per column.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{AutoPlugs, PostTargets};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn added_columns() -> Vec<(DynIden, ColumnDef)> {
    vec![
        (
            AutoPlugs::Table.into_iden(),
            timestamp_with_time_zone_null(AutoPlugs::LeaseUntil),
        ),
        (
            AutoPlugs::Table.into_iden(),
            integer(AutoPlugs::Attempts).default(0).to_owned(),
        ),
        (
            PostTargets::Table.into_iden(),
            string_len_null(PostTargets::PlatformPostCid, 255),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in added_columns() {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in added_columns().into_iter().rev() {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .drop_column(Alias::new(column.get_column_name()))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
