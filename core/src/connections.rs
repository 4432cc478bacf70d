//! Connected accounts: connecting (OAuth, app password, Sandbox), keeping tokens sealed and
//! fresh, renaming, checking and disconnecting.
//!
//! Every function that touches a workspace's connections takes a [`WorkspaceAccess`] and checks
//! its own action; ids are looked up inside the access's workspace, so a foreign id is "Not
//! found.". Secrets are sealed by the [`Vault`] bound to the row and column, and never leave
//! this module except as [`Credentials`] handed to a platform client.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration as StdDuration,
};

use chrono::{DateTime, Duration, Utc};
use omniplug_platforms::{
    Platform,
    clients::{
        AuthorizeRequest, ClientConfig, Credentials, ErrorKind, Network, Pkce, PlatformError,
        Token, TokenSet,
        bluesky::{APP_PASSWORD_SCOPE, BlueskyClient},
        instagram::InstagramClient,
        linkedin::LinkedInClient,
        x::XClient,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, prelude::Uuid, sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use crate::{
    config::{Config, NetworkSettings, app_vars},
    entities::{PlatformKind, oauth_state, platform_connection as pc, user},
    sessions::{hash_token, new_secret},
    tenancy::{Action, WorkspaceAccess, authorize},
    vault::{SealedField, Vault, VaultError},
};

/// Where the server mounts the Sandbox network.
pub const SANDBOX_MOUNT: &str = "/sandbox-network";
/// How long an OAuth `state` stays usable.
pub const STATE_TTL: Duration = Duration::minutes(10);
/// Tokens expiring sooner than this are refreshed before use.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);
/// How long one process may hold the refresh lease.
pub const REFRESH_LEASE: Duration = Duration::seconds(30);
/// Warn this long before an expiry that cannot be refreshed past.
pub const EXPIRY_WARNING: Duration = Duration::days(7);

const TABLE: &str = "platform_connections";

/// Why a connection operation was refused; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Outside the caller's workspaces, disconnected, or gone.
    #[error("Not found.")]
    NotFound,
    /// A member whose role is too low.
    #[error("Your role does not allow this. Ask a workspace {needed} or owner.")]
    Forbidden {
        /// The least role that may, in words.
        needed: &'static str,
    },
    /// The network's app is not configured on this server.
    #[error("{network} is not set up on this server yet: set {vars} and restart.")]
    NotConfigured {
        /// The network's name.
        network: &'static str,
        /// The variables to set.
        vars: String,
    },
    /// Bad input, with the sentence to show.
    #[error("{0}")]
    Invalid(String),
    /// The `state` is unknown, belongs to someone else, or to another network.
    #[error(
        "This connection attempt is not valid. Start connecting again from the Connections page."
    )]
    StateUnknown,
    /// The `state` is older than ten minutes.
    #[error("This connection attempt took too long and expired. Start connecting again.")]
    StateExpired,
    /// The `state` was used already.
    #[error(
        "This connection attempt was already completed. Start connecting again if you need to."
    )]
    StateUsed,
    /// The network refused or failed.
    #[error("{}", network_message(.0))]
    Network(PlatformError),
    /// A sealed value did not open (wrong key, tampering).
    #[error("The stored credentials could not be read; reconnect the account.")]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

fn network_message(err: &PlatformError) -> String {
    let name = err.platform.display_name();
    match err.kind {
        ErrorKind::Auth => format!("{name} did not accept the credentials: {}", err.message),
        ErrorKind::RateLimited { .. } => {
            format!("{name} is limiting requests right now; try again later.")
        }
        ErrorKind::Transient { .. } => {
            format!("{name} could not be reached; try again in a moment.")
        }
        ErrorKind::Permanent => format!("{name} said: {}", err.message),
    }
}

crate::tenancy::from_access_error!(ConnectionError);

impl From<PlatformError> for ConnectionError {
    fn from(err: PlatformError) -> Self {
        Self::Network(err)
    }
}

/// Clients by network and server address.
type ClientCache = HashMap<(Platform, Option<String>), Arc<dyn Network>>;

/// Builds platform clients from the server's configuration.
#[derive(Debug, Clone)]
pub struct Networks {
    settings: NetworkSettings,
    public_url: String,
    /// The Sandbox network is on (`OMNIPLUG_SANDBOX`).
    sandbox: bool,
    /// One client per network and server: each owns a connection pool worth reusing.
    cache: Arc<Mutex<ClientCache>>,
}

/// Whether a network can be connected here, and if not, what to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// The network.
    pub platform: Platform,
    /// Connecting works.
    pub available: bool,
    /// The variables to set when it does not.
    pub missing: Vec<String>,
}

impl Networks {
    /// The networks as `config` sets them up.
    pub fn from_config(config: &Config) -> Self {
        Self {
            settings: config.networks.clone(),
            public_url: config.public_url.clone(),
            sandbox: config.sandbox,
            cache: Arc::default(),
        }
    }

    fn app(&self, platform: Platform) -> Option<&crate::config::OAuthApp> {
        match platform {
            Platform::X => self.settings.x.as_ref(),
            Platform::LinkedIn => self.settings.linkedin.as_ref(),
            Platform::Instagram => self.settings.instagram.as_ref(),
            Platform::Bluesky | Platform::Sandbox => None,
        }
    }

