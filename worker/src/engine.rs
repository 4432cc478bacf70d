//! The handlers behind the streams: publish a target, fire a plug, read a connection's
//! engagement. Each reads the database row its message names and acts only if the row says
//! the work is due, moving it on with compare-and-set updates; so a duplicated, stale or
//! reclaimed message does nothing wrong (see `docs/architecture.md`, "The life of a post").
//!
//! Exactly once on the network rests on three rules:
//! 1. A target is claimed (`PENDING → PUBLISHING` with a lease) before its network call, and
//!    only the claimer records the result (the update names the version it claimed).
//! 2. The call is abandoned before the lease ends, so nobody else can act while it may still
//!    land.
//! 3. Whoever finds `PUBLISHING` with an expired lease does not know whether the call landed,
//!    so it asks the network for the account's recent posts and adopts a match (same text)
//!    before ever posting again. Plugs follow the same three rules with `FIRING`.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use omniplug_core::{
    Stores,
    connections::{self, ConnectionError, Networks},
    entities::{
        JobKind, JobStatus, PlugStatus, PlugTrigger, PostStatus, TargetState, auto_plug,
        engagement_snapshot, job, platform_connection as pc, post, post_target, workspace,
    },
    media,
    schedule::{self, Due},
};
use omniplug_platforms::{
    Platform,
    clients::{
        Counts, Credentials, Engagement, ErrorKind, Media, Network, NewPost, PlatformError,
        PostRef, Published, RecentPost,
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait, prelude::Uuid, sea_query::Expr,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    WorkerError,
    polling::{self, Observation},
    settings::Settings,
};

/// How one message was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The work was done (published, fired, read).
    Done,
    /// Nothing to do: stale, duplicate, not due yet, or owned by another worker.
    Stale,
    /// Failed for now; the work is back in the index for a later attempt.
    Retry,
    /// Failed for good (the reason is on the row).
    Failed,
}

impl Outcome {
    fn job_status(self) -> JobStatus {
        match self {
            Self::Done => JobStatus::Succeeded,
            Self::Stale => JobStatus::Skipped,
            Self::Retry => JobStatus::Retrying,
            Self::Failed => JobStatus::Failed,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Stale => "stale",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }
}

/// The handlers and what they share.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) stores: Stores,
    pub(crate) networks: Networks,
    pub(crate) settings: Settings,
    /// Call slots per network (each network is one API host): see [`Settings::max_calls`].
    calls: Arc<HashMap<Platform, Arc<Semaphore>>>,
    /// Publishes waiting for a call slot, and a signal when none is left waiting: recording
    /// finished publishes waits for that, so in a crowd the calls due now get the CPU first.
    queued_calls: Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>,
    /// Handlers touching the database at once: a burst of thousands must queue here, in
    /// order, rather than time out waiting for the pool's connections.
    gate: Arc<Semaphore>,
    /// Batch claims of publishes have their own lane: a crowd of polls or results waiting for
    /// the gate must not hold back posts about to be due.
    claim_lane: Arc<Semaphore>,
    /// Recently opened credentials per connection, so a burst of posts on one account reads
    /// and decrypts its tokens once, while claiming, not at the instant of publishing.
    creds: Arc<std::sync::Mutex<HashMap<Uuid, CachedCredentials>>>,
}

/// Kept this long at most (a disconnect or reconnect takes effect within it).
const CREDENTIALS_TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct CachedCredentials {
    client: Arc<dyn Network>,
    /// Shared, not copied: every call of a burst on this account reads the same tokens.
    credentials: Arc<Credentials>,
    at: std::time::Instant,
}

impl std::fmt::Debug for CachedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCredentials").finish_non_exhaustive()
    }
}

/// An update of `target` that applies only if it is still at the version read (its worker's
/// compare-and-set), bumping that version and `updated_at`.
fn changed_target(
    target: &post_target::Model,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<post_target::Entity> {
    post_target::Entity::update_many()
        .col_expr(
            post_target::Column::Version,
            Expr::value(target.version + 1),
        )
        .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
        .filter(post_target::Column::Id.eq(target.id))
        .filter(post_target::Column::Version.eq(target.version))
}

/// [`changed_target`] for a plug.
fn changed_plug(
    plug: &auto_plug::Model,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<auto_plug::Entity> {
    auto_plug::Entity::update_many()
        .col_expr(auto_plug::Column::Version, Expr::value(plug.version + 1))
        .col_expr(auto_plug::Column::UpdatedAt, Expr::value(now))
        .filter(auto_plug::Column::Id.eq(plug.id))
        .filter(auto_plug::Column::Version.eq(plug.version))
}

/// Counts a publish waiting for a call slot while it lives (also if its future is dropped).
struct QueuedCall<'a>(&'a (std::sync::atomic::AtomicUsize, tokio::sync::Notify));

impl<'a> QueuedCall<'a> {
    fn new(queue: &'a (std::sync::atomic::AtomicUsize, tokio::sync::Notify)) -> Self {
        queue.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(queue)
    }
}

impl Drop for QueuedCall<'_> {
    fn drop(&mut self) {
        if self.0.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.1.notify_waiters();
        }
    }
}

/// A workspace's grace period when it has none recorded.
const DEFAULT_GRACE_MINUTES: i32 = 15;

/// Whether a first attempt reached at `now` is too late for a post due at `due`.
fn missed(due: DateTime<Utc>, now: DateTime<Utc>, grace_minutes: i32) -> bool {
    now - due > chrono::Duration::minutes(i64::from(grace_minutes))
}

/// `(id, version) IN ((…), …)`: rows still at the version they were read at.
fn at_versions<C: sea_orm::sea_query::IntoIden + Copy + 'static>(
    id: C,
    version: C,
    rows: impl Iterator<Item = (Uuid, i32)>,
) -> sea_orm::sea_query::SimpleExpr {
    Expr::tuple([Expr::col(id).into(), Expr::col(version).into()]).in_tuples(rows)
}

fn count_job(kind: &'static str, outcome: Outcome) {
    metrics::counter!("omniplug_jobs_total", "kind" => kind, "outcome" => outcome.label())
        .increment(1);
}

fn error_class(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RateLimited { .. } => "rate_limited",
        ErrorKind::Transient { .. } => "transient",
        ErrorKind::Auth => "auth",
        ErrorKind::Permanent => "permanent",
    }
}

/// Text compared when settling: whitespace collapsed and links left out (networks rewrite
/// links, X into t.co).
pub fn fingerprint(text: &str) -> String {
    text.split_whitespace()
        .filter(|word| !word.starts_with("http://") && !word.starts_with("https://"))
        .collect::<Vec<_>>()
        .join(" ")
}

trait PlatformName {
    fn platform_name(&self) -> &'static str;
}

impl PlatformName for post_target::Model {
    fn platform_name(&self) -> &'static str {
        Platform::from(self.platform).display_name()
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}

fn jitter() -> u128 {
    Uuid::new_v4().as_u128()
}

/// A network call's result, or why it could not be made.
enum CallError {
    /// The network answered with an error (or did not answer).
    Network(PlatformError),
    /// The connection is gone, unusable or not configured here: final.
    Connection(String),
    /// Our own store failed: try again later.
    Internal(String),
}

