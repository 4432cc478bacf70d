//! API clients: one [`Network`] trait, one implementation per network.
//!
//! Every client owns a `reqwest::Client` with timeouts and talks to a configurable base URL, so
//! the same code runs against the real network, the in-process [`crate::sandbox`] and (for
//! Bluesky) a real AT Protocol server on loopback. Failures come back as a [`PlatformError`]
//! whose [`ErrorKind`] tells the publishing engine what to do next; tokens never appear in
//! them.

pub mod bluesky;
mod error;
mod http;
pub mod instagram;
pub mod linkedin;
mod oauth;
pub mod outbound;
pub mod x;

use std::{fmt, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::{ErrorKind, PlatformError, next_utc_midnight, retry_at};
pub use oauth::Pkce;
pub use outbound::{AddressList, Outbound, Refusal};

use crate::Platform;

/// A credential: shown to nobody, printed as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What a network hands back after a login, a code exchange or a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// Sent with every call.
    pub access: Token,
    /// Trades for a new access token; networks that rotate it return a new one each time.
    pub refresh: Option<Token>,
    /// When the access token stops working, when the network says.
    pub expires_at: Option<DateTime<Utc>>,
    /// The account the tokens belong to, when the login answer names it (Bluesky's DID).
    pub account_id: Option<String>,
    /// Granted scopes as the network spelled them.
    pub scope: Option<String>,
}

/// A connected account: whose tokens these are, and the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The network's id for the account: X user id, LinkedIn person URN, Instagram user id,
    /// Bluesky DID.
    pub account_id: String,
    /// The account's tokens.
    pub tokens: TokenSet,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The network's id (see [`Credentials::account_id`]).
    pub id: String,
    /// `@handle` or, where the network has none, the display name.
    pub handle: String,
    /// The display name, when the network has one.
    pub name: Option<String>,
    /// Profile picture, when the network gives one.
    pub avatar_url: Option<String>,
}

/// An image to attach.
#[derive(Clone, PartialEq, Eq)]
pub struct Media {
    /// The file itself (X, LinkedIn and Bluesky upload it). `Bytes`, so every target and
    /// every request body shares one copy.
    pub bytes: bytes::Bytes,
    /// `image/png`, `image/jpeg`, …
    pub mime: String,
    /// Alt text for screen readers.
    pub alt: String,
    /// A public URL of the same file: Instagram fetches media itself instead of taking an
    /// upload ("the media must be hosted on a publicly accessible server", Meta's
    /// content-publishing guide).
    pub public_url: Option<String>,
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("bytes", &self.bytes.len())
            .field("mime", &self.mime)
            .field("alt", &self.alt)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// A post or reply to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPost {
    /// The text, already checked against [`crate::text`].
    pub text: String,
    /// Images, in order.
    pub media: Vec<Media>,
}

impl NewPost {
    /// A text-only post.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            media: Vec::new(),
        }
    }
}

/// A published post, as the network identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostRef {
    /// X tweet id, LinkedIn share/ugcPost URN, Instagram media id, Bluesky `at://` URI.
    pub id: String,
    /// Bluesky's content hash, needed to reply; `None` elsewhere.
    pub cid: Option<String>,
}

impl PostRef {
    /// A reference by id alone.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            cid: None,
        }
    }
}

/// What publishing returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// How to refer to the post later (reply, engagement).
    pub post: PostRef,
    /// Where people can see it, when it can be worked out.
    pub url: Option<String>,
}

/// Counts for one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Likes (LinkedIn: all reactions).
    pub likes: u64,
    /// Comments or replies.
    pub comments: u64,
    /// Reposts, retweets, quotes (Instagram has none).
    pub reposts: u64,
}

/// Counts for one post, by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    /// The post's id ([`PostRef::id`]).
    pub id: String,
    /// Its counts.
    pub counts: Counts,
}

/// One of the account's own recent posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentPost {
    /// How to refer to it.
    pub post: PostRef,
    /// Its text.
    pub text: String,
    /// When the network says it was created.
    pub created_at: Option<DateTime<Utc>>,
}