    /// What each network needs before people can connect it.
    pub fn availability(&self) -> Vec<NetworkInfo> {
        Platform::ALL
            .into_iter()
            .map(|platform| {
                let missing = match platform {
                    Platform::X | Platform::LinkedIn | Platform::Instagram
                        if self.app(platform).is_none() =>
                    {
                        let (id, secret) = app_vars(platform.slug());
                        vec![id, secret]
                    }
                    Platform::LinkedIn | Platform::Instagram
                        if self
                            .app(platform)
                            .is_some_and(|a| a.client_secret.is_none()) =>
                    {
                        vec![app_vars(platform.slug()).1]
                    }
                    Platform::Sandbox if !self.sandbox => vec!["OMNIPLUG_SANDBOX=on".to_owned()],
                    _ => Vec::new(),
                };
                NetworkInfo {
                    platform,
                    available: missing.is_empty(),
                    missing,
                }
            })
            .collect()
    }

    /// Where a network sends people back after they approve OmniPlug.
    pub fn redirect_uri(&self, platform: Platform) -> String {
        format!(
            "{}/connections/callback/{}",
            self.public_url,
            platform.slug()
        )
    }

    /// The Sandbox network's address (served by this server).
    pub fn sandbox_base(&self) -> String {
        format!("{}{SANDBOX_MOUNT}/sandbox", self.public_url)
    }

    /// A client for `platform`; `base_url` is a connection's own server (Bluesky PDS).
    /// Clients are built once and shared.
    pub fn client(
        &self,
        platform: Platform,
        base_url: Option<&str>,
    ) -> Result<Arc<dyn Network>, ConnectionError> {
        let key = (platform, base_url.map(str::to_owned));
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = cache.get(&key) {
            return Ok(client.clone());
        }
        let client: Arc<dyn Network> = Arc::from(self.build_client(platform, base_url)?);
        cache.insert(key, client.clone());
        Ok(client)
    }

    /// Uses `client` for `platform` at `base_url` from now on, in every copy of these
    /// `Networks` (they share their clients). The engine's benchmark puts a network that
    /// answers at once here, to time the engine without the HTTP round trips.
    pub fn install(&self, platform: Platform, base_url: Option<&str>, client: Arc<dyn Network>) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((platform, base_url.map(str::to_owned)), client);
    }

    fn build_client(
        &self,
        platform: Platform,
        base_url: Option<&str>,
    ) -> Result<Box<dyn Network>, ConnectionError> {
        if let Some(info) = self
            .availability()
            .into_iter()
            .find(|i| i.platform == platform && !i.available)
        {
            return Err(ConnectionError::NotConfigured {
                network: platform.display_name(),
                vars: info.missing.join(" and "),
            });
        }
        let app = self.app(platform);
        let secret = app
            .and_then(|a| a.client_secret.as_ref())
            .map(|s| Token::new(s.expose().clone()));
        let id = app.map(|a| a.client_id.clone()).unwrap_or_default();
        let overridden = self.settings.base_urls.get(platform.slug());
        let at = |url: &str| ClientConfig::at(url).with_app(id.clone(), secret.clone());
        Ok(match platform {
            Platform::X => Box::new(match overridden {
                Some(url) => XClient::new(at(url)),
                None => XClient::production(id, secret),
            }),
            Platform::LinkedIn => Box::new(match (overridden, secret.clone()) {
                (Some(url), _) => LinkedInClient::new(at(url)),
                (None, Some(secret)) => LinkedInClient::production(id, secret),
                (None, None) => unreachable_config(platform)?,
            }),
            Platform::Instagram => Box::new(match (overridden, secret.clone()) {
                (Some(url), _) => InstagramClient::new(at(url)),
                (None, Some(secret)) => InstagramClient::production(id, secret),
                (None, None) => unreachable_config(platform)?,
            }),
            Platform::Bluesky => Box::new(BlueskyClient::new(match base_url {
                // A person chose this server: it is called only where `outbound` allows.
                Some(url) => ClientConfig::at(url).person_chosen(self.settings.outbound.clone()),
                None => ClientConfig::at(&self.settings.bluesky_pds),
            })),
            Platform::Sandbox => Box::new(self.sandbox_client()),
        })
    }

    fn sandbox_client(&self) -> BlueskyClient {
        let base = self
            .settings
            .base_urls
            .get(Platform::Sandbox.slug())
            .cloned()
            .unwrap_or_else(|| self.sandbox_base());
        BlueskyClient::new(ClientConfig::at(base).with_timeout(StdDuration::from_secs(10)))
    }
}

/// Availability is checked first, so a missing secret never gets here.
fn unreachable_config<T>(platform: Platform) -> Result<T, ConnectionError> {
    Err(ConnectionError::NotConfigured {
        network: platform.display_name(),
        vars: app_vars(platform.slug()).1,
    })
}

/// How a connection stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Working.
    Active,
    /// The network refused the credentials; someone must reconnect.
    NeedsReconnect,
    /// Works for now, but its tokens expire on a date we cannot refresh past.
    Expiring {
        /// Whole days left.
        days: i64,
    },
}