/// A network operation the engine makes.
#[derive(Debug, Clone, Copy)]
enum Op<'a> {
    Publish(&'a NewPost),
    Reply(&'a PostRef, &'a str),
    Recent,
    Engagement(&'a [PostRef]),
}

/// What an [`Op`] returns.
enum Answer {
    Published(Published),
    Recent(Vec<RecentPost>),
    Counts(Vec<Engagement>),
}

impl Op<'_> {
    /// Whether an unanswered call may still have changed something on the network.
    fn writes(self) -> bool {
        matches!(self, Self::Publish(_) | Self::Reply(..))
    }

    async fn run(self, client: &dyn Network, creds: &Credentials) -> Result<Answer, PlatformError> {
        Ok(match self {
            Self::Publish(post) => Answer::Published(client.publish(creds, post).await?),
            Self::Reply(parent, text) => {
                Answer::Published(client.reply(creds, parent, &NewPost::text(text)).await?)
            }
            // Enough to cover everything an account posted while a call was in doubt.
            Self::Recent => Answer::Recent(client.recent_posts(creds, 50).await?),
            Self::Engagement(posts) => Answer::Counts(client.engagement(creds, posts).await?),
        })
    }
}

impl Answer {
    fn published(self) -> Result<Published, CallError> {
        match self {
            Self::Published(p) => Ok(p),
            _ => Err(CallError::Internal("unexpected answer".into())),
        }
    }

    fn recent(self) -> Result<Vec<RecentPost>, CallError> {
        match self {
            Self::Recent(r) => Ok(r),
            _ => Err(CallError::Internal("unexpected answer".into())),
        }
    }

    fn counts(self) -> Result<Vec<Engagement>, CallError> {
        match self {
            Self::Counts(c) => Ok(c),
            _ => Err(CallError::Internal("unexpected answer".into())),
        }
    }
}

impl From<ConnectionError> for CallError {
    fn from(err: ConnectionError) -> Self {
        match err {
            ConnectionError::Network(err) => Self::Network(err),
            ConnectionError::NotFound => {
                Self::Connection("The account was disconnected from OmniPlug.".into())
            }
            ConnectionError::Database(err) => Self::Internal(err.to_string()),
            other => Self::Connection(other.to_string()),
        }
    }
}

impl Engine {
    /// An engine over `stores` with `settings`.
    pub fn new(stores: Stores, settings: Settings) -> Self {
        let networks = stores.networks.clone();
        let calls = Arc::new(
            Platform::ALL
                .into_iter()
                .map(|p| (p, Arc::new(Semaphore::new(settings.max_calls))))
                .collect(),
        );
        let gate = Arc::new(Semaphore::new(settings.db_slots));
        Self {
            stores,
            networks,
            settings,
            calls,
            gate,
            claim_lane: Arc::new(Semaphore::new(2)),
            queued_calls: Arc::default(),
            creds: Arc::default(),
        }
    }

    /// The network clients this engine calls through.
    pub fn networks(&self) -> &Networks {
        &self.networks
    }

    fn db(&self) -> &DatabaseConnection {
        &self.stores.db
    }

    /// Handles one due entry as of `now`.
    pub async fn handle(&self, due: Due, now: DateTime<Utc>) -> Result<Outcome, WorkerError> {
        let outcome = match due {
            Due::Publish(id) => self.publish(id, now).await?,
            Due::Plug(id) => {
                let _slot = self.slot().await;
                self.fire_plug(id, now).await?
            }
            // Takes its database turns itself: none is held while the network answers.
            Due::Poll(id) => self.poll(id, now).await?,
        };
        let kind = match due {
            Due::Publish(_) => "publish",
            Due::Plug(_) => "plug",
            Due::Poll(_) => "poll",
        };
        count_job(kind, outcome);
        Ok(outcome)
    }

    async fn index(&self, due: Due, at: DateTime<Utc>) {
        if let Err(err) = schedule::add(&self.stores.redis, due, at).await {
            // The sweep re-indexes from the database within minutes.
            tracing::warn!(error = %err, ?due, "could not index work; the sweep will");
        }
    }

    /// Comes back to a leased target when its lease ends, not before (see
    /// [`schedule::add_at_its_time`]).
    async fn index_lease_end(&self, target_id: Uuid, at: DateTime<Utc>) {
        if let Err(err) =
            schedule::add_at_its_time(&self.stores.redis, Due::Publish(target_id), at).await
        {
            tracing::warn!(error = %err, %target_id, "could not index a lease end; the sweep will");
        }
    }

    async fn index_poll(&self, connection: Uuid, at: DateTime<Utc>) {
        if let Err(err) =
            schedule::add_no_later(&self.stores.redis, Due::Poll(connection), at).await
        {
            tracing::warn!(error = %err, %connection, "could not index a poll; the sweep will");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_job(
        &self,
        kind: JobKind,
        outcome: Outcome,
        workspace_id: Uuid,
        ids: (Option<Uuid>, Option<Uuid>, Option<Uuid>),
        attempt: i32,
        error: Option<&PlatformError>,
        started: DateTime<Utc>,
    ) {
        let finished = Utc::now();
        let row = job::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(Some(workspace_id)),
            kind: Set(kind),
            status: Set(outcome.job_status()),
            post_id: Set(ids.0),
            target_id: Set(ids.1),
            plug_id: Set(ids.2),
            attempt: Set(attempt),
            error_class: Set(error.map(|e| error_class(&e.kind).to_owned())),
            error: Set(error.map(|e| e.message.clone())),
            started_at: Set(started),
            finished_at: Set(Some(finished)),
            duration_ms: Set(Some((finished - started).num_milliseconds())),
        };
        if let Err(err) = row.insert(self.db()).await {
            tracing::warn!(error = %err, "could not write a job row");
        }
    }

    /// Credentials for a connection, then `op`, bounded by the lease.
    async fn call(
        &self,
        connection_id: Uuid,
        refreshed: bool,
        op: Op<'_>,
    ) -> Result<Answer, CallError> {
        let (client, creds) = self.credentials(connection_id, refreshed).await?;
        let platform = client.platform();
        match tokio::time::timeout(
            self.settings.call_deadline(),
            op.run(client.as_ref(), &creds),
        )
        .await
        {
            Ok(result) => result.map_err(CallError::Network),
            Err(_) => Err(CallError::Network(PlatformError {
                platform,
                kind: ErrorKind::Transient {
                    outcome_unknown: op.writes(),
                },
                status: None,
                message: "The network did not answer in time.".into(),
            })),
        }
    }

    /// Whether fresh credentials for the connection are cached.
    fn has_credentials(&self, connection_id: Uuid) -> bool {
        self.creds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&connection_id)
            .is_some_and(|hit| hit.at.elapsed() < CREDENTIALS_TTL)
    }

