//! `media_assets`: uploaded images and videos.

use sea_orm::entity::prelude::*;

use super::MediaKind;

/// One uploaded file, stored under `storage_key` (local folder or bucket).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_assets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub uploaded_by: Option<Uuid>,
    pub kind: MediaKind,
    pub mime_type: String,
    pub file_name: String,
    pub byte_size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub alt_text: Option<String>,
    #[sea_orm(unique)]
    pub storage_key: String,
    pub sha256: String,
    pub created_at: DateTimeUtc,
    /// Names the asset in its public address (`/media/public/{id}/{token}`).
    pub public_token: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
