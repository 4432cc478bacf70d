//! The Sandbox: a simulated network served by axum, in memory.
//!
//! It answers the same API shapes as the real networks for everything the clients do — X under
//! `/x`, LinkedIn under `/linkedin`, Instagram under `/instagram`, Bluesky under `/bluesky` —
//! plus OmniPlug's own "Sandbox" network under `/sandbox` (Bluesky's XRPC shapes, so the
//! Bluesky client drives it). Published posts gather a simulated audience: likes, comments and
//! reposts grow on a per-post curve, or are set directly. Faults can be injected per route:
//! statuses, 429s with the network's own reset headers, latency, hangs, dropped connections and
//! expired tokens.
//!
//! Tests start it in-process on port 0 with [`Sandbox::start`] and steer it with the methods
//! below; the server mounts [`Sandbox::hosted`] to offer the Sandbox network to people.

// Handlers answer early with a ready `Response` (`Result<_, Response>`); it is big, and it is
// what axum wants anyway.
#![allow(clippy::result_large_err)]

mod bluesky;
mod instagram;
mod linkedin;
mod x;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    Platform,
    clients::{
        ClientConfig, Counts, Credentials, Network, Token, TokenSet, bluesky::BlueskyClient,
        instagram::InstagramClient, linkedin::LinkedInClient, x::XClient,
    },
};

/// How long simulated access tokens live unless a test says otherwise (X's two hours).
pub const TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);

/// How a post's audience grows: each count approaches its total, half of the remainder
/// arriving every `half_life`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// Where likes level off.
    pub likes: u64,
    /// Where comments level off.
    pub comments: u64,
    /// Where reposts level off.
    pub reposts: u64,
    /// Time for half of what remains to arrive.
    pub half_life: Duration,
}

impl Default for Curve {
    /// A modest post: 40 likes, 6 comments and 8 reposts, half of them in the first 30 minutes.
    fn default() -> Self {
        Self {
            likes: 40,
            comments: 6,
            reposts: 8,
            half_life: Duration::from_secs(30 * 60),
        }
    }
}

impl Curve {
    /// No audience at all (a quiet post, until a test sets counts).
    pub fn none() -> Self {
        Self {
            likes: 0,
            comments: 0,
            reposts: 0,
            half_life: Duration::from_secs(60),
        }
    }

    /// Counts `age` after publishing.
    pub fn at(&self, age: Duration) -> Counts {
        let half_lives = age.as_secs_f64() / self.half_life.as_secs_f64().max(1.0);
        let share = 1.0 - 0.5f64.powf(half_lives);
        // Counts are small whole numbers; flooring a product of them cannot overflow.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let of = |total: u64| (total as f64 * share).floor() as u64;
        Counts {
            likes: of(self.likes),
            comments: of(self.comments),
            reposts: of(self.reposts),
        }
    }
}

/// What a faulty route does instead of answering normally.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// This status with the network's error body.
    Status(u16),
    /// A rate-limit answer with the network's own reset headers, resetting after this long.
    RateLimited(Duration),
    /// Wait, then answer normally.
    Latency(Duration),
    /// Never answer (the client's timeout fires).
    Hang,
    /// Send the headers, then drop the connection mid-body.
    Drop,
    /// Do the work (the post exists afterwards), then drop the connection mid-answer: the
    /// caller cannot know it landed.
    LoseAnswer,
    /// Answer as the network does for an expired token.
    ExpiredToken,
}

#[derive(Debug, Clone)]
struct FaultRule {
    platform: Platform,
    route: String,
    fault: Fault,
    remaining: usize,
}

/// A request the Sandbox received (for contract tests).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Which network's API was called.
    pub platform: Platform,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path below the network's prefix (`/2/tweets`).
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
    /// Headers, for checks like LinkedIn's version header.
    pub headers: HeaderMap,
}

/// A simulated account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimAccount {
    /// Which network it lives on.
    pub platform: Platform,
    /// The network's id (numeric id, person URN, DID).
    pub id: String,
    /// Handle without `@`.
    pub handle: String,
    /// Display name.
    pub name: String,
    /// Password (Bluesky-style logins).
    pub password: String,
}

/// A simulated image.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SimMedia {
    /// The network's id for it.
    pub id: String,
    /// Alt text as received.
    pub alt: Option<String>,
    /// Size in bytes (0 when the network fetched it by URL).
    pub size: usize,
    /// Where the network was told to fetch it (Instagram).
    pub url: Option<String>,
    /// The bytes as uploaded (Bluesky-shaped blobs keep them, so tests can read them back).
    /// Not kept across a hosted Sandbox's restart.
    #[serde(skip)]
    pub bytes: axum::body::Bytes,
    /// The declared type of an uploaded blob.
    pub mime: String,
    /// A chunked upload (X video) still open or processing: not attachable yet.
    pub pending: bool,
    /// For a chunked upload: the size declared at its start, and segments received.
    pub expected: usize,
    /// Segments appended so far.
    pub segments: usize,
    /// The account that uploaded it (Bluesky-shaped blobs; empty elsewhere).
    pub owner: String,
}

