//! The closed sets of values the data model uses, with their stored spelling.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A workspace's billing plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Plan {
    #[sea_orm(string_value = "FREE")]
    Free,
    #[sea_orm(string_value = "PRO")]
    Pro,
    #[sea_orm(string_value = "AGENCY")]
    Agency,
}

/// What a member may do in a workspace; ordered from least to most powerful.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Reads everything.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// Also writes and schedules posts.
    #[sea_orm(string_value = "editor")]
    Editor,
    /// Also manages connections, members and billing.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Also deletes the workspace and transfers ownership.
    #[sea_orm(string_value = "owner")]
    Owner,
}

/// The network a connection, target or plug lives on (stored form of
/// [`omniplug_platforms::Platform`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PlatformKind {
    #[sea_orm(string_value = "x")]
    X,
    #[sea_orm(string_value = "linkedin")]
    LinkedIn,
    #[sea_orm(string_value = "instagram")]
    Instagram,
    #[sea_orm(string_value = "bluesky")]
    Bluesky,
    #[sea_orm(string_value = "sandbox")]
    Sandbox,
}

impl From<PlatformKind> for omniplug_platforms::Platform {
    fn from(kind: PlatformKind) -> Self {
        use omniplug_platforms::Platform as P;
        match kind {
            PlatformKind::X => P::X,
            PlatformKind::LinkedIn => P::LinkedIn,
            PlatformKind::Instagram => P::Instagram,
            PlatformKind::Bluesky => P::Bluesky,
            PlatformKind::Sandbox => P::Sandbox,
        }
    }
}

impl From<omniplug_platforms::Platform> for PlatformKind {
    fn from(platform: omniplug_platforms::Platform) -> Self {
        use omniplug_platforms::Platform as P;
        match platform {
            P::X => Self::X,
            P::LinkedIn => Self::LinkedIn,
            P::Instagram => Self::Instagram,
            P::Bluesky => Self::Bluesky,
            P::Sandbox => Self::Sandbox,
        }
    }
}

/// Where a post is in its life (see `docs/architecture.md`, "The life of a post").
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum PostStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    #[sea_orm(string_value = "PUBLISHING")]
    Publishing,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "PARTIALLY_PUBLISHED")]
    PartiallyPublished,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Its time passed while nothing could publish it; the user decides what happens.
    #[sea_orm(string_value = "MISSED")]
    Missed,
}

/// Where one target (a post on one connection) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TargetState {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "PUBLISHING")]
    Publishing,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Where an auto-plug is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PlugStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "FIRING")]
    Firing,
    #[sea_orm(string_value = "FIRED")]
    Fired,
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// What fires an auto-plug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum PlugTrigger {
    #[sea_orm(string_value = "LIKES")]
    Likes,
    #[sea_orm(string_value = "COMMENTS")]
    Comments,
    #[sea_orm(string_value = "REPOSTS")]
    Reposts,
    /// `trigger_value` minutes after the post is published.
    #[sea_orm(string_value = "TIME_AFTER_PUBLISH")]
    TimeAfterPublish,
}

/// What a worker job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobKind {
    #[sea_orm(string_value = "publish")]
    Publish,
    #[sea_orm(string_value = "poll")]
    Poll,
    #[sea_orm(string_value = "plug")]
    Plug,
}

/// How a worker job ended (or that it is still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobStatus {
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "retrying")]
    Retrying,
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Lost a compare-and-set: another worker or a newer version owns the work.
    #[sea_orm(string_value = "skipped")]
    Skipped,
}

/// An uploaded file's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MediaKind {
    #[sea_orm(string_value = "image")]
    Image,
    #[sea_orm(string_value = "video")]
    Video,
}
