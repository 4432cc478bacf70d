//! `jobs`: the audit of every publish, poll and plug attempt.

use sea_orm::entity::prelude::*;

use super::{JobKind, JobStatus};

/// One attempt by a worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub kind: JobKind,
    pub status: JobStatus,
    pub post_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub plug_id: Option<Uuid>,
    pub attempt: i32,
    /// `rate_limited`, `transient`, `auth` or `permanent`.
    pub error_class: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