/// A post on the simulated network.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimPost {
    /// Which network.
    pub platform: Platform,
    /// Its id (tweet id, URN, `at://` URI, media id).
    pub id: String,
    /// Bluesky CID.
    pub cid: Option<String>,
    /// Author's account id.
    pub author: String,
    /// Text as received.
    pub text: String,
    /// The post it replies to.
    pub reply_to: Option<String>,
    /// Bluesky thread root.
    pub root: Option<String>,
    /// Images.
    pub media: Vec<SimMedia>,
    /// Simulated time of publishing.
    pub created_at: DateTime<Utc>,
    curve: Curve,
    set: Option<Counts>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct TokenInfo {
    platform: Platform,
    account: String,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct CodeInfo {
    platform: Platform,
    account: String,
    redirect_uri: String,
    challenge: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Container {
    owner: String,
    media: Vec<SimMedia>,
    caption: String,
    children: Vec<String>,
    polls_left: u32,
    published: bool,
}

#[derive(Debug, Default)]
struct World {
    clock: chrono::Duration,
    accounts: Vec<SimAccount>,
    tokens: HashMap<String, TokenInfo>,
    refresh_tokens: HashMap<String, (Platform, String)>,
    codes: HashMap<String, CodeInfo>,
    posts: Vec<SimPost>,
    uploads: HashMap<String, SimMedia>,
    containers: HashMap<String, Container>,
    faults: Vec<FaultRule>,
    requests: std::collections::VecDeque<Recorded>,
    /// Set when a server hosts the Sandbox for people (see [`Hosting`]); `None` in tests.
    hosted: Option<HostedRules>,
    /// Blobs whose bytes are kept, oldest first, and their total size (hosted only).
    kept: std::collections::VecDeque<String>,
    kept_bytes: usize,
    next_id: u64,
    token_ttl: Option<Duration>,
    curve: Option<Curve>,
    container_polls: u32,
}

/// What a hosted Sandbox enforces beyond the network shapes.
#[derive(Debug, Clone)]
struct HostedRules {
    /// Consent pages send people back only to addresses below this.
    callback_prefix: String,
}

/// In a hosted Sandbox the request log keeps this many requests, newest last...
const HOSTED_LOG_ENTRIES: usize = 200;
/// ...with at most this much of each body.
const HOSTED_LOG_BODY: usize = 16 * 1024;
/// A hosted Sandbox keeps the bytes of uploads up to this size (images and short clips), so
/// posts read back with their media; larger ones (long videos) are counted, not kept.
const HOSTED_KEEP_BLOB: usize = 16 * 1024 * 1024;
/// ...and at most this much of such bytes in all; past it, the oldest blobs lose theirs.
const HOSTED_KEPT_TOTAL: usize = 32 * 1024 * 1024;

impl World {
    /// The bytes of an upload to keep: all of them in tests; in a hosted Sandbox only small
    /// ones, within [`HOSTED_KEPT_TOTAL`] (the oldest kept blobs give theirs up first).
    fn keep(&mut self, id: &str, bytes: Bytes) -> Bytes {
        if self.hosted.is_none() {
            return bytes;
        }
        if bytes.len() > HOSTED_KEEP_BLOB {
            return Bytes::new();
        }
        self.kept_bytes += bytes.len();
        self.kept.push_back(id.to_owned());
        while self.kept_bytes > HOSTED_KEPT_TOTAL {
            let Some(oldest) = self.kept.pop_front() else {
                break;
            };
            if let Some(media) = self.uploads.get_mut(&oldest) {
                self.kept_bytes = self.kept_bytes.saturating_sub(media.bytes.len());
                media.bytes = Bytes::new();
            }
        }
        bytes
    }

    /// Adds a chunk of a multi-part upload: kept whole in tests, only counted when hosted.
    fn append(&mut self, id: &str, chunk: &[u8]) -> Option<&mut SimMedia> {
        let hosted = self.hosted.is_some();
        let media = self.uploads.get_mut(id)?;
        if hosted {
            media.size += chunk.len();
        } else {
            let mut bytes = media.bytes.to_vec();
            bytes.extend_from_slice(chunk);
            media.bytes = bytes.into();
            media.size = media.bytes.len();
        }
        Some(media)
    }

    /// Whether `account` may read what belongs to `owner`: anyone in tests (public reads, as on
    /// Bluesky), only the owner when hosted.
    fn may_read(&self, account: Option<&str>, owner: &str) -> bool {
        self.hosted.is_none() || account == Some(owner)
    }

    fn record(&mut self, recorded: Recorded) {
        if self.hosted.is_some() {
            while self.requests.len() >= HOSTED_LOG_ENTRIES {
                self.requests.pop_front();
            }
        }
        self.requests.push_back(recorded);
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn account(&self, platform: Platform, id: &str) -> Option<&SimAccount> {
        self.accounts
            .iter()
            .find(|a| a.platform == platform && a.id == id)
    }

    fn add_account(&mut self, platform: Platform, handle: &str) -> SimAccount {
        let n = self.next();
        let id = match platform {
            Platform::X | Platform::Instagram => format!("{}", 17_841_400_000_000_000u64 + n),
            Platform::LinkedIn => format!("urn:li:person:sim{n}"),
            Platform::Bluesky | Platform::Sandbox => format!("did:plc:sandbox{n:08}"),
        };
        let account = SimAccount {
            platform,
            id,
            handle: handle.to_owned(),
            name: format!("Sandbox {handle}"),
            password: format!("sand-box{n:03}-pass"),
        };
        self.accounts.push(account.clone());
        account
    }

    /// The account a consent screen approves for: the newest one (the person who just signed
    /// in), created on first use.
    fn consenting_account(&mut self, platform: Platform) -> SimAccount {
        match self.accounts.iter().rev().find(|a| a.platform == platform) {
            Some(a) => a.clone(),
            None => self.add_account(platform, "sandbox.user"),
        }
    }

    fn issue(&mut self, platform: Platform, account: &str) -> TokenSet {
        let n = self.next();
        let ttl = self.token_ttl.unwrap_or(TOKEN_TTL);
        let expires_at = self.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let access = match platform {
            // Bluesky clients read `exp` from the JWT.
            Platform::Bluesky | Platform::Sandbox => bluesky::fake_jwt(account, expires_at, n),
            _ => format!("sim-access-{}-{n}-{}", platform.slug(), random_hex()),
        };
        let refresh = format!("sim-refresh-{}-{n}-{}", platform.slug(), random_hex());
        self.tokens.insert(
            access.clone(),
            TokenInfo {
                platform,
                account: account.to_owned(),
                expires_at,
            },
        );
        self.refresh_tokens
            .insert(refresh.clone(), (platform, account.to_owned()));
        TokenSet {
            access: Token::new(access),
            refresh: Some(Token::new(refresh)),
            expires_at: Some(expires_at),
            account_id: Some(account.to_owned()),
            scope: None,
        }
    }

    /// Spends a refresh token (they rotate) and issues new tokens.
    fn rotate(&mut self, platform: Platform, refresh: &str) -> Option<TokenSet> {
        let (p, account) = self.refresh_tokens.remove(refresh)?;
        (p == platform).then(|| self.issue(platform, &account))
    }

    fn counts(&self, post: &SimPost) -> Counts {
        let mut counts = post.set.unwrap_or_else(|| {
            let age = (self.now() - post.created_at).to_std().unwrap_or_default();
            post.curve.at(age)
        });
        // Real replies count as comments on top of the simulated audience.
        counts.comments += self
            .posts
            .iter()
            .filter(|p| p.reply_to.as_deref() == Some(post.id.as_str()))
            .count() as u64;
        counts
    }

    #[allow(clippy::too_many_arguments)]
    fn add_post(
        &mut self,
        platform: Platform,
        id: String,
        cid: Option<String>,
        author: &str,
        text: &str,
        reply_to: Option<String>,
        media: Vec<SimMedia>,
    ) -> &mut SimPost {
        let post = SimPost {
            platform,
            id,
            cid,
            author: author.to_owned(),
            text: text.to_owned(),
            root: None,
            reply_to,
            media,
            created_at: self.now(),
            curve: self.curve.unwrap_or_default(),
            set: None,
        };
        let index = self.posts.len();
        self.posts.push(post);
        &mut self.posts[index]
    }

    fn post(&self, platform: Platform, id: &str) -> Option<&SimPost> {
        self.posts
            .iter()
            .find(|p| p.platform == platform && p.id == id)
    }
}

/// Why a request was refused by [`Ctx::authorize`].
#[derive(Debug)]
pub(crate) enum Denied {
    Missing,
    Unknown,
    Expired,
}

/// What every handler gets: the world and which network it is playing.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    world: Arc<Mutex<World>>,
    platform: Platform,
    /// The public address of this network's prefix (for upload URLs, permalinks).
    base: Arc<Mutex<String>>,
    /// One large request body read at a time when hosted (see [`gate`]).
    large_bodies: Arc<tokio::sync::Semaphore>,
    /// Served by a server for people (see [`Hosting`]).
    hosted: bool,
    /// Hosted: true once the kept state is back (see [`HostedSandbox::open`]); requests wait
    /// for it, so a token from before a restart is not refused in the moment before.
    ready: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Ctx {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panicking handler cannot leave the world half-changed in a way that matters to a
        // simulation; keep serving.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The account behind a bearer token.
    pub(crate) fn authorize(&self, headers: &HeaderMap) -> Result<String, Denied> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Denied::Missing)?;
        let world = self.world();
        let info = world.tokens.get(token).ok_or(Denied::Unknown)?;
        if info.platform != self.platform {
            return Err(Denied::Unknown);
        }
        if info.expires_at <= world.now() {
            return Err(Denied::Expired);
        }
        Ok(info.account.clone())
    }

    fn base(&self) -> String {
        self.base.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// The account behind the request's token, if it carries a valid one.
    pub(crate) fn reader(&self, headers: &HeaderMap) -> Option<String> {
        self.authorize(headers).ok()
    }
}

/// The account behind the request's bearer token; a missing, unknown or expired token is
/// answered the way the network answers it.
#[derive(Debug)]
pub(crate) struct Caller(pub String);

impl axum::extract::FromRequestParts<Ctx> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        ctx: &Ctx,
    ) -> Result<Self, Self::Rejection> {
        ctx.authorize(&parts.headers)
            .map(Caller)
            .map_err(|why| denied(ctx.platform, &why))
    }
}

