//! `post_targets`: a post on one connection.

use sea_orm::entity::prelude::*;

use super::{PlatformKind, TargetState};

/// One post on one connected account, with its publish state and latest engagement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub post_id: Uuid,
    pub workspace_id: Uuid,
    pub platform: PlatformKind,
    pub connection_id: Uuid,
    /// Per-platform text that replaces the post's content on this target.
    #[sea_orm(column_type = "Text", nullable)]
    pub content_override: Option<String>,
    pub state: TargetState,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// While PUBLISHING: after this instant another worker may reclaim the target.
    pub lease_until: Option<DateTimeUtc>,
    pub platform_post_id: Option<String>,
    pub platform_post_url: Option<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub repost_count: i64,
    pub impression_count: i64,
    pub last_polled_at: Option<DateTimeUtc>,
    pub next_poll_at: Option<DateTimeUtc>,
    pub published_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub fail_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The network's content hash of the published post (Bluesky CID), needed to reply to it.
    pub platform_post_cid: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::post::Entity",
        from = "Column::PostId",
        to = "super::post::Column::Id",
        on_delete = "Cascade"
    )]
    Post,
    #[sea_orm(
        belongs_to = "super::platform_connection::Entity",
        from = "Column::ConnectionId",
        to = "super::platform_connection::Column::Id",
        on_delete = "Cascade"
    )]
    Connection,
    #[sea_orm(has_many = "super::engagement_snapshot::Entity")]
    Snapshots,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl Related<super::platform_connection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Connection.def()
    }
}

impl Related<super::engagement_snapshot::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Snapshots.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
