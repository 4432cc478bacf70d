//! Connected accounts from the browser's side: list them, connect (OAuth, Bluesky app
//! password, Sandbox), rename, check, disconnect. Every function takes the workspace id and
//! checks the caller's role first; nothing here ever carries a token or password back.

use leptos::prelude::*;
use omniplug_platforms::Platform;
use serde::{Deserialize, Serialize};

use crate::{auth::WorkspaceSummary, error::AppError};

/// How a connection stands, as the card shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Working.
    Active,
    /// Someone must reconnect it.
    NeedsReconnect,
    /// Its tokens expire soon and cannot be refreshed.
    Expiring,
}

/// One line of a connection's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// `YYYY-MM-DD HH:MM` UTC.
    pub at: String,
    /// What happened, in words ("Connected by Ada").
    pub text: String,
}

/// A connected account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCard {
    /// Its id (what rename, check and disconnect take).
    pub id: String,
    /// The network.
    pub platform: Platform,
    /// `@handle`.
    pub handle: String,
    /// The name to show: the workspace's label, else the display name, else the handle.
    pub name: String,
    /// The workspace's own label, if set.
    pub label: Option<String>,
    /// Profile picture.
    pub avatar_url: Option<String>,
    /// A self-hosted server.
    pub server: Option<String>,
    /// Connected since, `YYYY-MM-DD`.
    pub connected_since: String,
    /// How it stands.
    pub status: CardStatus,
    /// "Active", "Needs reconnect", "Expiring in 3 days".
    pub status_text: String,
    /// The network's reason when it needs reconnecting.
    pub problem: Option<String>,
    /// Newest first.
    pub history: Vec<HistoryLine>,
}

/// Whether a network can be connected on this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkOption {
    /// The network.
    pub platform: Platform,
    /// Connecting works.
    pub available: bool,
    /// What to set when it does not.
    pub missing: Vec<String>,
}

/// The Connections page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsView {
    /// The workspace.
    pub workspace: WorkspaceSummary,
    /// Whether the caller may connect, rename and disconnect (admins and owners).
    pub can_manage: bool,
    /// Whether the caller may ask a network to check a connection (editors and up: a check
    /// spends the network's request quota).
    pub can_check: bool,
    /// Each network, in display order.
    pub networks: Vec<NetworkOption>,
    /// Connected accounts, oldest first.
    pub connections: Vec<ConnectionCard>,
}

/// The workspace's connections (any member).
#[server(endpoint = "list_connections")]
pub async fn list_connections(workspace_id: String) -> Result<ConnectionsView, AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::Read).await?;
    let rows = connections::list(&stores.db, &access)
        .await
        .map_err(connection_error)?;
    let networks = ssr::networks(&stores)
        .availability()
        .into_iter()
        .map(|n| NetworkOption {
            platform: n.platform,
            available: n.available,
            missing: n.missing,
        })
        .collect();
    Ok(ConnectionsView {
        workspace: crate::workspaces::ssr::summary(&stores, &access).await?,
        can_manage: access.can(Action::ManageConnections),
        can_check: access.can(Action::WritePosts),
        networks,
        connections: rows.into_iter().map(ssr::card).collect(),
    })
}

/// Starts an OAuth connect (admins): returns the network's consent page address.
#[server(endpoint = "begin_connect")]
pub async fn begin_connect(workspace_id: String, platform: String) -> Result<String, AppError> {
    use crate::error::ssr::{connection_error, fail};
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::ManageConnections).await?;
    let platform = Platform::from_slug(platform.trim()).ok_or_else(|| {
        fail(AppError::Invalid(
            "Pick a network: x, linkedin or instagram.".into(),
        ))
    })?;
    connections::begin_oauth(
        &stores.db,
        &stores.vault,
        &ssr::networks(&stores),
        &access,
        platform,
    )
    .await
    .map_err(connection_error)
}

/// Connects a Bluesky account with its handle and an app password (admins). `server` is a
/// self-hosted PDS address, empty for bsky.social.
#[server(endpoint = "connect_bluesky")]
pub async fn connect_bluesky(
    workspace_id: String,
    handle: String,
    app_password: String,
    server: String,
) -> Result<ConnectionCard, AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::ManageConnections).await?;
    let connected = connections::connect_with_password(
        &stores.db,
        &stores.vault,
        &ssr::networks(&stores),
        &access,
        connections::PasswordLogin {
            platform: Platform::Bluesky,
            identifier: &handle,
            password: &app_password,
            base_url: Some(server.as_str()),
        },
    )
    .await
    .map_err(connection_error)?;
    Ok(ssr::card(connected))
}

/// Connects a new simulated account on the Sandbox network, in one click (admins).
#[server(endpoint = "connect_sandbox")]
pub async fn connect_sandbox(workspace_id: String) -> Result<ConnectionCard, AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::ManageConnections).await?;
    let connected =
        connections::connect_sandbox(&stores.db, &stores.vault, &ssr::networks(&stores), &access)
            .await
            .map_err(connection_error)?;
    Ok(ssr::card(connected))
}

/// Gives a connection the workspace's own name; empty goes back to the account's (admins).
#[server(endpoint = "rename_connection")]
pub async fn rename_connection(
    workspace_id: String,
    connection_id: String,
    label: String,
) -> Result<ConnectionCard, AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::ManageConnections).await?;
    let id = crate::workspaces::ssr::parse_id(&connection_id)?;
    let renamed = connections::rename(&stores.db, &access, id, &label)
        .await
        .map_err(connection_error)?;
    Ok(ssr::card(renamed))
}