/// A running Sandbox.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    world: Arc<Mutex<World>>,
    base: Arc<Mutex<String>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// The URL prefix each network is served under.
pub fn prefix(platform: Platform) -> &'static str {
    match platform {
        Platform::X => "/x",
        Platform::LinkedIn => "/linkedin",
        Platform::Instagram => "/instagram",
        Platform::Bluesky => "/bluesky",
        Platform::Sandbox => "/sandbox",
    }
}

impl Sandbox {
    /// Starts a Sandbox on 127.0.0.1 at a free port.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let world = Arc::new(Mutex::new(World::default()));
        let base = Arc::new(Mutex::new(format!("http://{addr}")));
        let router = router_for(world.clone(), base.clone(), None);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                stopped.await.ok();
            });
            if let Err(err) = serve.await {
                tracing::warn!(%err, "sandbox stopped");
            }
        });
        Ok(Self {
            addr,
            world,
            base,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The Sandbox as a server hosts it for people (see [`Hosting`]): its router, and a handle
    /// the server uses to change a post's audience on behalf of the post's owner.
    pub fn hosted(hosting: &Hosting) -> (Router, HostedSandbox) {
        let world = Arc::new(Mutex::new(World {
            hosted: Some(HostedRules {
                callback_prefix: hosting.callback_prefix.clone(),
            }),
            ..World::default()
        }));
        let base = Arc::new(Mutex::new(
            hosting.public_url.trim_end_matches('/').to_owned(),
        ));
        let (ready, waiting) = tokio::sync::watch::channel(false);
        let router = router_for(world.clone(), base, Some(waiting));
        (
            router,
            HostedSandbox {
                world,
                saved: Arc::default(),
                ready: Arc::new(ready),
            },
        )
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration pointing at this Sandbox's copy of `platform`, with a short
    /// timeout and polling interval fit for tests.
    pub fn config(&self, platform: Platform) -> ClientConfig {
        let mut config = ClientConfig::at(format!("{}{}", self.url(), prefix(platform)))
            .with_timeout(Duration::from_secs(5));
        config.poll_interval = Duration::from_millis(20);
        config
    }

    /// A client for `platform` talking to this Sandbox.
    pub fn client(&self, platform: Platform) -> Box<dyn Network> {
        client_for(platform, self.config(platform))
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds an account; Bluesky-style networks log in with its handle and password.
    pub fn add_account(&self, platform: Platform, handle: &str) -> SimAccount {
        self.world().add_account(platform, handle)
    }

    /// Tokens for `account` without going through a login (for tests of later steps).
    pub fn credentials(&self, account: &SimAccount) -> Credentials {
        let tokens = self.world().issue(account.platform, &account.id);
        Credentials {
            account_id: account.id.clone(),
            tokens,
        }
    }

    /// Makes the next `times` requests matching `route` (`"POST /2/tweets"`: method and path
    /// prefix below the network's prefix) fail with `fault`.
    pub fn fail(&self, platform: Platform, route: &str, fault: Fault, times: usize) {
        self.world().faults.push(FaultRule {
            platform,
            route: route.to_owned(),
            fault,
            remaining: times,
        });
    }

    /// Removes every injected fault.
    pub fn heal(&self) {
        self.world().faults.clear();
    }

    /// Moves the simulated clock forward (audiences grow, tokens expire).
    pub fn advance(&self, by: Duration) {
        let mut world = self.world();
        world.clock += chrono::Duration::from_std(by).unwrap_or_default();
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.world().token_ttl = Some(ttl);
    }

    /// Expires every access token of `platform` now.
    pub fn expire_tokens(&self, platform: Platform) {
        let mut world = self.world();
        let now = world.now();
        for info in world.tokens.values_mut().filter(|t| t.platform == platform) {
            info.expires_at = now;
        }
    }

    /// The curve posts published from now on follow.
    pub fn set_default_curve(&self, curve: Curve) {
        self.world().curve = Some(curve);
    }

    /// Sets one post's curve.
    pub fn set_curve(&self, post_id: &str, curve: Curve) {
        if let Some(post) = self.world().posts.iter_mut().find(|p| p.id == post_id) {
            post.curve = curve;
        }
    }

    /// Sets one post's counts directly (replies posted through the API still add comments).
    pub fn set_counts(&self, post_id: &str, counts: Counts) {
        if let Some(post) = self.world().posts.iter_mut().find(|p| p.id == post_id) {
            post.set = Some(counts);
        }
    }

    /// The counts the network would report for a post now.
    pub fn counts(&self, post_id: &str) -> Option<Counts> {
        let world = self.world();
        let post = world.posts.iter().find(|p| p.id == post_id)?;
        Some(world.counts(post))
    }

    /// How many status checks an Instagram container answers `IN_PROGRESS` before `FINISHED`.
    pub fn set_container_polls(&self, polls: u32) {
        self.world().container_polls = polls;
    }

    /// Every post on `platform`, oldest first.
    pub fn posts(&self, platform: Platform) -> Vec<SimPost> {
        self.world()
            .posts
            .iter()
            .filter(|p| p.platform == platform)
            .cloned()
            .collect()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.world().requests.iter().cloned().collect()
    }

    /// Stops serving.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            task.abort();
            task.await.ok();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // The public base is only shared with handlers.
        let _ = &self.base;
    }
}

/// The right client for `platform` (Sandbox speaks Bluesky's shapes).
pub fn client_for(platform: Platform, config: ClientConfig) -> Box<dyn Network> {
    match platform {
        Platform::X => Box::new(XClient::new(config)),
        Platform::LinkedIn => Box::new(LinkedInClient::new(config)),
        Platform::Instagram => Box::new(InstagramClient::new(config)),
        Platform::Bluesky | Platform::Sandbox => Box::new(BlueskyClient::new(config)),
    }
}

/// Where and how a server hosts the Sandbox for people.
///
/// A hosted Sandbox is shared by every workspace on the server, so it guards itself: each
/// request but logging in and the OAuth steps needs a token of the network it calls (refused
/// before its body is read), an account reads only its own posts and blobs, consent pages send
/// people back only below `callback_prefix`, there is no `/_audience` (the server offers that
/// to a post's owners through [`HostedSandbox`]), and memory is bounded: the request log is a
/// short ring, only small uploads keep their bytes, and one large body is read at a time.
#[derive(Debug, Clone)]
pub struct Hosting {
    /// Where the server serves the Sandbox (used in upload URLs and permalinks).
    pub public_url: String,
    /// Consent pages redirect only to addresses starting with this (the server's callback).
    pub callback_prefix: String,
}

/// The server's handle on the Sandbox it hosts.
#[derive(Debug, Clone)]
pub struct HostedSandbox {
    world: Arc<Mutex<World>>,
    /// A digest of the state last handed out by [`HostedSandbox::changed_state`].
    saved: Arc<Mutex<Option<u64>>>,
    /// Set by [`HostedSandbox::open`].
    ready: Arc<tokio::sync::watch::Sender<bool>>,
}

/// What a hosted Sandbox keeps across restarts: its accounts, their tokens, posts, uploads and
/// Instagram containers. Not kept: the bytes of uploads, the request log, OAuth codes in flight.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Durable {
    accounts: Vec<SimAccount>,
    tokens: HashMap<String, TokenInfo>,
    refresh_tokens: HashMap<String, (Platform, String)>,
    posts: Vec<SimPost>,
    uploads: HashMap<String, SimMedia>,
    containers: HashMap<String, Container>,
    next_id: u64,
}

fn digest(state: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    state.hash(&mut hasher);
    hasher.finish()
}

/// A post on the hosted Sandbox, found by its id or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPost {
    /// The simulated network it is on.
    pub platform: Platform,
    /// Its id (`at://` URI, tweet id, …).
    pub id: String,
    /// The account that posted it.
    pub author: String,
}

