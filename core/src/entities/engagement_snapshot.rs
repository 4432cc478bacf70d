//! `engagement_snapshots`: counts observed by the poller over time.

use sea_orm::entity::prelude::*;

/// The counts of one target at one instant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "engagement_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub target_id: Uuid,
    pub observed_at: DateTimeUtc,
    pub like_count: i64,
    pub comment_count: i64,
    pub repost_count: i64,
    pub impression_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::post_target::Entity",
        from = "Column::TargetId",
        to = "super::post_target::Column::Id",
        on_delete = "Cascade"
    )]
    Target,
}

impl Related<super::post_target::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Target.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