/// One line of a connection's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// `connected`, `reconnected`, `refreshed`, `refresh_failed`, `checked`, `check_failed`,
    /// `renamed`, `disconnected`.
    pub event: String,
    /// Who, by name, when a person did it.
    #[serde(default)]
    pub by: Option<String>,
    /// More words (a network's reason, a new name).
    #[serde(default)]
    pub detail: Option<String>,
}

/// A connection as the Connections page shows it (no secrets in here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// Its id.
    pub id: Uuid,
    /// The network.
    pub platform: Platform,
    /// `@handle`.
    pub handle: String,
    /// The account's display name.
    pub display_name: Option<String>,
    /// The workspace's own name for it.
    pub label: Option<String>,
    /// Profile picture, when the network gives one.
    pub avatar_url: Option<String>,
    /// A self-hosted server.
    pub base_url: Option<String>,
    /// Connected since.
    pub connected_at: DateTime<Utc>,
    /// Last verified.
    pub checked_at: Option<DateTime<Utc>>,
    /// How it stands.
    pub status: ConnectionStatus,
    /// The network's reason when it needs reconnecting.
    pub last_error: Option<String>,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
}

fn status_of(row: &pc::Model, now: DateTime<Utc>) -> ConnectionStatus {
    if !row.is_valid {
        return ConnectionStatus::NeedsReconnect;
    }
    // Without a refresh token the expiry is final, except on Instagram, whose long-lived
    // tokens refresh themselves.
    let refreshable = row.refresh_token_enc.is_some() || row.platform == PlatformKind::Instagram;
    match row.token_expires_at {
        Some(at) if !refreshable && at - now < EXPIRY_WARNING => ConnectionStatus::Expiring {
            days: (at - now).num_days().max(0),
        },
        _ => ConnectionStatus::Active,
    }
}

fn history_of(row: &pc::Model) -> Vec<HistoryEntry> {
    let mut entries: Vec<HistoryEntry> =
        serde_json::from_value(row.history.clone()).unwrap_or_default();
    entries.reverse();
    entries
}

/// The view of a row.
pub fn view(row: &pc::Model) -> ConnectionView {
    ConnectionView {
        id: row.id,
        platform: row.platform.into(),
        handle: row.handle.clone(),
        display_name: row.display_name.clone(),
        label: row.label.clone(),
        avatar_url: row.avatar_url.clone(),
        base_url: row.base_url.clone(),
        connected_at: row.created_at,
        checked_at: row.checked_at,
        status: status_of(row, Utc::now()),
        last_error: row.last_error.clone(),
        history: history_of(row),
    }
}

fn push_history(
    row: &pc::Model,
    event: &str,
    by: Option<&str>,
    detail: Option<&str>,
) -> serde_json::Value {
    let mut entries: Vec<HistoryEntry> =
        serde_json::from_value(row.history.clone()).unwrap_or_default();
    entries.push(HistoryEntry {
        at: Utc::now(),
        event: event.to_owned(),
        by: by.map(str::to_owned),
        detail: detail.map(str::to_owned),
    });
    // Keep the card readable and the row small.
    let excess = entries.len().saturating_sub(50);
    entries.drain(..excess);
    serde_json::to_value(entries).unwrap_or_default()
}

fn field<'a>(row_id: &'a str, name: &'a str) -> SealedField<'a> {
    SealedField {
        table: TABLE,
        field: name,
        row_id,
    }
}

async fn person_name(db: &DatabaseConnection, user_id: Uuid) -> Result<Option<String>, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|u| u.name))
}

/// The workspace's connected accounts, oldest first (anyone in the workspace may look).
pub async fn list(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
) -> Result<Vec<ConnectionView>, ConnectionError> {
    access.check(Action::Read)?;
    let rows = pc::Entity::find()
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::DisconnectedAt.is_null())
        .order_by_asc(pc::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.iter().map(view).collect())
}

async fn find(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<pc::Model, ConnectionError> {
    pc::Entity::find_by_id(id)
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::DisconnectedAt.is_null())
        .one(db)
        .await?
        .ok_or(ConnectionError::NotFound)
}