impl HostedSandbox {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state to keep (JSON, see [`Durable`]) when it changed since the last call; the
    /// server stores it so a restart does not lose simulated accounts and their connections.
    pub fn changed_state(&self) -> Option<String> {
        let durable = {
            let world = self.world();
            Durable {
                accounts: world.accounts.clone(),
                tokens: world.tokens.clone(),
                refresh_tokens: world.refresh_tokens.clone(),
                posts: world.posts.clone(),
                uploads: world.uploads.clone(),
                containers: world.containers.clone(),
                next_id: world.next_id,
            }
        };
        let state = serde_json::to_string(&durable).ok()?;
        let mut saved = self
            .saved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = digest(&state);
        (*saved != Some(now)).then(|| {
            *saved = Some(now);
            state
        })
    }

    /// Starts answering: call once the kept state is restored (or could not be). Until then
    /// requests wait, at most ten seconds.
    pub fn open(&self) {
        self.ready.send_replace(true);
    }

    /// Saving what [`Self::changed_state`] handed out failed: hand it out again next time.
    pub fn unsaved(&self) {
        *self
            .saved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Brings back a kept state (after a restart). What is already here stays: whatever
    /// happened between starting and restoring is not overwritten.
    pub fn restore(&self, state: &str) -> Result<(), String> {
        let kept: Durable = serde_json::from_str(state).map_err(|err| err.to_string())?;
        let mut world = self.world();
        for account in kept.accounts {
            if !world
                .accounts
                .iter()
                .any(|a| a.platform == account.platform && a.id == account.id)
            {
                world.accounts.push(account);
            }
        }
        for (token, info) in kept.tokens {
            world.tokens.entry(token).or_insert(info);
        }
        for (token, owner) in kept.refresh_tokens {
            world.refresh_tokens.entry(token).or_insert(owner);
        }
        for post in kept.posts {
            if !world.posts.iter().any(|p| p.id == post.id) {
                world.posts.push(post);
            }
        }
        for (id, media) in kept.uploads {
            world.uploads.entry(id).or_insert(media);
        }
        for (id, container) in kept.containers {
            world.containers.entry(id).or_insert(container);
        }
        world.next_id = world.next_id.max(kept.next_id);
        Ok(())
    }

    /// The post `key` names: its id, a link to it, or the last segment of either.
    pub fn find(&self, key: &str) -> Option<FoundPost> {
        let world = self.world();
        find_post(&world, key).map(|i| {
            let post = &world.posts[i];
            FoundPost {
                platform: post.platform,
                id: post.id.clone(),
                author: post.author.clone(),
            }
        })
    }

    /// Sets the counts of the post with this id (as other people liking and replying would).
    pub fn set_counts(&self, id: &str, counts: Counts) -> bool {
        let mut world = self.world();
        match world.posts.iter_mut().find(|p| p.id == id) {
            Some(post) => {
                post.set = Some(counts);
                true
            }
            None => false,
        }
    }

    /// Forgets an account and everything it posted and uploaded (its connection is gone).
    pub fn forget_account(&self, platform: Platform, account: &str) {
        let mut world = self.world();
        world
            .accounts
            .retain(|a| !(a.platform == platform && a.id == account));
        world
            .posts
            .retain(|p| !(p.platform == platform && p.author == account));
        world.tokens.retain(|_, t| t.account != account);
        world.refresh_tokens.retain(|_, (_, a)| a != account);
        world.codes.retain(|_, c| c.account != account);
    }

    /// How many bytes of uploads the hosted Sandbox holds now (bounded; for tests).
    pub fn kept_bytes(&self) -> usize {
        self.world().uploads.values().map(|m| m.bytes.len()).sum()
    }

    /// How many requests its log holds now (bounded; for tests).
    pub fn logged_requests(&self) -> usize {
        self.world().requests.len()
    }
}

/// The index of the post `key` names (its id, or the last path segment of its id or link).
fn find_post(world: &World, key: &str) -> Option<usize> {
    let key = key.trim().trim_end_matches('/');
    let tail = key.rsplit('/').next().unwrap_or(key);
    if tail.is_empty() {
        return None;
    }
    world
        .posts
        .iter()
        .position(|p| p.id == key || p.id.rsplit('/').next() == Some(tail))
}

fn router_for(
    world: Arc<Mutex<World>>,
    base: Arc<Mutex<String>>,
    ready: Option<tokio::sync::watch::Receiver<bool>>,
) -> Router {
    let hosted = ready.is_some();
    let mut router = Router::new();
    let large_bodies = Arc::new(tokio::sync::Semaphore::new(1));
    for platform in Platform::ALL {
        let ctx = Ctx {
            world: world.clone(),
            platform,
            base: base.clone(),
            large_bodies: large_bodies.clone(),
            hosted,
            ready: ready.clone(),
        };
        let routes = match platform {
            Platform::X => x::routes(),
            Platform::LinkedIn => linkedin::routes(),
            Platform::Instagram => instagram::routes(),
            Platform::Bluesky | Platform::Sandbox => bluesky::routes(),
        };
        let mut routes = routes.layer(middleware::from_fn_with_state(
            ctx.clone(),
            record_and_inject,
        ));
        if hosted {
            // Outermost: refuse before anything reads the body.
            routes = routes.layer(middleware::from_fn_with_state(ctx.clone(), gate));
        }
        router = router.nest(prefix(platform), routes.with_state(ctx));
    }
    if !hosted {
        router = router.route(
            "/_audience",
            axum::routing::post(audience).with_state(world),
        );
    }
    // The networks take large uploads (Bluesky videos up to 100,000,000 bytes); axum's
    // default of 2 MB per request body would refuse them.
    router.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// Requests a hosted Sandbox answers without an access token: logging in and the OAuth
/// steps (which check their own codes and refresh tokens), and X's avatar pictures.
fn open_without_token(platform: Platform, path: &str) -> bool {
    match platform {
        Platform::Bluesky | Platform::Sandbox => matches!(
            path,
            "/xrpc/com.atproto.server.createAccount"
                | "/xrpc/com.atproto.server.createSession"
                | "/xrpc/com.atproto.server.refreshSession"
        ),
        Platform::X => {
            matches!(path, "/i/oauth2/authorize" | "/2/oauth2/token")
                || path.starts_with("/avatars/")
        }
        Platform::LinkedIn => matches!(path, "/oauth/v2/authorization" | "/oauth/v2/accessToken"),
        Platform::Instagram => matches!(
            path,
            "/oauth/authorize" | "/oauth/access_token" | "/access_token" | "/refresh_access_token"
        ),
    }
}

/// The longest a request to a hosted Sandbox waits for its kept state to be restored.
const READY_WAIT: Duration = Duration::from_secs(10);

/// A body over this size is read only while holding the one large-body slot.
const SMALL_BODY: u64 = 1024 * 1024;

/// A hosted Sandbox's door (see [`Hosting`]): a request without a valid token is answered as
/// the network answers it, before its body is read; a request with a large (or unknown-length)
/// body waits for the one large-body slot, so a flood of big uploads is read one at a time.
async fn gate(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    if let Some(ready) = &ctx.ready {
        // A server that could not restore in time opens anyway (see `HostedSandbox::open`).
        let mut ready = ready.clone();
        let _ = tokio::time::timeout(READY_WAIT, ready.wait_for(|open| *open)).await;
    }
    let path = request.uri().path();
    if !open_without_token(ctx.platform, path)
        && let Err(why) = ctx.authorize(request.headers())
    {
        return denied(ctx.platform, &why);
    }
    let length = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let has_body = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if has_body && length.is_none_or(|n| n > SMALL_BODY) {
        let Ok(_slot) = ctx.large_bodies.clone().acquire_owned().await else {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        };
        return next.run(request).await;
    }
    next.run(request).await
}

/// The largest request body the simulated networks read.
const MAX_BODY: usize = 128 * 1024 * 1024;

/// What `POST /_audience` sets.
#[derive(Debug, serde::Deserialize)]
struct AudienceChange {
    /// The post's id, or the last path segment of its id or link (a Bluesky-shaped rkey).
    post: String,
    likes: u64,
    #[serde(default)]
    comments: u64,
    #[serde(default)]
    reposts: u64,
}

/// `POST /_audience`: the simulated audience reacts — sets a post's counts (as other people
/// liking, replying and reposting would). Only the Sandbox has this; the end-to-end tests and
/// people trying the Sandbox use it to see a plug fire.
async fn audience(
    State(world): State<Arc<Mutex<World>>>,
    axum::Json(change): axum::Json<AudienceChange>,
) -> Response {
    if change.post.trim().trim_end_matches('/').is_empty() {
        return (StatusCode::BAD_REQUEST, "Name a post.").into_response();
    }
    let mut world = world
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(index) = find_post(&world, &change.post) else {
        return (StatusCode::NOT_FOUND, "No such post on the Sandbox.").into_response();
    };
    world.posts[index].set = Some(Counts {
        likes: change.likes,
        comments: change.comments,
        reposts: change.reposts,
    });
    StatusCode::NO_CONTENT.into_response()
}

/// The size of a request body a hosted Sandbox counted instead of keeping (see [`receive`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted(pub(crate) usize);

/// Reads a request body. In tests, whole. In a hosted Sandbox, whole up to
/// [`HOSTED_KEEP_BLOB`]; past that only its start (for the log) is kept and the rest counted as
/// it streams by, so thirty 95 MB videos cost their sizes in a counter, not in memory.
async fn receive(body: Body, hosted: bool) -> Result<(Bytes, Option<Counted>), StatusCode> {
    use futures::StreamExt;
    if !hosted {
        return axum::body::to_bytes(body, MAX_BODY)
            .await
            .map(|bytes| (bytes, None))
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut stream = body.into_data_stream();
    let mut kept = bytes::BytesMut::new();
    let mut len = 0usize;
    let mut counting = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
        len += chunk.len();
        if len > MAX_BODY {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        if counting {
            continue;
        }
        if len > HOSTED_KEEP_BLOB {
            counting = true;
            let room = HOSTED_LOG_BODY.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            kept.truncate(HOSTED_LOG_BODY);
        } else {
            kept.extend_from_slice(&chunk);
        }
    }
    Ok((kept.freeze(), counting.then_some(Counted(len))))
}

/// Records every request, then applies the first matching fault, if any.
async fn record_and_inject(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let (bytes, counted) = match receive(body, ctx.hosted).await {
        Ok(received) => received,
        Err(status) => return status.into_response(),
    };
    if let Some(counted) = counted {
        parts.extensions.insert(counted);
    }
    let path = parts.uri.path();
    let method = parts.method.as_str();
    // The record owns copies: hyper hands out the body and header values as views of its
    // connection's read buffer, and keeping those views would keep every buffer alive (kilobytes
    // per request, forever), so the Sandbox's memory would grow with each call it answers.
    let recorded = Recorded {
        platform: ctx.platform,
        method: method.to_owned(),
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        content_type: parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        // A hosted Sandbox logs only the start of each body (its log is a short ring).
        body: Bytes::copy_from_slice(if ctx.hosted {
            &bytes[..bytes.len().min(HOSTED_LOG_BODY)]
        } else {
            &bytes
        }),
        headers: owned_headers(&parts.headers),
    };
    let fault = {
        let mut world = ctx.world();
        world.record(recorded);
        if world.faults.is_empty() {
            None
        } else {
            let line = format!("{method} {path}");
            let platform = ctx.platform;
            world
                .faults
                .iter_mut()
                .find(|r| r.platform == platform && r.remaining > 0 && line.starts_with(&r.route))
                .map(|r| {
                    r.remaining -= 1;
                    r.fault.clone()
                })
        }
    };
    // A counted body reaches the handler empty, its size in the `Counted` extension.
    let bytes = if counted.is_some() {
        Bytes::new()
    } else {
        bytes
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    match fault {
        None => next.run(request).await,
        Some(Fault::Latency(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(Fault::LoseAnswer) => {
            drop(next.run(request).await);
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(broken_body())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::Drop) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(broken_body())
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_for(
                ctx.platform,
                status,
                status.canonical_reason().unwrap_or("Error"),
            )
        }
        Some(Fault::RateLimited(reset)) => {
            // Reset headers are wall-clock times: clients compare them with their own clock.
            rate_limited(ctx.platform, reset)
        }
        Some(Fault::ExpiredToken) => denied(ctx.platform, &Denied::Expired),
    }
}

/// `headers` with every name and value copied out of the buffer they were parsed from.
fn owned_headers(headers: &HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = axum::http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = axum::http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            owned.append(name, value);
        }
    }
    owned
}

/// A body that yields one chunk, then fails: hyper then aborts the connection mid-answer.
fn broken_body() -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"data\":")),
        Err(std::io::Error::other("connection dropped by the sandbox")),
    ];
    Body::from_stream(futures::stream::iter(chunks))
}