/// What an OAuth authorize URL needs.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest<'a> {
    /// Where the network sends the person back.
    pub redirect_uri: &'a str,
    /// Anti-forgery value echoed back in the redirect.
    pub state: &'a str,
    /// PKCE pair (X uses it; the others ignore it).
    pub pkce: &'a Pkce,
}

/// Where a client sends its requests, and as which app.
#[derive(Clone)]
pub struct ClientConfig {
    /// The API host (`https://api.x.com`, `https://api.linkedin.com`, …).
    pub api_base: String,
    /// Where people are sent to approve the app.
    pub auth_base: String,
    /// Where codes and refresh tokens are traded for access tokens.
    pub token_base: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret (confidential clients).
    pub client_secret: Option<Token>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// How long to wait between checks of media a network is still processing (Instagram).
    pub poll_interval: Duration,
    /// Set when a person chose the server: the addresses it may resolve to, and so a slot
    /// limit of its own (one slow self-hosted server holds back only its own calls).
    pub outbound: Option<Outbound>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_base", &self.api_base)
            .field("auth_base", &self.auth_base)
            .field("token_base", &self.token_base)
            .field("client_id", &self.client_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with both bases at `base` (the Sandbox, a local server) and the default
    /// timeouts.
    pub fn at(base: impl Into<String>) -> Self {
        let base = base.into().trim_end_matches('/').to_owned();
        Self {
            api_base: base.clone(),
            auth_base: base.clone(),
            token_base: base,
            client_id: "omniplug".into(),
            client_secret: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            poll_interval: POLL_INTERVAL,
            outbound: None,
        }
    }

    /// The same configuration for a server a person chose: calls go only where `outbound`
    /// allows, checked on every connection.
    pub fn person_chosen(mut self, outbound: Outbound) -> Self {
        self.outbound = Some(outbound);
        self
    }

    /// The same configuration with another whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same configuration as another app.
    pub fn with_app(mut self, client_id: impl Into<String>, secret: Option<Token>) -> Self {
        self.client_id = client_id.into();
        self.client_secret = secret;
        self
    }
}

/// A publish that takes longer than this is abandoned (and settled later by listing recent
/// posts): long enough for a slow upload, short enough that a worker is not stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Meta processes images within seconds; a check every two seconds finds them promptly.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Connecting is quick or not happening.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Shorthand for the clients' results.
pub type Result<T> = std::result::Result<T, PlatformError>;

/// Everything OmniPlug asks of a network.
#[async_trait]
pub trait Network: Send + Sync + fmt::Debug {
    /// Which network this is.
    fn platform(&self) -> Platform;

    /// Where to send a person to approve the app; `None` where the network has no OAuth flow
    /// (Bluesky takes a handle and an app password instead).
    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String>;

    /// Trades the code from the redirect for tokens.
    async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet>;

    /// Logs in with an identifier and an (app) password, for networks without OAuth.
    async fn log_in(&self, identifier: &str, password: &str) -> Result<TokenSet> {
        let _ = (identifier, password);
        Err(PlatformError::unsupported(
            self.platform(),
            "logging in with a password",
        ))
    }

    /// New tokens for old.
    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet>;

    /// Whose tokens these are; an auth error when they no longer work.
    async fn verify(&self, tokens: &TokenSet) -> Result<Account>;

    /// Publishes a post.
    async fn publish(&self, credentials: &Credentials, post: &NewPost) -> Result<Published>;

    /// Publishes a reply under `parent` (the auto-plug).
    async fn reply(
        &self,
        credentials: &Credentials,
        parent: &PostRef,
        reply: &NewPost,
    ) -> Result<Published>;

    /// Counts for many posts, in as few calls as the network allows.
    async fn engagement(
        &self,
        credentials: &Credentials,
        posts: &[PostRef],
    ) -> Result<Vec<Engagement>>;

    /// The account's most recent posts, newest first (settles a publish whose outcome is
    /// unknown).
    async fn recent_posts(
        &self,
        credentials: &Credentials,
        limit: usize,
    ) -> Result<Vec<RecentPost>>;
}