/// Starts an OAuth connect: remembers a single-use `state` bound to this person, workspace and
/// network for ten minutes, and returns the network's consent URL.
pub async fn begin_oauth(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    access: &WorkspaceAccess,
    platform: Platform,
) -> Result<String, ConnectionError> {
    access.check(Action::ManageConnections)?;
    if !matches!(
        platform,
        Platform::X | Platform::LinkedIn | Platform::Instagram
    ) {
        return Err(ConnectionError::Invalid(format!(
            "{} connects without OAuth.",
            platform.display_name()
        )));
    }
    let client = networks.client(platform, None)?;
    let state = new_secret();
    let pkce = Pkce::generate();
    let id = Uuid::new_v4();
    let now = Utc::now();
    oauth_state::ActiveModel {
        id: Set(id),
        state_hash: Set(hash_token(&state)),
        user_id: Set(access.user_id()),
        workspace_id: Set(access.workspace_id()),
        platform: Set(platform.into()),
        verifier_enc: Set(vault.seal(
            pkce.verifier(),
            SealedField {
                table: "oauth_states",
                field: "verifier",
                row_id: &id.to_string(),
            },
        )),
        created_at: Set(now),
        expires_at: Set(now + STATE_TTL),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    client
        .authorize_url(&AuthorizeRequest {
            redirect_uri: &networks.redirect_uri(platform),
            state: &state,
            pkce: &pkce,
        })
        .ok_or_else(|| ConnectionError::Invalid("This network has no consent page.".into()))
}

/// Finishes an OAuth connect from the network's redirect: checks the `state` (this person, this
/// network, unused, fresh), trades the code, reads who the account is, and saves it.
/// Returns the workspace it was connected to.
pub async fn finish_oauth(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    user_id: Uuid,
    platform: Platform,
    state: &str,
    code: &str,
) -> Result<(Uuid, ConnectionView), ConnectionError> {
    let pending = claim_state(db, user_id, platform, state).await?;
    // The person's role may have changed in the last ten minutes.
    let access = authorize(db, user_id, pending.workspace_id, Action::ManageConnections).await?;
    let verifier = vault.open(
        &pending.verifier_enc,
        SealedField {
            table: "oauth_states",
            field: "verifier",
            row_id: &pending.id.to_string(),
        },
    )?;
    let client = networks.client(platform, None)?;
    let tokens = client
        .exchange_code(code, verifier.expose(), &networks.redirect_uri(platform))
        .await?;
    let account = client.verify(&tokens).await?;
    let saved = save(db, vault, &access, platform, account, tokens, None, None).await?;
    Ok((access.workspace_id(), view(&saved)))
}

/// Marks a `state` used, if it is this person's, for this network, unused and fresh.
/// A cancelled or failed consent also spends it.
pub async fn claim_state(
    db: &DatabaseConnection,
    user_id: Uuid,
    platform: Platform,
    state: &str,
) -> Result<oauth_state::Model, ConnectionError> {
    let found = oauth_state::Entity::find()
        .filter(oauth_state::Column::StateHash.eq(hash_token(state)))
        .one(db)
        .await?
        .filter(|s| s.user_id == user_id && s.platform == PlatformKind::from(platform))
        .ok_or(ConnectionError::StateUnknown)?;
    if found.used_at.is_some() {
        return Err(ConnectionError::StateUsed);
    }
    let now = Utc::now();
    if found.expires_at <= now {
        return Err(ConnectionError::StateExpired);
    }
    // Single use even when two callbacks race: only one UPDATE finds it unused.
    let claimed = oauth_state::Entity::update_many()
        .col_expr(oauth_state::Column::UsedAt, Expr::value(now))
        .filter(oauth_state::Column::Id.eq(found.id))
        .filter(oauth_state::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(ConnectionError::StateUsed);
    }
    Ok(found)
}

/// What a password login (Bluesky, the Sandbox) needs.
#[derive(Debug, Clone, Copy)]
pub struct PasswordLogin<'a> {
    /// Bluesky or the Sandbox.
    pub platform: Platform,
    /// Handle (a leading `@` is fine), DID or e-mail.
    pub identifier: &'a str,
    /// The app password.
    pub password: &'a str,
    /// A self-hosted server, `None` or empty for the default.
    pub base_url: Option<&'a str>,
}

/// Connects Bluesky (or the Sandbox) with a handle and an app password, after logging in with
/// them; nothing is saved unless the network accepted them.
pub async fn connect_with_password(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    access: &WorkspaceAccess,
    login: PasswordLogin<'_>,
) -> Result<ConnectionView, ConnectionError> {
    let PasswordLogin {
        platform,
        identifier,
        password,
        base_url,
    } = login;
    access.check(Action::ManageConnections)?;
    if !matches!(platform, Platform::Bluesky | Platform::Sandbox) {
        return Err(ConnectionError::Invalid(format!(
            "{} connects through its own sign-in page.",
            platform.display_name()
        )));
    }
    let identifier = identifier.trim().trim_start_matches('@');
    if identifier.is_empty() {
        return Err(ConnectionError::Invalid(
            "Enter your Bluesky handle, like you.bsky.social.".into(),
        ));
    }
    if identifier.len() > 253 {
        return Err(ConnectionError::Invalid("That handle is too long.".into()));
    }
    if password.trim().is_empty() {
        return Err(ConnectionError::Invalid(
            "Enter an app password (Bluesky → Settings → Privacy and security → App passwords)."
                .into(),
        ));
    }
    let base_url = match base_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(url) => Some(parse_server_url(url)?),
    };
    if let Some(url) = &base_url {
        // Said before anything is sent; the client checks again on every connection.
        let parsed = reqwest::Url::parse(url).map_err(|_| invalid_server())?;
        networks
            .settings
            .outbound
            .check_url(&parsed)
            .await
            .map_err(|refusal| ConnectionError::Invalid(refusal.to_string()))?;
    }
    let client = networks.client(platform, base_url.as_deref())?;
    let tokens = client.log_in(identifier, password).await?;
    if platform == Platform::Bluesky
        && tokens
            .scope
            .as_deref()
            .is_some_and(|s| s != APP_PASSWORD_SCOPE)
    {
        // The server told us this is the account's main password: do not keep it.
        return Err(ConnectionError::Invalid(
            "That is your account password. Create an app password instead (Bluesky → Settings → Privacy and security → App passwords) so OmniPlug never holds your main password.".into(),
        ));
    }
    let account = client.verify(&tokens).await?;
    let saved = save(
        db,
        vault,
        access,
        platform,
        account,
        tokens,
        Some(password),
        base_url.as_deref(),
    )
    .await?;
    Ok(view(&saved))
}

