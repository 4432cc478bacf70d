//! sea-orm entities, one module per table, mirroring `migrations/`. Enumerations are stored
//! as short strings so the same rows read the same on SQLite and PostgreSQL.

pub mod api_key;
pub mod audit_log;
pub mod auto_plug;
pub mod engagement_snapshot;
pub mod enums;
pub mod invitation;
pub mod job;
pub mod media_asset;
pub mod media_usage;
pub mod membership;
pub mod notification;
pub mod oauth_state;
pub mod platform_connection;
pub mod post;
pub mod post_target;
pub mod session;
pub mod user;
pub mod workspace;

pub use enums::*;

/// Each entity under its conventional name, for `use omniplug_core::entities::prelude::*`.
pub mod prelude {
    pub use super::api_key::Entity as ApiKey;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::auto_plug::Entity as AutoPlug;
    pub use super::engagement_snapshot::Entity as EngagementSnapshot;
    pub use super::invitation::Entity as Invitation;
    pub use super::job::Entity as Job;
    pub use super::media_asset::Entity as MediaAsset;
    pub use super::media_usage::Entity as MediaUsage;
    pub use super::membership::Entity as Membership;
    pub use super::notification::Entity as Notification;
    pub use super::oauth_state::Entity as OauthState;
    pub use super::platform_connection::Entity as PlatformConnection;
    pub use super::post::Entity as Post;
    pub use super::post_target::Entity as PostTarget;
    pub use super::session::Entity as Session;
    pub use super::user::Entity as User;
    pub use super::workspace::Entity as Workspace;
}