/// The network's answer to a refused token.
pub(crate) fn denied(platform: Platform, why: &Denied) -> Response {
    match platform {
        Platform::X => x::denied(why),
        Platform::LinkedIn => linkedin::denied(why),
        Platform::Instagram => instagram::denied(why),
        Platform::Bluesky | Platform::Sandbox => bluesky::denied(why),
    }
}

/// The network's error body for `status`.
pub(crate) fn error_for(platform: Platform, status: StatusCode, message: &str) -> Response {
    match platform {
        Platform::X => x::error(status, message),
        Platform::LinkedIn => linkedin::error(status, message),
        // Graph code 1 is its "unknown error, retry"; 100 is an invalid parameter.
        Platform::Instagram => instagram::error(
            status,
            if status.is_server_error() { 1 } else { 100 },
            message,
        ),
        Platform::Bluesky | Platform::Sandbox => {
            bluesky::error(status, "InternalServerError", message)
        }
    }
}

fn rate_limited(platform: Platform, reset: Duration) -> Response {
    let reset_at = Utc::now() + chrono::Duration::from_std(reset).unwrap_or_default();
    match platform {
        Platform::X => x::rate_limited(reset_at),
        Platform::LinkedIn => linkedin::rate_limited(),
        Platform::Instagram => instagram::rate_limited(reset),
        Platform::Bluesky | Platform::Sandbox => bluesky::rate_limited(reset_at),
    }
}