fn invalid_server() -> ConnectionError {
    ConnectionError::Invalid(
        "Enter the server as a web address, like https://pds.example.com.".into(),
    )
}

/// A server address as a base URL: http(s), a host, no credentials, query or fragment (a `?`
/// would turn the API path into a query of some other page).
fn parse_server_url(raw: &str) -> Result<String, ConnectionError> {
    let url = reqwest::Url::parse(raw).map_err(|_| invalid_server())?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none()
        || raw.len() > 300
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid_server());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Connects a fresh simulated account on the Sandbox network: one click, no credentials.
pub async fn connect_sandbox(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    access: &WorkspaceAccess,
) -> Result<ConnectionView, ConnectionError> {
    access.check(Action::ManageConnections)?;
    if !networks.sandbox {
        return Err(ConnectionError::NotConfigured {
            network: Platform::Sandbox.display_name(),
            vars: "OMNIPLUG_SANDBOX=on".into(),
        });
    }
    let suffix: String = new_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect::<String>()
        .to_lowercase();
    let handle = format!("you-{suffix}.sandbox");
    let password = new_secret();
    networks
        .sandbox_client()
        .create_account(&handle, &format!("{handle}@sandbox.invalid"), &password)
        .await?;
    connect_with_password(
        db,
        vault,
        networks,
        access,
        PasswordLogin {
            platform: Platform::Sandbox,
            identifier: &handle,
            password: &password,
            base_url: None,
        },
    )
    .await
}

/// Inserts or (for an account connected before) updates a connection with new tokens.
#[allow(clippy::too_many_arguments)]
async fn save(
    db: &DatabaseConnection,
    vault: &Vault,
    access: &WorkspaceAccess,
    platform: Platform,
    account: omniplug_platforms::clients::Account,
    tokens: TokenSet,
    secret: Option<&str>,
    base_url: Option<&str>,
) -> Result<pc::Model, ConnectionError> {
    let by = person_name(db, access.user_id()).await?;
    let now = Utc::now();
    let existing = pc::Entity::find()
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::Platform.eq(PlatformKind::from(platform)))
        .filter(pc::Column::PlatformUserId.eq(account.id.clone()))
        .one(db)
        .await?;
    let id = existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id);
    let row_id = id.to_string();
    let access_enc = vault.seal(tokens.access.expose(), field(&row_id, "access_token"));
    let refresh_enc = tokens
        .refresh
        .as_ref()
        .map(|t| vault.seal(t.expose(), field(&row_id, "refresh_token")));
    let secret_enc = secret.map(|s| vault.seal(s, field(&row_id, "secret")));
    let scopes = tokens.scope.clone().unwrap_or_default();
    let saved = match existing {
        Some(row) => {
            let history = push_history(&row, "reconnected", by.as_deref(), None);
            let mut active = row.into_active_model();
            active.handle = Set(account.handle);
            active.display_name = Set(account.name);
            active.avatar_url = Set(account.avatar_url);
            active.access_token_enc = Set(access_enc);
            active.refresh_token_enc = Set(refresh_enc);
            active.secret_enc = Set(secret_enc);
            active.base_url = Set(base_url.map(str::to_owned));
            active.token_expires_at = Set(tokens.expires_at);
            active.scopes = Set(scopes);
            active.is_valid = Set(true);
            active.last_error = Set(None);
            active.checked_at = Set(Some(now));
            active.disconnected_at = Set(None);
            active.refresh_lease_until = Set(None);
            active.connected_by = Set(Some(access.user_id()));
            active.history = Set(history);
            active.updated_at = Set(now);
            active.update(db).await?
        }
        None => {
            let blank = serde_json::json!([]);
            let history = serde_json::to_value(vec![HistoryEntry {
                at: now,
                event: "connected".into(),
                by,
                detail: None,
            }])
            .unwrap_or(blank);
            pc::ActiveModel {
                id: Set(id),
                workspace_id: Set(access.workspace_id()),
                platform: Set(platform.into()),
                platform_user_id: Set(account.id),
                handle: Set(account.handle),
                display_name: Set(account.name),
                avatar_url: Set(account.avatar_url),
                access_token_enc: Set(access_enc),
                refresh_token_enc: Set(refresh_enc),
                token_expires_at: Set(tokens.expires_at),
                scopes: Set(scopes),
                is_valid: Set(true),
                last_error: Set(None),
                history: Set(history),
                connected_by: Set(Some(access.user_id())),
                created_at: Set(now),
                updated_at: Set(now),
                label: Set(None),
                base_url: Set(base_url.map(str::to_owned)),
                secret_enc: Set(secret_enc),
                checked_at: Set(Some(now)),
                refresh_lease_until: Set(None),
                disconnected_at: Set(None),
            }
            .insert(db)
            .await?
        }
    };
    tracing::info!(connection_id = %saved.id, platform = platform.slug(), "account connected");
    Ok(saved)
}