    async fn credentials(
        &self,
        connection_id: Uuid,
        refreshed: bool,
    ) -> Result<(Arc<dyn Network>, Arc<Credentials>), CallError> {
        let cache = || {
            self.creds
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let soon = Utc::now() + chrono::Duration::minutes(5);
        if !refreshed
            && let Some(hit) = cache().get(&connection_id).cloned()
            && hit.at.elapsed() < CREDENTIALS_TTL
            && hit.credentials.tokens.expires_at.is_none_or(|at| at > soon)
        {
            return Ok((hit.client, hit.credentials));
        }
        let (client, credentials) = if refreshed {
            connections::credentials_after_refusal(
                self.db(),
                &self.stores.vault,
                &self.networks,
                connection_id,
            )
            .await?
        } else {
            connections::credentials(self.db(), &self.stores.vault, &self.networks, connection_id)
                .await?
        };
        let credentials = Arc::new(credentials);
        cache().insert(
            connection_id,
            CachedCredentials {
                client: client.clone(),
                credentials: credentials.clone(),
                at: std::time::Instant::now(),
            },
        );
        Ok((client, credentials))
    }

    /// [`Self::call`], refreshing the tokens once if the network refuses them.
    async fn call_with_refresh(
        &self,
        connection_id: Uuid,
        op: Op<'_>,
    ) -> Result<Answer, CallError> {
        match self.call(connection_id, false, op).await {
            Err(CallError::Network(err)) if err.kind == ErrorKind::Auth => {
                tracing::info!(%connection_id, "tokens refused; refreshing once");
                let again = self.call(connection_id, true, op).await;
                if let Err(CallError::Network(err)) = &again
                    && err.kind == ErrorKind::Auth
                {
                    mark_invalid(self.db(), connection_id, &err.message).await;
                }
                again
            }
            other => other,
        }
    }

    // ----- publishing -------------------------------------------------------------------

    /// Returns once no publish is waiting for a call slot (at once, but in a crowd).
    async fn calls_started(&self) {
        let (queued, drained) = &*self.queued_calls;
        loop {
            let notified = drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if queued.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// A slot for one call to `platform` (see `calls`).
    async fn call_slot(&self, platform: Platform) -> Option<OwnedSemaphorePermit> {
        self.calls
            .get(&platform)?
            .clone()
            .acquire_owned()
            .await
            .ok()
    }

    /// A turn at the database (see `gate`).
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.gate.clone().acquire_owned().await.ok()
    }

    async fn publish(&self, target_id: Uuid, now: DateTime<Utc>) -> Result<Outcome, WorkerError> {
        let slot = self.slot().await;
        let Some(target) = post_target::Entity::find_by_id(target_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        let Some(post) = post::Entity::find_by_id(target.post_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        match target.state {
            TargetState::Published | TargetState::Failed => Ok(Outcome::Stale),
            TargetState::Publishing => match target.lease_until {
                Some(lease) if lease > now => {
                    // Its worker is on it; come back when the lease ends in case it dies.
                    self.index_lease_end(target.id, lease).await;
                    Ok(Outcome::Stale)
                }
                _ => self.settle_target(post, target, now, slot).await,
            },
            TargetState::Pending | TargetState::Queued => {
                self.publish_pending(post, target, now, slot).await
            }
        }
    }

    async fn publish_pending(
        &self,
        post: post::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Outcome, WorkerError> {
        let Some(due) = target.next_attempt_at else {
            return Ok(Outcome::Stale);
        };
        if !matches!(post.status, PostStatus::Scheduled | PostStatus::Publishing) {
            return Ok(Outcome::Stale);
        }
        if due > now + chrono(self.settings.claim_ahead()) {
            // Rescheduled later since this entry was made.
            self.index(Due::Publish(target.id), due).await;
            return Ok(Outcome::Stale);
        }
        if target.attempts == 0 {
            let grace = workspace::Entity::find_by_id(post.workspace_id)
                .one(self.db())
                .await?
                .map_or(DEFAULT_GRACE_MINUTES, |w| w.missed_grace_minutes);
            if missed(due, now, grace) {
                return self.miss(post, target, due, now).await;
            }
        }
        let lease = due.max(now) + chrono(self.settings.lease);
        let Some(claimed) = self.claim_target(&target, lease, now, true).await? else {
            return Ok(Outcome::Stale);
        };
        drop(slot);
        self.publish_on_time(post, claimed).await
    }

    /// Claims, in one transaction, every target among `ids` that is plainly ready to go out
    /// (pending, its post scheduled, due within [`Settings::claim_ahead`], not missed): what a
    /// burst of thousands needs, instead of a transaction each. Returns the claimed ones with
    /// their posts, for [`Self::publish_on_time`]; every other id (stale, leased, settling,
    /// missed, or changed meanwhile) is left for [`Self::handle`] to decide one by one.
    pub async fn claim_publishes(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Vec<(post::Model, post_target::Model)>, WorkerError> {
        use std::collections::HashSet;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let _lane = self.claim_lane.acquire().await.ok();
        let targets = post_target::Entity::find()
            .filter(post_target::Column::Id.is_in(ids.iter().copied()))
            .filter(post_target::Column::State.is_in([TargetState::Pending, TargetState::Queued]))
            .all(self.db())
            .await?;
        let post_ids: HashSet<Uuid> = targets.iter().map(|t| t.post_id).collect();
        let posts: HashMap<Uuid, post::Model> = post::Entity::find()
            .filter(post::Column::Id.is_in(post_ids))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .all(self.db())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let workspace_ids: HashSet<Uuid> = posts.values().map(|p| p.workspace_id).collect();
        let graces: HashMap<Uuid, i32> = workspace::Entity::find()
            .filter(workspace::Column::Id.is_in(workspace_ids))
            .all(self.db())
            .await?
            .into_iter()
            .map(|w| (w.id, w.missed_grace_minutes))
            .collect();
        let horizon = now + chrono(self.settings.claim_ahead());
        let ready: Vec<post_target::Model> = targets
            .into_iter()
            .filter(|t| {
                let (Some(post), Some(due)) = (posts.get(&t.post_id), t.next_attempt_at) else {
                    return false;
                };
                let grace = graces
                    .get(&post.workspace_id)
                    .copied()
                    .unwrap_or(DEFAULT_GRACE_MINUTES);
                due <= horizon && (t.attempts > 0 || !missed(due, now, grace))
            })
            .collect();
        let Some(latest) = ready.iter().filter_map(|t| t.next_attempt_at).max() else {
            return Ok(Vec::new());
        };
        let lease = latest.max(now) + chrono(self.settings.lease);

        let txn = self.db().begin().await?;
        // Posts first, each at the version read: a post edited since then is left alone (and
        // its targets go the single way).
        let moved: HashMap<Uuid, post::Model> = post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
            .col_expr(
                post::Column::Version,
                Expr::col(post::Column::Version).add(1),
            )
            .col_expr(post::Column::UpdatedAt, Expr::value(now))
            .filter(at_versions(
                post::Column::Id,
                post::Column::Version,
                ready
                    .iter()
                    .map(|t| t.post_id)
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .filter_map(|id| posts.get(&id))
                    .map(|p| (p.id, p.version)),
            ))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let claimed = post_target::Entity::update_many()
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Publishing),
            )
            .col_expr(post_target::Column::LeaseUntil, Expr::value(Some(lease)))
            .col_expr(
                post_target::Column::Attempts,
                Expr::col(post_target::Column::Attempts).add(1),
            )
            .col_expr(
                post_target::Column::Version,
                Expr::col(post_target::Column::Version).add(1),
            )
            .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
            .filter(at_versions(
                post_target::Column::Id,
                post_target::Column::Version,
                ready
                    .iter()
                    .filter(|t| moved.contains_key(&t.post_id))
                    .map(|t| (t.id, t.version)),
            ))
            .filter(post_target::Column::State.is_in([TargetState::Pending, TargetState::Queued]))
            .exec_with_returning(&txn)
            .await?;
        // A post moved to PUBLISHING none of whose targets could be claimed (one changed
        // meanwhile) goes back to what it was.
        let with_claims: HashSet<Uuid> = claimed.iter().map(|t| t.post_id).collect();
        for post in moved.values().filter(|p| !with_claims.contains(&p.id)) {
            if let Some(before) = posts.get(&post.id) {
                post::Entity::update_many()
                    .col_expr(post::Column::Status, Expr::value(before.status))
                    .filter(post::Column::Id.eq(post.id))
                    .filter(post::Column::Version.eq(post.version))
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(claimed
            .into_iter()
            .filter_map(|t| Some((moved.get(&t.post_id)?.clone(), t)))
            .collect())
    }

    /// A claimed target: opens the credentials now, waits for the exact instant (holding no
    /// database turn), publishes and records the result. A credentials failure here is met
    /// again by the call itself.
    async fn publish_on_time(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let due = target.next_attempt_at.unwrap_or_else(Utc::now);
        if !self.has_credentials(target.connection_id) {
            let _slot = self.slot().await;
            if self.credentials(target.connection_id, false).await.is_err() {
                tracing::debug!(connection_id = %target.connection_id, "credentials not ready yet");
            }
        }
        sleep_until_wall(due).await;
        self.publish_claimed(post, target).await
    }

    /// [`Self::publish_on_time`] for a target of [`Self::claim_publishes`].
    pub async fn publish_ready(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let outcome = self.publish_on_time(post, target).await?;
        count_job("publish", outcome);
        Ok(outcome)
    }

    /// `PENDING`/`QUEUED` (or, when settling, an expired `PUBLISHING`) → `PUBLISHING` with a
    /// lease; also moves the post to `PUBLISHING`. `None` if someone else changed either.
    async fn claim_target(
        &self,
        target: &post_target::Model,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
        from_pending: bool,
    ) -> Result<Option<post_target::Model>, DbErr> {
        let txn = self.db().begin().await?;
        let moved = post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
            .col_expr(
                post::Column::Version,
                Expr::col(post::Column::Version).add(1),
            )
            .col_expr(post::Column::UpdatedAt, Expr::value(now))
            .filter(post::Column::Id.eq(target.post_id))
            .filter(post::Column::Status.is_in([PostStatus::Scheduled, PostStatus::Publishing]))
            .exec(&txn)
            .await?;
        let states = if from_pending {
            vec![TargetState::Pending, TargetState::Queued]
        } else {
            vec![TargetState::Publishing]
        };
        let claimed = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Publishing),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Some(lease_until)),
            )
            .col_expr(
                post_target::Column::Attempts,
                Expr::value(target.attempts + 1),
            )
            .filter(post_target::Column::State.is_in(states))
            .exec(&txn)
            .await?;
        if moved.rows_affected != 1 || claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        txn.commit().await?;
        Ok(Some(post_target::Model {
            state: TargetState::Publishing,
            lease_until: Some(lease_until),
            attempts: target.attempts + 1,
            version: target.version + 1,
            ..target.clone()
        }))
    }

    async fn publish_claimed(
        &self,
        post: post::Model,
        target: post_target::Model,
    ) -> Result<Outcome, WorkerError> {
        let text = target
            .content_override
            .clone()
            .unwrap_or_else(|| post.content.clone());
        let media = match self.media_of(&post).await {
            Ok(media) => media,
            Err(err) => {
                return self
                    .record_publish(post, target, Err(err), Utc::now())
                    .await;
            }
        };
        let new_post = NewPost { text, media };
        let permit = {
            let _queued = QueuedCall::new(&self.queued_calls);
            self.call_slot(target.platform.into()).await
        };
        // The call starts now, once it has a slot: lateness counts the wait for one.
        let started = Utc::now();
        if target.attempts == 1
            && let Some(due) = target.next_attempt_at
        {
            let late = (started - due).num_microseconds().unwrap_or(0) as f64 / 1e6;
            metrics::histogram!("omniplug_publish_lateness_seconds").record(late.max(0.0));
        }
        let result = self
            .call_with_refresh(target.connection_id, Op::Publish(&new_post))
            .await
            .and_then(Answer::published);
        drop(permit);
        self.record_publish(post, target, result, started).await
    }

    /// The files attached to `post`, read from the media store, each with its public address
    /// when one is configured (Instagram fetches by address).
    async fn media_of(&self, post: &post::Model) -> Result<Vec<Media>, CallError> {
        let attached = media::attached(post);
        if attached.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = attached.iter().map(|a| a.id).collect();
        let assets = media::assets_in_order(self.db(), post.workspace_id, &ids)
            .await
            .map_err(|err| match err {
                media::MediaError::NotFound => CallError::Connection(
                    "An attached file was deleted from the media library.".into(),
                ),
                other => CallError::Internal(other.to_string()),
            })?;
        let store = &self.stores.media;
        let mut media = Vec::with_capacity(assets.len());
        for (asset, attached) in assets.iter().zip(attached) {
            // One copy per file however many targets are publishing it at once.
            let bytes = store.read_shared(asset).await.map_err(|err| match err {
                media::MediaError::NotFound => CallError::Connection(format!(
                    "The file {} is missing from media storage.",
                    asset.file_name
                )),
                other => CallError::Internal(other.to_string()),
            })?;
            media.push(Media {
                bytes,
                mime: asset.mime_type.clone(),
                alt: attached.alt,
                public_url: store.public_url(asset),
            });
        }
        Ok(media)
    }

    async fn record_publish(
        &self,
        post: post::Model,
        target: post_target::Model,
        result: Result<Published, CallError>,
        started: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        self.calls_started().await;
        let _slot = self.slot().await;
        let now = Utc::now();
        let ids = (Some(post.id), Some(target.id), None);
        let (outcome, error) = match result {
            Ok(published) => {
                let outcome = self
                    .target_published(&post, &target, &published, now)
                    .await?;
                (outcome, None)
            }
            Err(CallError::Internal(message)) => {
                tracing::warn!(%message, target_id = %target.id, "publish interrupted by our store");
                // Leave it PUBLISHING: the lease's end settles it.
                if let Some(lease) = target.lease_until {
                    self.index_lease_end(target.id, lease).await;
                }
                (Outcome::Retry, None)
            }
            Err(CallError::Connection(message)) => {
                self.target_failed(&target, &message, now).await?;
                (Outcome::Failed, None)
            }
            Err(CallError::Network(err)) => {
                let outcome = self.target_error(&target, &err, now).await?;
                (outcome, Some(err))
            }
        };
        self.write_job(
            JobKind::Publish,
            outcome,
            post.workspace_id,
            ids,
            target.attempts,
            error.as_ref(),
            started,
        )
        .await;
        Ok(outcome)
    }

    async fn target_published(
        &self,
        post: &post::Model,
        target: &post_target::Model,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let first_poll = now + chrono(self.settings.first_poll);
        let txn = self.db().begin().await?;
        lock_post(&txn, post.id, now).await?;
        let done = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Published),
            )
            .col_expr(
                post_target::Column::PlatformPostId,
                Expr::value(Some(published.post.id.clone())),
            )
            .col_expr(
                post_target::Column::PlatformPostCid,
                Expr::value(published.post.cid.clone()),
            )
            .col_expr(
                post_target::Column::PlatformPostUrl,
                Expr::value(published.url.clone()),
            )
            .col_expr(post_target::Column::PublishedAt, Expr::value(Some(now)))
            .col_expr(
                post_target::Column::NextPollAt,
                Expr::value(Some(first_poll)),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Option::<String>::None),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            txn.rollback().await?;
            // Only possible if our lease ran out mid-call and another worker settled it.
            tracing::error!(target_id = %target.id, "published, but the target was taken over");
            return Ok(Outcome::Stale);
        }
        finish_post(&txn, post.id, now).await?;
        txn.commit().await?;
        tracing::info!(target_id = %target.id, post_id = %post.id, platform_post_id = %published.post.id, "published");
        self.index_poll(target.connection_id, first_poll).await;
        let time_plugs = auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.eq(post.id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .filter(auto_plug::Column::Trigger.eq(PlugTrigger::TimeAfterPublish))
            .all(self.db())
            .await?;
        for plug in time_plugs {
            self.index(
                Due::Plug(plug.id),
                now + chrono::Duration::minutes(plug.trigger_value),
            )
            .await;
        }
        Ok(Outcome::Done)
    }

    async fn target_error(
        &self,
        target: &post_target::Model,
        err: &PlatformError,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let network = err.platform.display_name();
        match &err.kind {
            ErrorKind::RateLimited { retry_at } => {
                let at = retry_at.unwrap_or(now + chrono::Duration::minutes(1));
                tracing::info!(target_id = %target.id, %at, "rate-limited; waiting for the reset");
                // Waiting for a reset is not a failed attempt.
                self.target_back(target, at, target.attempts - 1, None, now)
                    .await
            }
            ErrorKind::Transient { outcome_unknown } => {
                let at = now + chrono(self.settings.backoff(target.attempts, jitter()));
                if *outcome_unknown {
                    // It may have landed: keep it PUBLISHING; whoever comes at `at` settles it.
                    self.extend_lease(target, at, &err.message, now).await
                } else if target.attempts >= self.settings.max_attempts {
                    let reason = format!(
                        "{network} kept failing ({} attempts): {}",
                        target.attempts, err.message
                    );
                    self.target_failed(target, &reason, now).await?;
                    Ok(Outcome::Failed)
                } else {
                    self.target_back(target, at, target.attempts, Some(&err.message), now)
                        .await
                }
            }
            ErrorKind::Auth => {
                let reason = format!(
                    "{network} refused OmniPlug's access ({}). Reconnect the account, then retry.",
                    err.message
                );
                self.target_failed(target, &reason, now).await?;
                Ok(Outcome::Failed)
            }
            ErrorKind::Permanent => {
                let reason = format!("{network} refused the post: {}", err.message);
                self.target_failed(target, &reason, now).await?;
                Ok(Outcome::Failed)
            }
        }
    }

    /// `PUBLISHING` → `PENDING`, due again at `at`.
    async fn target_back(
        &self,
        target: &post_target::Model,
        at: DateTime<Utc>,
        attempts: i32,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_target(target, now)
            .col_expr(
                post_target::Column::State,
                Expr::value(TargetState::Pending),
            )
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(Some(at)))
            .col_expr(post_target::Column::Attempts, Expr::value(attempts.max(0)))
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index(Due::Publish(target.id), at).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    async fn extend_lease(
        &self,
        target: &post_target::Model,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_target(target, now)
            .col_expr(post_target::Column::LeaseUntil, Expr::value(Some(until)))
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Some(reason.to_owned())),
            )
            .filter(post_target::Column::State.eq(TargetState::Publishing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index_lease_end(target.id, until).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    async fn target_failed(
        &self,
        target: &post_target::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkerError> {
        let txn = self.db().begin().await?;
        lock_post(&txn, target.post_id, now).await?;
        let changed = changed_target(target, now)
            .col_expr(post_target::Column::State, Expr::value(TargetState::Failed))
            .col_expr(
                post_target::Column::FailReason,
                Expr::value(Some(reason.to_owned())),
            )
            .col_expr(
                post_target::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .exec(&txn)
            .await?;
        if changed.rows_affected == 1 {
            finish_post(&txn, target.post_id, now).await?;
            txn.commit().await?;
            tracing::warn!(target_id = %target.id, %reason, "target failed");
        } else {
            txn.rollback().await?;
        }
        Ok(())
    }

    /// Overdue beyond the grace period: not published late. The whole post is MISSED while
    /// nothing of it went out; a straggler of a post already under way fails alone.
    async fn miss(
        &self,
        post: post::Model,
        target: post_target::Model,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let late = (now - due).num_minutes();
        let reason = format!(
            "Missed: nothing could publish it at its time ({late} minutes overdue). Publish it now or pick a new time."
        );
        if post.status == PostStatus::Scheduled {
            post::Entity::update_many()
                .col_expr(post::Column::Status, Expr::value(PostStatus::Missed))
                .col_expr(post::Column::FailReason, Expr::value(Some(reason)))
                .col_expr(post::Column::Version, Expr::value(post.version + 1))
                .col_expr(post::Column::UpdatedAt, Expr::value(now))
                .filter(post::Column::Id.eq(post.id))
                .filter(post::Column::Version.eq(post.version))
                .filter(post::Column::Status.eq(PostStatus::Scheduled))
                .exec(self.db())
                .await?;
            tracing::info!(post_id = %post.id, late_minutes = late, "post missed");
        } else {
            self.target_failed(&target, &reason, now).await?;
        }
        Ok(Outcome::Failed)
    }

    /// A target found `PUBLISHING` after its lease: did the call land?
    async fn settle_target(
        &self,
        post: post::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Outcome, WorkerError> {
        let lease = now + chrono(self.settings.lease);
        let Some(claimed) = self.claim_target(&target, lease, now, false).await? else {
            return Ok(Outcome::Stale);
        };
        // The claim counted an attempt; settling is not one.
        let claimed = post_target::Model {
            attempts: target.attempts,
            ..claimed
        };
        let text = claimed
            .content_override
            .clone()
            .unwrap_or_else(|| post.content.clone());
        let wanted = fingerprint(&text);
        let since = claimed.created_at - chrono::Duration::minutes(5);
        let taken: Vec<String> = post_target::Entity::find()
            .filter(post_target::Column::ConnectionId.eq(claimed.connection_id))
            .filter(post_target::Column::Id.ne(claimed.id))
            .filter(post_target::Column::PlatformPostId.is_not_null())
            .filter(post_target::Column::PublishedAt.gte(since))
            .all(self.db())
            .await?
            .into_iter()
            .filter_map(|t| t.platform_post_id)
            .collect();
        let started = Utc::now();
        let found = self
            .call_with_refresh(claimed.connection_id, Op::Recent)
            .await
            .and_then(Answer::recent);
        match found {
            Ok(recent) => {
                let hit = recent.into_iter().find(|p| {
                    fingerprint(&p.text) == wanted
                        && p.created_at.is_none_or(|at| at >= since)
                        && !taken.contains(&p.post.id)
                });
                if let Some(hit) = hit {
                    tracing::info!(target_id = %claimed.id, platform_post_id = %hit.post.id, "unknown outcome settled: it landed; adopted");
                    let published = Published {
                        url: None,
                        post: hit.post,
                    };
                    let outcome = self
                        .target_published(&post, &claimed, &published, Utc::now())
                        .await?;
                    self.write_job(
                        JobKind::Publish,
                        outcome,
                        post.workspace_id,
                        (Some(post.id), Some(claimed.id), None),
                        claimed.attempts,
                        None,
                        started,
                    )
                    .await;
                    Ok(outcome)
                } else if claimed.attempts >= self.settings.max_attempts {
                    let reason = format!(
                        "{} kept failing ({} attempts): {}",
                        claimed.platform_name(),
                        claimed.attempts,
                        claimed
                            .fail_reason
                            .as_deref()
                            .unwrap_or("the post was never confirmed")
                    );
                    self.target_failed(&claimed, &reason, Utc::now()).await?;
                    Ok(Outcome::Failed)
                } else {
                    tracing::info!(target_id = %claimed.id, "unknown outcome settled: it did not land; publishing again");
                    let again = post_target::Model {
                        attempts: claimed.attempts + 1,
                        ..claimed
                    };
                    // Count this attempt in the row too.
                    post_target::Entity::update_many()
                        .col_expr(post_target::Column::Attempts, Expr::value(again.attempts))
                        .filter(post_target::Column::Id.eq(again.id))
                        .filter(post_target::Column::Version.eq(again.version))
                        .exec(self.db())
                        .await?;
                    drop(slot);
                    self.publish_claimed(post, again).await
                }
            }
            Err(CallError::Network(err)) => {
                let at = match err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        retry_at.unwrap_or(now + chrono::Duration::minutes(1))
                    }
                    _ => now + chrono(self.settings.backoff(claimed.attempts.max(1), jitter())),
                };
                tracing::info!(target_id = %claimed.id, error = %err.message, "could not settle yet");
                if err.kind == ErrorKind::Auth {
                    let reason = format!(
                        "{} refused OmniPlug's access ({}). Reconnect the account, then retry.",
                        err.platform.display_name(),
                        err.message
                    );
                    self.target_failed(&claimed, &reason, Utc::now()).await?;
                    return Ok(Outcome::Failed);
                }
                self.extend_lease(&claimed, at, &err.message, Utc::now())
                    .await
            }
            Err(CallError::Connection(message)) => {
                self.target_failed(&claimed, &message, Utc::now()).await?;
                Ok(Outcome::Failed)
            }
            Err(CallError::Internal(message)) => {
                let at = now + chrono(self.settings.retry_base);
                self.extend_lease(&claimed, at, &message, Utc::now()).await
            }
        }
    }

    // ----- plugs ------------------------------------------------------------------------

    async fn fire_plug(&self, plug_id: Uuid, now: DateTime<Utc>) -> Result<Outcome, WorkerError> {
        let Some(plug) = auto_plug::Entity::find_by_id(plug_id)
            .one(self.db())
            .await?
        else {
            return Ok(Outcome::Stale);
        };
        let target = post_target::Entity::find()
            .filter(post_target::Column::PostId.eq(plug.post_id))
            .filter(post_target::Column::Platform.eq(plug.platform))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .order_by_asc(post_target::Column::PublishedAt)
            .one(self.db())
            .await?;
        let Some(target) = target else {
            if matches!(plug.status, PlugStatus::Pending | PlugStatus::Firing) {
                self.skip_plug(&plug, "The post did not go out on this network.", now)
                    .await?;
            }
            return Ok(Outcome::Stale);
        };
        let plug = match plug.status {
            PlugStatus::Fired | PlugStatus::Failed | PlugStatus::Skipped => {
                return Ok(Outcome::Stale);
            }
            PlugStatus::Pending => {
                if plug.trigger != PlugTrigger::TimeAfterPublish {
                    // Threshold plugs are moved to FIRING by the poller.
                    return Ok(Outcome::Stale);
                }
                let Some(published) = target.published_at else {
                    return Ok(Outcome::Stale);
                };
                let due = published + chrono::Duration::minutes(plug.trigger_value);
                if due > now {
                    self.index(Due::Plug(plug.id), due).await;
                    return Ok(Outcome::Stale);
                }
                match trigger_plug(self.db(), &plug, now).await? {
                    Some(plug) => plug,
                    None => return Ok(Outcome::Stale),
                }
            }
            PlugStatus::Firing => plug,
        };
        match plug.lease_until {
            Some(lease) if lease > now => {
                self.index(Due::Plug(plug.id), lease).await;
                Ok(Outcome::Stale)
            }
            // A reply call was made and its result never recorded.
            Some(_) => self.settle_plug(plug, target, now).await,
            None => self.reply(plug, target, now).await,
        }
    }

    /// `FIRING` (lease free or expired) → `FIRING` with our lease.
    async fn claim_plug(
        &self,
        plug: &auto_plug::Model,
        now: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<Option<auto_plug::Model>, DbErr> {
        let lease = now + chrono(self.settings.lease);
        let attempts = plug.attempts + i32::from(count_attempt);
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::LeaseUntil, Expr::value(Some(lease)))
            .col_expr(auto_plug::Column::Attempts, Expr::value(attempts))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        Ok((changed.rows_affected == 1).then(|| auto_plug::Model {
            lease_until: Some(lease),
            attempts,
            version: plug.version + 1,
            ..plug.clone()
        }))
    }

    async fn reply(
        &self,
        plug: auto_plug::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let Some(plug) = self.claim_plug(&plug, now, true).await? else {
            return Ok(Outcome::Stale);
        };
        let Some(parent_id) = target.platform_post_id.clone() else {
            self.skip_plug(&plug, "The post has no id on the network.", now)
                .await?;
            return Ok(Outcome::Stale);
        };
        let parent = PostRef {
            id: parent_id,
            cid: target.platform_post_cid.clone(),
        };
        let text = plug.content.clone();
        let permit = self.call_slot(target.platform.into()).await;
        let started = Utc::now();
        let result = self
            .call_with_refresh(target.connection_id, Op::Reply(&parent, &text))
            .await
            .and_then(Answer::published);
        drop(permit);
        self.record_reply(plug, result, started).await
    }

    async fn record_reply(
        &self,
        plug: auto_plug::Model,
        result: Result<Published, CallError>,
        started: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let now = Utc::now();
        let (outcome, error) = match result {
            Ok(published) => (self.plug_fired(&plug, &published, now).await?, None),
            Err(CallError::Internal(message)) => {
                tracing::warn!(%message, plug_id = %plug.id, "reply interrupted by our store");
                if let Some(lease) = plug.lease_until {
                    self.index(Due::Plug(plug.id), lease).await;
                }
                (Outcome::Retry, None)
            }
            Err(CallError::Connection(message)) => {
                self.plug_failed(&plug, &message, now).await?;
                (Outcome::Failed, None)
            }
            Err(CallError::Network(err)) => {
                let outcome = match &err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        let at = retry_at.unwrap_or(now + chrono::Duration::minutes(1));
                        self.plug_lease(&plug, None, plug.attempts - 1, at, now)
                            .await?
                    }
                    ErrorKind::Transient { outcome_unknown } => {
                        let at = now + chrono(self.settings.backoff(plug.attempts, jitter()));
                        if *outcome_unknown {
                            self.plug_lease(&plug, Some(at), plug.attempts, at, now)
                                .await?
                        } else if plug.attempts >= self.settings.max_attempts {
                            let reason = format!(
                                "{} kept failing ({} attempts): {}",
                                err.platform.display_name(),
                                plug.attempts,
                                err.message
                            );
                            self.plug_failed(&plug, &reason, now).await?;
                            Outcome::Failed
                        } else {
                            self.plug_lease(&plug, None, plug.attempts, at, now).await?
                        }
                    }
                    ErrorKind::Auth | ErrorKind::Permanent => {
                        let reason = format!(
                            "{} refused the plug: {}",
                            err.platform.display_name(),
                            err.message
                        );
                        self.plug_failed(&plug, &reason, now).await?;
                        Outcome::Failed
                    }
                };
                (outcome, Some(err))
            }
        };
        self.write_job(
            JobKind::Plug,
            outcome,
            plug.workspace_id,
            (Some(plug.post_id), None, Some(plug.id)),
            plug.attempts,
            error.as_ref(),
            started,
        )
        .await;
        Ok(outcome)
    }

    async fn plug_fired(
        &self,
        plug: &auto_plug::Model,
        published: &Published,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Fired))
            .col_expr(auto_plug::Column::FiredAt, Expr::value(Some(now)))
            .col_expr(
                auto_plug::Column::PlugPostId,
                Expr::value(Some(published.post.id.clone())),
            )
            .col_expr(
                auto_plug::Column::PlugPostUrl,
                Expr::value(published.url.clone()),
            )
            .col_expr(
                auto_plug::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                auto_plug::Column::FailReason,
                Expr::value(Option::<String>::None),
            )
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        if changed.rows_affected != 1 {
            tracing::error!(plug_id = %plug.id, "replied, but the plug was taken over");
            return Ok(Outcome::Stale);
        }
        tracing::info!(plug_id = %plug.id, reply_id = %published.post.id, "plug fired");
        Ok(Outcome::Done)
    }

    /// Keeps the plug FIRING and due again at `at`; `lease` set means the last call's outcome
    /// is unknown (settle first), `None` means call again.
    async fn plug_lease(
        &self,
        plug: &auto_plug::Model,
        lease: Option<DateTime<Utc>>,
        attempts: i32,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let changed = changed_plug(plug, now)
            .col_expr(auto_plug::Column::LeaseUntil, Expr::value(lease))
            .col_expr(auto_plug::Column::Attempts, Expr::value(attempts.max(0)))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Firing))
            .exec(self.db())
            .await?;
        if changed.rows_affected == 1 {
            self.index(Due::Plug(plug.id), at).await;
            Ok(Outcome::Retry)
        } else {
            Ok(Outcome::Stale)
        }
    }

    async fn plug_failed(
        &self,
        plug: &auto_plug::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        end_plug(self.db(), plug, PlugStatus::Failed, reason, now).await
    }

    async fn skip_plug(
        &self,
        plug: &auto_plug::Model,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        end_plug(self.db(), plug, PlugStatus::Skipped, reason, now).await
    }

    async fn settle_plug(
        &self,
        plug: auto_plug::Model,
        target: post_target::Model,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WorkerError> {
        let Some(plug) = self.claim_plug(&plug, now, false).await? else {
            return Ok(Outcome::Stale);
        };
        let wanted = fingerprint(&plug.content);
        let since = target.published_at.unwrap_or(plug.created_at);
        let found = self
            .call_with_refresh(target.connection_id, Op::Recent)
            .await
            .and_then(Answer::recent);
        match found {
            Ok(recent) => {
                let hit = recent.into_iter().find(|p| {
                    fingerprint(&p.text) == wanted && p.created_at.is_none_or(|at| at >= since)
                });
                if let Some(hit) = hit {
                    tracing::info!(plug_id = %plug.id, reply_id = %hit.post.id, "unknown plug outcome settled: it landed; adopted");
                    let published = Published {
                        url: None,
                        post: hit.post,
                    };
                    self.plug_fired(&plug, &published, Utc::now()).await
                } else if plug.attempts >= self.settings.max_attempts {
                    self.plug_failed(
                        &plug,
                        "The network did not confirm the reply after several attempts.",
                        Utc::now(),
                    )
                    .await?;
                    Ok(Outcome::Failed)
                } else {
                    tracing::info!(plug_id = %plug.id, "unknown plug outcome settled: it did not land; replying again");
                    // Release our settling lease so `reply` can claim it for the call.
                    let free = auto_plug::Model {
                        lease_until: None,
                        ..plug
                    };
                    self.reply(free, target, Utc::now()).await
                }
            }
            Err(CallError::Network(err)) => {
                let at = match err.kind {
                    ErrorKind::RateLimited { retry_at } => {
                        retry_at.unwrap_or(now + chrono::Duration::minutes(1))
                    }
                    _ => now + chrono(self.settings.backoff(plug.attempts.max(1), jitter())),
                };
                self.plug_lease(&plug, Some(at), plug.attempts, at, Utc::now())
                    .await
            }
            Err(CallError::Connection(message)) => {
                self.plug_failed(&plug, &message, Utc::now()).await?;
                Ok(Outcome::Failed)
            }
            Err(CallError::Internal(_)) => {
                let at = now + chrono(self.settings.retry_base);
                self.plug_lease(&plug, Some(at), plug.attempts, at, Utc::now())
                    .await
            }
        }
    }

    // ----- engagement ---------------------------------------------------------------------

    async fn poll(&self, connection_id: Uuid, now: DateTime<Utc>) -> Result<Outcome, WorkerError> {
        // Targets due now, plus those due within the minimum gap (one read serves them all).
        let horizon = now + chrono(self.settings.min_poll);
        let slot = self.slot().await;
        let watched = post_target::Entity::find()
            .filter(post_target::Column::ConnectionId.eq(connection_id))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .filter(post_target::Column::NextPollAt.is_not_null())
            .all(self.db())
            .await?;
        let (due, later): (Vec<_>, Vec<_>) = watched
            .into_iter()
            .partition(|t| t.next_poll_at.is_some_and(|at| at <= horizon));
        let next_later = later.iter().filter_map(|t| t.next_poll_at).min();
        if due.is_empty() {
            if let Some(at) = next_later {
                self.index_poll(connection_id, at).await;
            }
            return Ok(Outcome::Stale);
        }
        if let Some(wait) =
            polling::take_read(&self.stores.redis, connection_id, now, &self.settings).await?
        {
            self.index_poll(connection_id, now + chrono(wait)).await;
            return Ok(Outcome::Retry);
        }
        let workspace_id = due[0].workspace_id;
        let refs: Vec<PostRef> = due
            .iter()
            .filter_map(|t| t.platform_post_id.clone())
            .map(PostRef::id)
            .collect();
        drop(slot);
        let started = Utc::now();
        let result = self
            .call_with_refresh(connection_id, Op::Engagement(&refs))
            .await
            .and_then(Answer::counts);
        let _slot = self.slot().await;
        let counts = match result {
            Ok(counts) => counts,
            Err(err) => {
                let (at, error) = match err {
                    CallError::Network(err) => {
                        let at = match err.kind {
                            ErrorKind::RateLimited { retry_at } => {
                                retry_at.unwrap_or(now + chrono::Duration::minutes(5))
                            }
                            _ => now + chrono::Duration::minutes(5),
                        };
                        (at, Some(err))
                    }
                    // Disconnected or unusable: stop watching until it is fixed.
                    CallError::Connection(message) => {
                        tracing::info!(%connection_id, %message, "engagement not read");
                        return Ok(Outcome::Failed);
                    }
                    CallError::Internal(_) => (now + chrono::Duration::minutes(1), None),
                };
                self.index_poll(connection_id, at).await;
                self.write_job(
                    JobKind::Poll,
                    Outcome::Retry,
                    workspace_id,
                    (None, None, None),
                    1,
                    error.as_ref(),
                    started,
                )
                .await;
                return Ok(Outcome::Retry);
            }
        };
        let mut next_min = next_later;
        let mut fire = Vec::new();
        for target in &due {
            let seen = target
                .platform_post_id
                .as_ref()
                .and_then(|id| counts.iter().find(|e| &e.id == id))
                .map(|e| e.counts);
            let next = self.observe(target, seen, now, &mut fire).await?;
            if let Some(at) = next {
                next_min = Some(next_min.map_or(at, |m: DateTime<Utc>| m.min(at)));
            }
        }
        for plug_id in fire {
            self.index(Due::Plug(plug_id), now).await;
        }
        if let Some(at) = next_min {
            self.index_poll(connection_id, at).await;
        }
        self.write_job(
            JobKind::Poll,
            Outcome::Done,
            workspace_id,
            (None, None, None),
            1,
            None,
            started,
        )
        .await;
        Ok(Outcome::Done)
    }

    /// Stores one target's counts and snapshot, triggers its plugs that are met, and returns
    /// its next read.
    async fn observe(
        &self,
        target: &post_target::Model,
        seen: Option<Counts>,
        now: DateTime<Utc>,
        fire: &mut Vec<Uuid>,
    ) -> Result<Option<DateTime<Utc>>, WorkerError> {
        let previous = Counts {
            likes: target.like_count.unsigned_abs(),
            comments: target.comment_count.unsigned_abs(),
            reposts: target.repost_count.unsigned_abs(),
        };
        let counts = seen.unwrap_or(previous);
        let plugs = auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.eq(target.post_id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .all(self.db())
            .await?;
        let mut pending = Vec::new();
        for plug in plugs {
            let Some(value) = polling::metric(plug.trigger, &counts) else {
                continue;
            };
            let threshold = plug.trigger_value.unsigned_abs();
            if value >= threshold {
                if trigger_plug(self.db(), &plug, now).await?.is_some() {
                    tracing::info!(plug_id = %plug.id, value, threshold, "plug threshold met");
                    fire.push(plug.id);
                }
            } else {
                pending.push((plug.trigger, threshold));
            }
        }
        let next = polling::next_poll(
            &Observation {
                published_at: target.published_at.unwrap_or(now),
                now,
                counts,
                // Before the first read, the previous reading is nothing at publishing.
                previous: target
                    .last_polled_at
                    .or(target.published_at)
                    .map(|at| (previous, at)),
                pending,
            },
            &self.settings,
        );
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        post_target::Entity::update_many()
            .col_expr(
                post_target::Column::LikeCount,
                Expr::value(as_i64(counts.likes)),
            )
            .col_expr(
                post_target::Column::CommentCount,
                Expr::value(as_i64(counts.comments)),
            )
            .col_expr(
                post_target::Column::RepostCount,
                Expr::value(as_i64(counts.reposts)),
            )
            .col_expr(post_target::Column::LastPolledAt, Expr::value(Some(now)))
            .col_expr(post_target::Column::NextPollAt, Expr::value(next))
            .filter(post_target::Column::Id.eq(target.id))
            .filter(post_target::Column::State.eq(TargetState::Published))
            .exec(self.db())
            .await?;
        engagement_snapshot::ActiveModel {
            id: Set(Uuid::now_v7()),
            target_id: Set(target.id),
            observed_at: Set(now),
            like_count: Set(as_i64(counts.likes)),
            comment_count: Set(as_i64(counts.comments)),
            repost_count: Set(as_i64(counts.reposts)),
            impression_count: Set(target.impression_count),
        }
        .insert(self.db())
        .await?;
        Ok(next)
    }
}

/// Takes the post's row lock first, so two targets finishing at once see each other.
async fn lock_post(
    txn: &impl ConnectionTrait,
    post_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    post::Entity::update_many()
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(post_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Once no target of the post is still under way: PUBLISHED, PARTIALLY_PUBLISHED or FAILED,
/// with each failed network's reason; plugs on networks where nothing went out are skipped.
async fn finish_post(
    txn: &impl ConnectionTrait,
    post_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let targets = post_target::Entity::find()
        .filter(post_target::Column::PostId.eq(post_id))
        .all(txn)
        .await?;
    if targets.iter().any(|t| {
        matches!(
            t.state,
            TargetState::Pending | TargetState::Queued | TargetState::Publishing
        )
    }) {
        return Ok(());
    }
    let published: Vec<_> = targets
        .iter()
        .filter(|t| t.state == TargetState::Published)
        .collect();
    let failed: Vec<_> = targets
        .iter()
        .filter(|t| t.state == TargetState::Failed)
        .collect();
    let status = match (published.is_empty(), failed.is_empty()) {
        (false, true) => PostStatus::Published,
        (true, _) => PostStatus::Failed,
        (false, false) => PostStatus::PartiallyPublished,
    };
    let reason = (!failed.is_empty()).then(|| {
        failed
            .iter()
            .map(|t| t.fail_reason.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" · ")
    });
    let first = published.iter().filter_map(|t| t.published_at).min();
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(status))
        .col_expr(post::Column::PublishedAt, Expr::value(first))
        .col_expr(post::Column::FailReason, Expr::value(reason))
        .col_expr(
            post::Column::Version,
            Expr::col(post::Column::Version).add(1),
        )
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(post_id))
        .exec(txn)
        .await?;
    for target in failed {
        let any_out = published.iter().any(|p| p.platform == target.platform);
        if any_out {
            continue;
        }
        auto_plug::Entity::update_many()
            .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Skipped))
            .col_expr(
                auto_plug::Column::FailReason,
                Expr::value(Some(format!(
                    "Skipped: the post did not go out on {}.",
                    Platform::from(target.platform).display_name()
                ))),
            )
            .col_expr(
                auto_plug::Column::Version,
                Expr::col(auto_plug::Column::Version).add(1),
            )
            .col_expr(auto_plug::Column::UpdatedAt, Expr::value(now))
            .filter(auto_plug::Column::PostId.eq(post_id))
            .filter(auto_plug::Column::Platform.eq(target.platform))
            .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// `PENDING` → `FIRING` (no call yet): the trigger is met. `None` if someone else moved it.
async fn trigger_plug(
    db: &DatabaseConnection,
    plug: &auto_plug::Model,
    now: DateTime<Utc>,
) -> Result<Option<auto_plug::Model>, DbErr> {
    let changed = changed_plug(plug, now)
        .col_expr(auto_plug::Column::Status, Expr::value(PlugStatus::Firing))
        .col_expr(
            auto_plug::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(auto_plug::Column::Status.eq(PlugStatus::Pending))
        .exec(db)
        .await?;
    Ok((changed.rows_affected == 1).then(|| auto_plug::Model {
        status: PlugStatus::Firing,
        lease_until: None,
        version: plug.version + 1,
        ..plug.clone()
    }))
}

async fn end_plug(
    db: &DatabaseConnection,
    plug: &auto_plug::Model,
    status: PlugStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    changed_plug(plug, now)
        .col_expr(auto_plug::Column::Status, Expr::value(status))
        .col_expr(
            auto_plug::Column::FailReason,
            Expr::value(Some(reason.to_owned())),
        )
        .col_expr(
            auto_plug::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .exec(db)
        .await?;
    tracing::info!(plug_id = %plug.id, ?status, %reason, "plug ended without firing");
    Ok(())
}

async fn mark_invalid(db: &DatabaseConnection, connection_id: Uuid, message: &str) {
    let result = pc::Entity::update_many()
        .col_expr(pc::Column::IsValid, Expr::value(false))
        .col_expr(pc::Column::LastError, Expr::value(Some(message.to_owned())))
        .col_expr(pc::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(pc::Column::Id.eq(connection_id))
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, %connection_id, "could not mark the connection invalid");
    }
}

/// How long before an instant a sleeping publish measures the wall clock again.
const WALL_RECHECK: Duration = Duration::from_secs(1);

/// Sleeps until the wall-clock instant `at`. Tokio's timers run on the monotonic clock, so a
/// wall clock stepped while a post waits (NTP correcting it, a virtual machine resumed from a
/// pause) would move the wake-up by the step; waking a second early and measuring again puts
/// the call back on the instant the user chose, and a clock stepped back is slept out too.
async fn sleep_until_wall(at: DateTime<Utc>) {
    loop {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        if wait.is_zero() {
            return;
        }
        tokio::time::sleep(if wait > WALL_RECHECK {
            wait - WALL_RECHECK
        } else {
            wait
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints_ignore_spacing_and_rewritten_links() {
        assert_eq!(
            fingerprint("Launch day!\n\nTry it: https://example.com/x  now"),
            fingerprint("Launch day! Try it: https://t.co/abc123 now")
        );
        assert_ne!(fingerprint("Launch day!"), fingerprint("Launch day?"));
    }

    #[tokio::test]
    async fn a_waiting_publish_wakes_at_its_wall_clock_instant() {
        // Longer than the re-check, so the wait is taken in two parts.
        let at = chrono::Utc::now() + chrono::Duration::milliseconds(1_300);
        super::sleep_until_wall(at).await;
        let woke = chrono::Utc::now();
        assert!(
            woke >= at,
            "woke {} ms early",
            (at - woke).num_milliseconds()
        );
        assert!(
            // Loose: the test suite shares two cores; the fault caught is a wake-up a second off.
            woke - at < chrono::Duration::milliseconds(300),
            "woke {} ms late",
            (woke - at).num_milliseconds()
        );
        // An instant already past returns at once.
        let before = std::time::Instant::now();
        super::sleep_until_wall(woke - chrono::Duration::seconds(5)).await;
        assert!(before.elapsed() < std::time::Duration::from_millis(100));
    }
}
