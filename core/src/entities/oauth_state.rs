//! `oauth_states`: one pending OAuth connect, bound to a user, a workspace and a network.

use sea_orm::entity::prelude::*;

use super::PlatformKind;

/// A `state` handed to a network's consent page. Only its SHA-256 is stored; the PKCE
/// verifier is vault-sealed. Single use (`used_at`), ten minutes (`expires_at`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub state_hash: String,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub platform: PlatformKind,
    #[sea_orm(column_type = "Text")]
    pub verifier_enc: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