/// Disconnects an account: its secrets are deleted at once (admins).
#[server(endpoint = "disconnect_connection")]
pub async fn disconnect_connection(
    workspace_id: String,
    connection_id: String,
) -> Result<(), AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::ManageConnections).await?;
    let id = crate::workspaces::ssr::parse_id(&connection_id)?;
    let (platform, account) = connections::disconnect(&stores.db, &access, id)
        .await
        .map_err(connection_error)?;
    // The simulated account goes with its only connection: the hosted Sandbox forgets it.
    if platform == Platform::Sandbox
        && let Some(sandbox) = use_context::<omniplug_platforms::sandbox::HostedSandbox>()
    {
        sandbox.forget_account(platform, &account);
    }
    Ok(())
}

/// The Sandbox's audience reacts to a post (editors and up in the workspace that connected the
/// account it was posted from): sets its likes, comments and reposts, as other people would.
/// `post` is the post's link or id. This is how people trying the Sandbox see a plug fire.
#[server(endpoint = "sandbox_audience")]
pub async fn sandbox_audience(
    workspace_id: String,
    post: String,
    likes: u64,
    #[server(default)] comments: u64,
    #[server(default)] reposts: u64,
) -> Result<(), AppError> {
    use crate::error::ssr::{connection_error, fail};
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let sandbox = use_context::<omniplug_platforms::sandbox::HostedSandbox>().ok_or_else(|| {
        fail(AppError::Invalid(
            "The Sandbox network is turned off on this server.".into(),
        ))
    })?;
    let not_found = || fail(AppError::NotFound);
    let found = sandbox.find(&post).ok_or_else(not_found)?;
    // Another workspace's post is "not found" too: its existence is not ours to confirm.
    if !connections::has_account(&stores.db, &access, found.platform, &found.author)
        .await
        .map_err(connection_error)?
    {
        return Err(not_found());
    }
    let counts = omniplug_platforms::clients::Counts {
        likes,
        comments,
        reposts,
    };
    if sandbox.set_counts(&found.id, counts) {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// "Check now": asks the network whether the credentials still work (editors and up).
#[server(endpoint = "check_connection")]
pub async fn check_connection(
    workspace_id: String,
    connection_id: String,
) -> Result<ConnectionCard, AppError> {
    use crate::error::ssr::connection_error;
    use omniplug_core::{connections, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    // Editors and up: a check spends the network's request quota.
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&connection_id)?;
    let networks = ssr::networks(&stores);
    match connections::check(&stores.db, &stores.vault, &networks, &access, id).await {
        Ok(checked) => Ok(ssr::card(checked)),
        // The card now says "Needs reconnect" with the network's reason: show that.
        Err(connections::ConnectionError::Network(err))
            if err.kind == omniplug_platforms::clients::ErrorKind::Auth =>
        {
            let rows = connections::list(&stores.db, &access)
                .await
                .map_err(connection_error)?;
            rows.into_iter()
                .find(|r| r.id == id)
                .map(ssr::card)
                .ok_or_else(|| connection_error(connections::ConnectionError::NotFound))
        }
        Err(err) => Err(connection_error(err)),
    }
}

/// Server-only helpers.
#[cfg(feature = "ssr")]
pub mod ssr {
    use omniplug_core::{
        Stores,
        connections::{ConnectionStatus, ConnectionView, Networks},
    };

    use super::{CardStatus, ConnectionCard, HistoryLine};

    /// The platform clients as this server is configured (built once, in `Stores`).
    pub fn networks(stores: &Stores) -> Networks {
        stores.networks.clone()
    }

    fn event_words(event: &str) -> &'static str {
        match event {
            "connected" => "Connected",
            "reconnected" => "Reconnected",
            "refreshed" => "Tokens refreshed",
            "refresh_failed" => "Refresh failed",
            "checked" => "Checked",
            "check_failed" => "Check failed",
            "renamed" => "Renamed",
            "disconnected" => "Disconnected",
            _ => "Updated",
        }
    }

    /// A connection as its card shows it.
    pub fn card(view: ConnectionView) -> ConnectionCard {
        let (status, status_text) = match view.status {
            ConnectionStatus::Active => (CardStatus::Active, "Active".to_owned()),
            ConnectionStatus::NeedsReconnect => {
                (CardStatus::NeedsReconnect, "Needs reconnect".to_owned())
            }
            ConnectionStatus::Expiring { days } => (
                CardStatus::Expiring,
                match days {
                    0 => "Expires today".to_owned(),
                    1 => "Expiring in 1 day".to_owned(),
                    n => format!("Expiring in {n} days"),
                },
            ),
        };
        ConnectionCard {
            id: view.id.to_string(),
            platform: view.platform,
            name: view
                .label
                .clone()
                .or_else(|| view.display_name.clone())
                .unwrap_or_else(|| view.handle.clone()),
            handle: view.handle,
            label: view.label,
            avatar_url: view.avatar_url,
            server: view.base_url,
            connected_since: view.connected_at.format("%Y-%m-%d").to_string(),
            status,
            status_text,
            problem: view.last_error,
            history: view
                .history
                .into_iter()
                .map(|h| {
                    let mut text = event_words(&h.event).to_owned();
                    if let Some(detail) = h.detail {
                        text.push_str(&format!(": {detail}"));
                    }
                    if let Some(by) = h.by {
                        text.push_str(&format!(" — {by}"));
                    }
                    HistoryLine {
                        at: h.at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        text,
                    }
                })
                .collect(),
        }
    }
}
