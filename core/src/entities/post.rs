//! `posts`: what a user writes once.

use sea_orm::entity::prelude::*;

use super::PostStatus;

/// A post; its per-connection life is in `post_targets`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub author_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// JSON array of media asset ids.
    pub media: Json,
    pub status: PostStatus,
    /// UTC; the user's zone is applied only when shown.
    pub scheduled_at: Option<DateTimeUtc>,
    pub published_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub fail_reason: Option<String>,
    /// Compare-and-set guard: every change bumps it.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workspace::Entity",
        from = "Column::WorkspaceId",
        to = "super::workspace::Column::Id",
        on_delete = "Cascade"
    )]
    Workspace,
    #[sea_orm(has_many = "super::post_target::Entity")]
    Targets,
    #[sea_orm(has_many = "super::auto_plug::Entity")]
    Plugs,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl Related<super::post_target::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Targets.def()
    }
}

impl Related<super::auto_plug::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plugs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
