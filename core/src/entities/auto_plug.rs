//! `auto_plugs`: the automatic reply under a published post.

use sea_orm::entity::prelude::*;

use super::{PlatformKind, PlugStatus, PlugTrigger};

/// One plug per post per platform, fired at most once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_plugs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub post_id: Uuid,
    pub workspace_id: Uuid,
    pub platform: PlatformKind,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub trigger: PlugTrigger,
    /// A count for engagement triggers, minutes for `TIME_AFTER_PUBLISH`.
    pub trigger_value: i64,
    pub status: PlugStatus,
    pub fired_at: Option<DateTimeUtc>,
    pub plug_post_id: Option<String>,
    pub plug_post_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub fail_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// While FIRING with a reply call under way: after this instant another worker may settle
    /// the reply's outcome. `None` while FIRING means no call has started yet.
    pub lease_until: Option<DateTimeUtc>,
    /// Reply calls made so far.
    pub attempts: i32,
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
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
