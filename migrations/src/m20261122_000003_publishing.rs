//! What gets published: posts, their per-connection targets, auto-plugs, the job audit
//! trail, engagement snapshots and media assets, with indexes for the worker's hot queries.

use sea_orm_migration::{prelude::*, schema::*};

use crate::idens::{
    AutoPlugs, EngagementSnapshots, Jobs, MediaAssets, PlatformConnections, PostTargets as Pt,
    Posts, Users, Workspaces,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        m.create_table(
            Table::create()
                .table(Posts::Table)
                .col(pk_uuid(Posts::Id))
                .col(uuid(Posts::WorkspaceId))
                .col(uuid_null(Posts::AuthorId))
                .col(text(Posts::Content))
                // JSON array of media asset ids, in display order.
                .col(json(Posts::Media))
                .col(string_len(Posts::Status, 24))
                .col(timestamp_with_time_zone_null(Posts::ScheduledAt))
                .col(timestamp_with_time_zone_null(Posts::PublishedAt))
                .col(text_null(Posts::FailReason))
                // Bumped on every change; queue messages carry it so stale ones are ignored.
                .col(integer(Posts::Version).default(0))
                .col(timestamp_with_time_zone(Posts::CreatedAt))
                .col(timestamp_with_time_zone(Posts::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_posts_workspace",
                    (Posts::Table, Posts::WorkspaceId),
                    (Workspaces::Table, Workspaces::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_posts_author",
                    (Posts::Table, Posts::AuthorId),
                    (Users::Table, Users::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        // Calendar and lists: a workspace's posts by time.
        m.create_index(index(
            "idx_posts_workspace_scheduled",
            Posts::Table,
            &["workspace_id", "scheduled_at"],
        ))
        .await?;
        // Start-up rebuild and missed-post sweep: scheduled posts by due time.
        m.create_index(index(
            "idx_posts_status_scheduled",
            Posts::Table,
            &["status", "scheduled_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Pt::Table)
                .col(pk_uuid(Pt::Id))
                .col(uuid(Pt::PostId))
                // Copied from the post so scoped queries need no join.
                .col(uuid(Pt::WorkspaceId))
                .col(string_len(Pt::Platform, 16))
                .col(uuid(Pt::ConnectionId))
                .col(text_null(Pt::ContentOverride))
                .col(string_len(Pt::State, 16))
                .col(integer(Pt::Attempts).default(0))
                .col(timestamp_with_time_zone_null(Pt::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Pt::LeaseUntil))
                .col(string_len_null(Pt::PlatformPostId, 255))
                .col(string_len_null(Pt::PlatformPostUrl, 1000))
                .col(big_integer(Pt::LikeCount).default(0))
                .col(big_integer(Pt::CommentCount).default(0))
                .col(big_integer(Pt::RepostCount).default(0))
                .col(big_integer(Pt::ImpressionCount).default(0))
                .col(timestamp_with_time_zone_null(Pt::LastPolledAt))
                .col(timestamp_with_time_zone_null(Pt::NextPollAt))
                .col(timestamp_with_time_zone_null(Pt::PublishedAt))
                .col(text_null(Pt::FailReason))
                .col(integer(Pt::Version).default(0))
                .col(timestamp_with_time_zone(Pt::CreatedAt))
                .col(timestamp_with_time_zone(Pt::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_targets_post",
                    (Pt::Table, Pt::PostId),
                    (Posts::Table, Posts::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_targets_workspace",
                    (Pt::Table, Pt::WorkspaceId),
                    (Workspaces::Table, Workspaces::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_targets_connection",
                    (Pt::Table, Pt::ConnectionId),
                    (PlatformConnections::Table, PlatformConnections::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_targets_post_connection",
                Pt::Table,
                &["post_id", "connection_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        // The worker's due-work queries: targets by state and next attempt / next poll.
        m.create_index(index(
            "idx_targets_state_next_attempt",
            Pt::Table,
            &["state", "next_attempt_at"],
        ))
        .await?;
        m.create_index(index(
            "idx_targets_state_next_poll",
            Pt::Table,
            &["state", "next_poll_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AutoPlugs::Table)
                .col(pk_uuid(AutoPlugs::Id))
                .col(uuid(AutoPlugs::PostId))
                .col(uuid(AutoPlugs::WorkspaceId))
                .col(string_len(AutoPlugs::Platform, 16))
                .col(text(AutoPlugs::Content))
                .col(string_len(AutoPlugs::Trigger, 24))
                // Likes/comments/reposts threshold, or minutes after publishing.
                .col(big_integer(AutoPlugs::TriggerValue))
                .col(string_len(AutoPlugs::Status, 16))
                .col(timestamp_with_time_zone_null(AutoPlugs::FiredAt))
                .col(string_len_null(AutoPlugs::PlugPostId, 255))
                .col(string_len_null(AutoPlugs::PlugPostUrl, 1000))
                .col(text_null(AutoPlugs::FailReason))
                .col(integer(AutoPlugs::Version).default(0))
                .col(timestamp_with_time_zone(AutoPlugs::CreatedAt))
                .col(timestamp_with_time_zone(AutoPlugs::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_plugs_post",
                    (AutoPlugs::Table, AutoPlugs::PostId),
                    (Posts::Table, Posts::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_plugs_workspace",
                    (AutoPlugs::Table, AutoPlugs::WorkspaceId),
                    (Workspaces::Table, Workspaces::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        // One plug per post per platform.
        m.create_index(
            index(
                "uq_plugs_post_platform",
                AutoPlugs::Table,
                &["post_id", "platform"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index("idx_plugs_status", AutoPlugs::Table, &["status"]))
            .await?;

        // Audit of every attempt; ids are plain columns (no FKs) so history survives deletes.
        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(pk_uuid(Jobs::Id))
                .col(uuid_null(Jobs::WorkspaceId))
                .col(string_len(Jobs::Kind, 16))
                .col(string_len(Jobs::Status, 16))
                .col(uuid_null(Jobs::PostId))
                .col(uuid_null(Jobs::TargetId))
                .col(uuid_null(Jobs::PlugId))
                .col(integer(Jobs::Attempt).default(1))
                .col(string_len_null(Jobs::ErrorClass, 16))
                .col(text_null(Jobs::Error))
                .col(timestamp_with_time_zone(Jobs::StartedAt))
                .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                .col(big_integer_null(Jobs::DurationMs))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_jobs_post", Jobs::Table, &["post_id"]))
            .await?;
        m.create_index(index(
            "idx_jobs_kind_status_started",
            Jobs::Table,
            &["kind", "status", "started_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(EngagementSnapshots::Table)
                .col(pk_uuid(EngagementSnapshots::Id))
                .col(uuid(EngagementSnapshots::TargetId))
                .col(timestamp_with_time_zone(EngagementSnapshots::ObservedAt))
                .col(big_integer(EngagementSnapshots::LikeCount))
                .col(big_integer(EngagementSnapshots::CommentCount))
                .col(big_integer(EngagementSnapshots::RepostCount))
                .col(big_integer(EngagementSnapshots::ImpressionCount))
                .foreign_key(&mut fk(
                    "fk_snapshots_target",
                    (EngagementSnapshots::Table, EngagementSnapshots::TargetId),
                    (Pt::Table, Pt::Id),
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_snapshots_target_observed",
            EngagementSnapshots::Table,
            &["target_id", "observed_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MediaAssets::Table)
                .col(pk_uuid(MediaAssets::Id))
                .col(uuid(MediaAssets::WorkspaceId))
                .col(uuid_null(MediaAssets::UploadedBy))
                .col(string_len(MediaAssets::Kind, 16))
                .col(string_len(MediaAssets::MimeType, 100))
                .col(string_len(MediaAssets::FileName, 255))
                .col(big_integer(MediaAssets::ByteSize))
                .col(integer_null(MediaAssets::Width))
                .col(integer_null(MediaAssets::Height))
                .col(big_integer_null(MediaAssets::DurationMs))
                .col(text_null(MediaAssets::AltText))
                .col(string_len_uniq(MediaAssets::StorageKey, 255))
                .col(string_len(MediaAssets::Sha256, 64))
                .col(timestamp_with_time_zone(MediaAssets::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_media_workspace",
                    (MediaAssets::Table, MediaAssets::WorkspaceId),
                    (Workspaces::Table, Workspaces::Id),
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_media_uploader",
                    (MediaAssets::Table, MediaAssets::UploadedBy),
                    (Users::Table, Users::Id),
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_media_workspace_created",
            MediaAssets::Table,
            &["workspace_id", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MediaAssets::Table.into_iden(),
            EngagementSnapshots::Table.into_iden(),
            Jobs::Table.into_iden(),
            AutoPlugs::Table.into_iden(),
            Pt::Table.into_iden(),
            Posts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