/// Gives a connection the workspace's own name (empty goes back to the handle).
pub async fn rename(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    label: &str,
) -> Result<ConnectionView, ConnectionError> {
    access.check(Action::ManageConnections)?;
    let label = label.trim();
    if label.chars().count() > 100 {
        return Err(ConnectionError::Invalid(
            "Use at most 100 characters for the name.".into(),
        ));
    }
    let row = find(db, access, id).await?;
    let by = person_name(db, access.user_id()).await?;
    let history = push_history(
        &row,
        "renamed",
        by.as_deref(),
        Some(label).filter(|l| !l.is_empty()),
    );
    let mut active = row.into_active_model();
    active.label = Set(Some(label.to_owned()).filter(|l| !l.is_empty()));
    active.history = Set(history);
    active.updated_at = Set(Utc::now());
    Ok(view(&active.update(db).await?))
}

/// Disconnects: the secrets are wiped at once; the row stays (hidden) so published posts keep
/// their links, and reconnecting the same account brings its history back. Returns the
/// network and the account's id there (the hosted Sandbox then forgets that account).
pub async fn disconnect(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<(Platform, String), ConnectionError> {
    access.check(Action::ManageConnections)?;
    let row = find(db, access, id).await?;
    let account = (Platform::from(row.platform), row.platform_user_id.clone());
    let by = person_name(db, access.user_id()).await?;
    let history = push_history(&row, "disconnected", by.as_deref(), None);
    let mut active = row.into_active_model();
    active.access_token_enc = Set(String::new());
    active.refresh_token_enc = Set(None);
    active.secret_enc = Set(None);
    active.token_expires_at = Set(None);
    active.is_valid = Set(false);
    active.disconnected_at = Set(Some(Utc::now()));
    active.history = Set(history);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    tracing::info!(connection_id = %id, "account disconnected");
    Ok(account)
}

/// Whether the workspace has `account` on `platform` connected now (the hosted Sandbox asks
/// before letting a member change a simulated post's audience).
pub async fn has_account(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    platform: Platform,
    account: &str,
) -> Result<bool, ConnectionError> {
    let found = pc::Entity::find()
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::Platform.eq(PlatformKind::from(platform)))
        .filter(pc::Column::PlatformUserId.eq(account))
        .filter(pc::Column::DisconnectedAt.is_null())
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// "Check now": verifies the credentials with the network (refreshing first if due) and
/// records the outcome.
pub async fn check(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<ConnectionView, ConnectionError> {
    access.check(Action::Read)?;
    let row = find(db, access, id).await?;
    let by = person_name(db, access.user_id()).await?;
    verify_row(db, vault, networks, row, by.as_deref()).await
}

/// Verifies one connection (the worker's daily check calls this without a person).
pub async fn verify_row(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    row: pc::Model,
    by: Option<&str>,
) -> Result<ConnectionView, ConnectionError> {
    let id = row.id;
    let outcome = match credentials_for(db, vault, networks, row).await {
        Ok((client, creds)) => client
            .verify(&creds.tokens)
            .await
            .map_err(ConnectionError::from),
        Err(err) => Err(err),
    };
    let row = pc::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ConnectionError::NotFound)?;
    let mut active = row.clone().into_active_model();
    match &outcome {
        Ok(_) => {
            active.checked_at = Set(Some(Utc::now()));
            active.is_valid = Set(true);
            active.last_error = Set(None);
            active.history = Set(push_history(&row, "checked", by, None));
        }
        Err(ConnectionError::Network(err)) if err.kind == ErrorKind::Auth => {
            active.checked_at = Set(Some(Utc::now()));
            active.is_valid = Set(false);
            active.last_error = Set(Some(err.message.clone()));
            active.history = Set(push_history(&row, "check_failed", by, Some(&err.message)));
        }
        // A network that is down says nothing about the credentials.
        Err(_) => {}
    }
    let saved = active.update(db).await?;
    outcome.map(|_| view(&saved))
}

/// Fresh credentials for a connection, refreshing them first when they expire within five
/// minutes. Only one refresh per connection runs at a time: the others wait for its result.
pub async fn credentials(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    connection_id: Uuid,
) -> Result<(Arc<dyn Network>, Credentials), ConnectionError> {
    let row = pc::Entity::find_by_id(connection_id)
        .filter(pc::Column::DisconnectedAt.is_null())
        .one(db)
        .await?
        .ok_or(ConnectionError::NotFound)?;
    credentials_for(db, vault, networks, row).await
}

/// Fresh credentials after the network refused the current ones (an auth error while
/// publishing): the tokens are treated as expired and refreshed now, with the same
/// one-refresh-at-a-time rule as [`credentials`]. When the refresh is refused too, the
/// connection is marked as needing reconnection and the auth error is returned.
pub async fn credentials_after_refusal(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    connection_id: Uuid,
) -> Result<(Arc<dyn Network>, Credentials), ConnectionError> {
    pc::Entity::update_many()
        .col_expr(
            pc::Column::TokenExpiresAt,
            Expr::value(Some(Utc::now() - Duration::seconds(1))),
        )
        .filter(pc::Column::Id.eq(connection_id))
        .exec(db)
        .await?;
    credentials(db, vault, networks, connection_id).await
}

fn open_credentials(vault: &Vault, row: &pc::Model) -> Result<Credentials, ConnectionError> {
    let row_id = row.id.to_string();
    let access = vault.open(&row.access_token_enc, field(&row_id, "access_token"))?;
    let refresh = row
        .refresh_token_enc
        .as_deref()
        .map(|sealed| vault.open(sealed, field(&row_id, "refresh_token")))
        .transpose()?;
    Ok(Credentials {
        account_id: row.platform_user_id.clone(),
        tokens: TokenSet {
            access: Token::new(access.expose().clone()),
            refresh: refresh.map(|r| Token::new(r.expose().clone())),
            expires_at: row.token_expires_at,
            account_id: Some(row.platform_user_id.clone()),
            scope: Some(row.scopes.clone()),
        },
    })
}

fn due(row: &pc::Model, now: DateTime<Utc>) -> bool {
    row.token_expires_at
        .is_some_and(|at| at - now < REFRESH_MARGIN)
}

async fn credentials_for(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    mut row: pc::Model,
) -> Result<(Arc<dyn Network>, Credentials), ConnectionError> {
    let platform: Platform = row.platform.into();
    let client = networks.client(platform, row.base_url.as_deref())?;
    if !row.is_valid {
        return Err(ConnectionError::Network(PlatformError {
            platform,
            kind: ErrorKind::Auth,
            status: None,
            message: row
                .last_error
                .clone()
                .unwrap_or_else(|| "The account needs reconnecting.".into()),
        }));
    }
    // Up to ~30 s waiting for another process's refresh (its lease length).
    for _ in 0..150 {
        let now = Utc::now();
        if !due(&row, now) {
            return Ok((client, open_credentials(vault, &row)?));
        }
        // Take the lease: only one UPDATE finds it free, and only while the tokens are still
        // due in the database (a caller holding a stale row must not refresh again with a
        // refresh token that was just spent).
        let taken = pc::Entity::update_many()
            .col_expr(
                pc::Column::RefreshLeaseUntil,
                Expr::value(Some(now + REFRESH_LEASE)),
            )
            .filter(pc::Column::Id.eq(row.id))
            .filter(pc::Column::TokenExpiresAt.lt(now + REFRESH_MARGIN))
            .filter(
                sea_orm::Condition::any()
                    .add(pc::Column::RefreshLeaseUntil.is_null())
                    .add(pc::Column::RefreshLeaseUntil.lt(now)),
            )
            .exec(db)
            .await?;
        let current = pc::Entity::find_by_id(row.id)
            .one(db)
            .await?
            .ok_or(ConnectionError::NotFound)?;
        if taken.rows_affected == 1 {
            return refresh_holding_lease(db, vault, client.as_ref(), current)
                .await
                .map(|creds| (client, creds));
        }
        row = current;
        if !row.is_valid {
            return Err(ConnectionError::Network(PlatformError {
                platform,
                kind: ErrorKind::Auth,
                status: None,
                message: row.last_error.clone().unwrap_or_default(),
            }));
        }
        if due(&row, Utc::now()) {
            // Someone else holds the lease: wait for their result.
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }
    Err(ConnectionError::Network(PlatformError {
        platform,
        kind: ErrorKind::Transient {
            outcome_unknown: false,
        },
        status: None,
        message: "Another refresh of this account is taking too long.".into(),
    }))
}

async fn refresh_holding_lease(
    db: &DatabaseConnection,
    vault: &Vault,
    client: &dyn Network,
    row: pc::Model,
) -> Result<Credentials, ConnectionError> {
    let old = open_credentials(vault, &row)?;
    let row_id = row.id.to_string();
    let mut attempt = client.refresh(&old).await;
    // Bluesky: when the refresh JWT is gone too, log in again with the stored app password.
    if let (Err(err), Some(secret)) = (&attempt, &row.secret_enc)
        && err.kind == ErrorKind::Auth
    {
        let password = vault.open(secret, field(&row_id, "secret"))?;
        attempt = client
            .log_in(&row.platform_user_id, password.expose())
            .await;
    }
    let mut active = row.clone().into_active_model();
    active.refresh_lease_until = Set(None);
    active.updated_at = Set(Utc::now());
    match attempt {
        Ok(fresh) => {
            active.access_token_enc =
                Set(vault.seal(fresh.access.expose(), field(&row_id, "access_token")));
            // Networks that do not rotate return no refresh token: keep the old one.
            if let Some(refresh) = &fresh.refresh {
                active.refresh_token_enc = Set(Some(
                    vault.seal(refresh.expose(), field(&row_id, "refresh_token")),
                ));
            }
            active.token_expires_at = Set(fresh.expires_at);
            active.history = Set(push_history(&row, "refreshed", None, None));
            let saved = active.update(db).await?;
            tracing::info!(connection_id = %saved.id, "tokens refreshed");
            open_credentials(vault, &saved)
        }
        Err(err) => {
            if err.kind == ErrorKind::Auth {
                active.is_valid = Set(false);
                active.last_error = Set(Some(err.message.clone()));
                active.history = Set(push_history(
                    &row,
                    "refresh_failed",
                    None,
                    Some(&err.message),
                ));
            }
            active.update(db).await?;
            tracing::info!(connection_id = %row.id, kind = ?err.kind, "token refresh failed");
            Err(ConnectionError::Network(err))
        }
    }
}

/// Re-seals every stored secret with the vault's newest key; returns how many values changed.
pub async fn reseal_all(db: &DatabaseConnection, vault: &Vault) -> Result<usize, ConnectionError> {
    let mut changed = 0;
    for row in pc::Entity::find().all(db).await? {
        let row_id = row.id.to_string();
        let mut active = row.clone().into_active_model();
        let mut touched = false;
        let reseal = |sealed: &str, name: &str| -> Result<Option<String>, ConnectionError> {
            if sealed.is_empty() || vault.is_current(sealed) {
                return Ok(None);
            }
            let plain = vault.open(sealed, field(&row_id, name))?;
            Ok(Some(vault.seal(plain.expose(), field(&row_id, name))))
        };
        if let Some(new) = reseal(&row.access_token_enc, "access_token")? {
            active.access_token_enc = Set(new);
            touched = true;
            changed += 1;
        }
        if let Some(sealed) = &row.refresh_token_enc
            && let Some(new) = reseal(sealed, "refresh_token")?
        {
            active.refresh_token_enc = Set(Some(new));
            touched = true;
            changed += 1;
        }
        if let Some(sealed) = &row.secret_enc
            && let Some(new) = reseal(sealed, "secret")?
        {
            active.secret_enc = Set(Some(new));
            touched = true;
            changed += 1;
        }
        if touched {
            active.update(db).await?;
        }
    }
    for row in oauth_state::Entity::find().all(db).await? {
        if vault.is_current(&row.verifier_enc) {
            continue;
        }
        let f = SealedField {
            table: "oauth_states",
            field: "verifier",
            row_id: &row.id.to_string(),
        };
        let plain = vault.open(&row.verifier_enc, f)?;
        let mut active = row.clone().into_active_model();
        active.verifier_enc = Set(vault.seal(plain.expose(), f));
        active.update(db).await?;
        changed += 1;
    }
    Ok(changed)
}

/// What one round of [`daily_checks`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaintenanceReport {
    /// Connections verified with their network.
    pub checked: usize,
    /// Of those, how many the network refused (now "Needs reconnect").
    pub refused: usize,
    /// Expiry notifications created.
    pub warned: usize,
}

/// The worker's daily round: verifies every connection not checked for a day, and notifies the
/// workspace once, seven days ahead, about tokens that will expire and cannot be refreshed.
pub async fn daily_checks(
    db: &DatabaseConnection,
    vault: &Vault,
    networks: &Networks,
    now: DateTime<Utc>,
) -> Result<MaintenanceReport, ConnectionError> {
    use crate::entities::notification;
    let mut report = MaintenanceReport::default();
    let stale = pc::Entity::find()
        .filter(pc::Column::DisconnectedAt.is_null())
        .filter(pc::Column::IsValid.eq(true))
        .filter(
            sea_orm::Condition::any()
                .add(pc::Column::CheckedAt.is_null())
                .add(pc::Column::CheckedAt.lt(now - Duration::days(1))),
        )
        .all(db)
        .await?;
    for row in stale {
        let id = row.id;
        report.checked += 1;
        match verify_row(db, vault, networks, row, None).await {
            Ok(_) => {}
            Err(ConnectionError::Network(err)) if err.kind == ErrorKind::Auth => {
                report.refused += 1
            }
            // A network being down or a broken row must not stop the round.
            Err(err) => tracing::warn!(connection_id = %id, error = %err, "daily check failed"),
        }
    }
    let live = pc::Entity::find()
        .filter(pc::Column::DisconnectedAt.is_null())
        .filter(pc::Column::IsValid.eq(true))
        .all(db)
        .await?;
    for row in live {
        let ConnectionStatus::Expiring { days } = status_of(&row, now) else {
            continue;
        };
        let link = format!("/connections#connection-{}", row.id);
        let already = notification::Entity::find()
            .filter(notification::Column::WorkspaceId.eq(row.workspace_id))
            .filter(notification::Column::Kind.eq("connection.expiring"))
            .filter(notification::Column::Link.eq(link.clone()))
            .one(db)
            .await?;
        if already.is_some() {
            continue;
        }
        let platform: Platform = row.platform.into();
        let when = match days {
            0 => "today".to_owned(),
            1 => "in 1 day".to_owned(),
            n => format!("in {n} days"),
        };
        notification::ActiveModel {
            id: Set(Uuid::new_v4()),
            workspace_id: Set(row.workspace_id),
            user_id: Set(None),
            kind: Set("connection.expiring".into()),
            title: Set(format!("{} account {} expires {when}", platform.display_name(), row.handle)),
            body: Set(format!(
                "{} does not let OmniPlug renew this connection. Reconnect it before {} so scheduled posts keep going out.",
                platform.display_name(),
                row.token_expires_at.map(|at| at.format("%Y-%m-%d").to_string()).unwrap_or_default()
            )),
            link: Set(Some(link)),
            read_at: Set(None),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
        report.warned += 1;
    }
    Ok(report)
}