/// A network's consent page, approving at once for the newest account (the person who just
/// signed in there): remembers a code for `redirect_uri` and sends the browser back with it.
/// X also demands a PKCE S256 challenge; Instagram appends `#_` to its redirects.
pub(crate) fn consent(ctx: &Ctx, query: Option<String>) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let bad = |message: &str| error_for(ctx.platform, StatusCode::BAD_REQUEST, message);
    let (Some(redirect), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return bad("redirect_uri and state are required");
    };
    let mut world = ctx.world();
    if let Some(rules) = &world.hosted
        && !redirect.starts_with(&rules.callback_prefix)
    {
        return bad("redirect_uri is not registered for this app");
    }
    let pkce = ctx.platform == Platform::X;
    if pkce && q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return bad("code_challenge_method must be S256");
    }
    let code = format!("sim-code-{}", random_hex());
    let account = world.consenting_account(ctx.platform);
    world.codes.insert(
        code.clone(),
        CodeInfo {
            platform: ctx.platform,
            account: account.id,
            redirect_uri: redirect.clone(),
            challenge: if pkce {
                q.get("code_challenge").cloned()
            } else {
                None
            },
        },
    );
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let fragment = if ctx.platform == Platform::Instagram {
        "#_"
    } else {
        ""
    };
    axum::response::Redirect::to(&format!(
        "{redirect}{sep}code={code}&state={state}{fragment}"
    ))
    .into_response()
}

/// An OAuth token-endpoint error (RFC 6749 §5.2), as X and LinkedIn send them.
pub(crate) fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// 16 random hex digits.
fn random_hex() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 8];
    SystemRandom::new().fill(&mut bytes).ok();
    format!("{:016x}", u64::from_be_bytes(bytes))
}

/// Form or query pairs as a map (last value wins).
pub(crate) fn pairs(text: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// Every value of a repeated query parameter (`uris=a&uris=b`).
pub(crate) fn all_values(text: &str, key: &str) -> Vec<String> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .map(|url| {
            url.query_pairs()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .unwrap_or_default()
}
