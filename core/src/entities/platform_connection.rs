//! `platform_connections`: a connected account on a network.

use sea_orm::entity::prelude::*;

use super::PlatformKind;

/// A connected account. Token columns hold vault-sealed text, never plaintext, and no
/// endpoint returns them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub platform: PlatformKind,
    pub platform_user_id: String,
    pub handle: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub access_token_enc: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub refresh_token_enc: Option<String>,
    pub token_expires_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub is_valid: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub history: Json,
    pub connected_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The workspace's own name for the account ("Rename").
    pub label: Option<String>,
    /// A self-hosted server (Bluesky PDS); `None` means the network's default.
    pub base_url: Option<String>,
    /// Vault-sealed app password (Bluesky), kept to log in again when a refresh fails.
    #[sea_orm(column_type = "Text", nullable)]
    pub secret_enc: Option<String>,
    /// When the credentials were last verified.
    pub checked_at: Option<DateTimeUtc>,
    /// While set and in the future, one process is refreshing the tokens; others wait.
    pub refresh_lease_until: Option<DateTimeUtc>,
    /// Set when disconnected: secrets are wiped, the row stays for published posts' links.
    pub disconnected_at: Option<DateTimeUtc>,
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
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
