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

mod engagement;
mod plugs;
mod publish;
mod settle;
mod transitions;

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

use transitions::*;

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
