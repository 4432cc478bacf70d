//! An index for the worker's engagement read: it loads one connection's watched targets
//! (`connection_id = ? AND state = 'PUBLISHED' AND next_poll_at IS NOT NULL`). Without it the
//! query walked every watched target of every connection through `(state, next_poll_at)`: on
//! SQLite with 10,000 posts just published that was ~20 ms a poll and most of the worker's
//! CPU (`make bench`, spread scenario).

use sea_orm_migration::prelude::*;

use crate::idens::PostTargets;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_targets_connection_state_next_poll";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NAME)
                .table(PostTargets::Table)
                .col(PostTargets::ConnectionId)
                .col(PostTargets::State)
                .col(PostTargets::NextPollAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(NAME)
                .table(PostTargets::Table)
                .to_owned(),
        )
        .await
    }
}
