//! OmniPlug's background worker as a library. `main.rs` reads configuration and calls
//! [`run`]; tests build a [`Worker`] and either drive [`Worker::step`] by hand (with any
//! clock) or let [`Worker::run_until`] work in real time.
//!
//! A worker process runs four loops:
//! - the **mover** hands due entries from the Redis due index to the streams (atomically, by a
//!   Lua script), a little ahead of time for publishes;
//! - the **consumer** reads the `publish`, `plug` and `poll` streams in the shared consumer
//!   group and runs each entry's handler ([`engine::Engine`]), acknowledging it only after the
//!   handler's database commit;
//! - the **reclaimer** takes over entries a dead consumer left unacknowledged (`XAUTOCLAIM`
//!   after the lease);
//! - **housekeeping**: heartbeat, the sweep that re-indexes the next minutes of work from the
//!   database, the hourly connection checks, and the stream-depth gauges.
//!
//! At start-up, and whenever Redis has lost the index, the index is rebuilt from the database.
#![forbid(unsafe_code)]

pub mod engine;
pub mod polling;
pub mod settings;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use fred::{
    interfaces::{KeysInterface, SortedSetsInterface, StreamsInterface},
    prelude::Error as RedisError,
    types::{Expiration, SetOptions},
};
use omniplug_core::{
    Config, Stores, connections,
    entities::{post, post_target},
    queue::{QueueError, STREAMS, WORKER_GROUP},
    schedule::{self, Due, Moved},
    stores::StartupError,
};
use sea_orm::prelude::Uuid;
use tokio::sync::{Notify, Semaphore};

pub use engine::{Engine, Outcome};
pub use settings::Settings;

/// How often housekeeping runs.
pub const TICK: Duration = Duration::from_secs(1);
/// How often the maintenance round runs (each connection is still checked once a day).
pub const MAINTENANCE_EVERY: chrono::Duration = chrono::Duration::hours(1);
/// The mover never sleeps longer than this (new work may arrive at any moment).
const MOVER_NAP: Duration = Duration::from_millis(20);
/// Entries read or moved per round.
const BATCH: u32 = 1000;
/// A publish claimed with [`Engine::claim_publishes`]: the post and its claimed target.
type Ready = (post::Model, post_target::Model);

/// Why the worker stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Configuration, vault key, database or Redis set-up failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// A Redis operation failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A database operation failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Rebuilding the due index failed.
    #[error(transparent)]
    Rebuild(#[from] schedule::RebuildError),
}

impl From<RedisError> for WorkerError {
    fn from(err: RedisError) -> Self {
        Self::Queue(QueueError::Command(err))
    }
}

/// What one [`Worker::step`] did, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepReport {
    /// The heartbeat was recorded.
    pub heartbeat: bool,
    /// The maintenance round, when this step ran it.
    pub maintenance: Option<connections::MaintenanceReport>,
    /// Entries moved from the due index to the streams.
    pub moved: u64,
    /// Entries handled (read or reclaimed), by outcome.
    pub done: u32,
    /// Entries that found nothing to do.
    pub stale: u32,
    /// Entries that failed for now and were re-indexed.
    pub retried: u32,
    /// Entries that failed for good.
    pub failed: u32,
}

impl StepReport {
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Done => self.done += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Retry => self.retried += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// One entry read from a stream.
#[derive(Debug, Clone)]
struct Entry {
    stream: &'static str,
    id: String,
    due: Option<Due>,
}

/// One worker process's state.
#[derive(Debug, Clone)]
pub struct Worker {
    engine: Engine,
    id: String,
    last_maintenance: Arc<std::sync::Mutex<Option<DateTime<Utc>>>>,
    moved: Arc<Notify>,
    handlers: Arc<Semaphore>,
}

impl Worker {
    /// Joins the consumer groups with the settings from the environment.
    pub async fn start(stores: Stores) -> Result<Self, WorkerError> {
        Self::start_with(stores, Settings::from_env()).await
    }

    /// Joins the consumer group on every stream (creating them if needed) and rebuilds the due
    /// index from the database.
    pub async fn start_with(stores: Stores, settings: Settings) -> Result<Self, WorkerError> {
        let id = format!("worker-{}", uuid::Uuid::new_v4().simple());
        let handlers = Arc::new(Semaphore::new(settings.max_handlers));
        let worker = Self {
            engine: Engine::new(stores, settings),
            id,
            last_maintenance: Arc::default(),
            moved: Arc::default(),
            handlers,
        };
        worker.ensure_groups().await?;
        let indexed = worker.rebuild(Utc::now()).await?;
        tracing::info!(indexed, "due index rebuilt from the database");
        Ok(worker)
    }

    fn stores(&self) -> &Stores {
        &self.engine.stores
    }

    /// The handlers.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// This worker's consumer name.
    pub fn id(&self) -> &str {
        &self.id
    }

    async fn ensure_groups(&self) -> Result<(), WorkerError> {
        for stream in STREAMS {
            let key = self.stores().redis.key(stream);
            let created: Result<String, RedisError> = self
                .stores()
                .redis
                .client()
                .xgroup_create(&key, WORKER_GROUP, "0", true)
                .await;
            match created {
                Ok(_) => {
                    tracing::info!(stream = %key, group = WORKER_GROUP, "created consumer group");
                }
                // Another worker (or an earlier run) created it already.
                Err(err) if err.details().starts_with("BUSYGROUP") => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Re-indexes all pending work from the database.
    pub async fn rebuild(&self, now: DateTime<Utc>) -> Result<usize, WorkerError> {
        Ok(schedule::rebuild(&self.stores().db, &self.stores().redis, now, None).await?)
    }

    /// Moves into the streams the publishes due by `publish_until` and the plugs and polls
    /// due by `now`; rebuilds first if Redis lost the index. Returns how many moved and when
    /// (ms, on `now`'s clock) the next entry becomes movable.
    pub async fn move_due(
        &self,
        publish_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(u64, Option<i64>), WorkerError> {
        let mut total = 0;
        loop {
            match schedule::move_due(&self.stores().redis, publish_until, now, BATCH).await? {
                Moved::IndexMissing => {
                    tracing::warn!("the due index is gone (Redis restarted empty?); rebuilding");
                    self.ensure_groups().await?;
                    let indexed = self.rebuild(Utc::now()).await?;
                    tracing::info!(indexed, "due index rebuilt");
                }
                Moved::Moved { count, next } => {
                    total += count;
                    if count > 0 {
                        self.moved.notify_waiters();
                    }
                    if count < u64::from(BATCH) {
                        return Ok((total, next));
                    }
                }
            }
        }
    }

    async fn read(&self, count: u32) -> Result<Vec<Entry>, WorkerError> {
        let keys: Vec<String> = STREAMS.iter().map(|s| self.stores().redis.key(s)).collect();
        // Parsed by hand: an empty read answers nil, which fred's map conversion refuses.
        let response: Result<fred::types::Value, RedisError> = self
            .stores()
            .redis
            .client()
            .xreadgroup(
                WORKER_GROUP,
                &self.id,
                Some(u64::from(count)),
                None,
                false,
                keys,
                vec![">"; STREAMS.len()],
            )
            .await;
        let response = match response {
            Ok(response) => response,
            Err(err) if err.details().starts_with("NOGROUP") => {
                self.ensure_groups().await?;
                return Ok(Vec::new());
            }
            Err(err) => return Err(err.into()),
        };
        let mut entries = Vec::new();
        for (key, items) in read_entries(response) {
            let Some(stream) = STREAMS
                .into_iter()
                .find(|s| self.stores().redis.key(s) == key)
            else {
                continue;
            };
            entries.extend(items.into_iter().map(|(id, member)| Entry {
                stream,
                id,
                due: member.as_deref().and_then(Due::parse),
            }));
        }
        Ok(entries)
    }

    async fn reclaim(&self) -> Result<Vec<Entry>, WorkerError> {
        let idle = u64::try_from(self.engine.settings.lease.as_millis()).unwrap_or(u64::MAX);
        let mut entries = Vec::new();
        for stream in STREAMS {
            let key = self.stores().redis.key(stream);
            // Parsed by hand: Redis 7 answers `[cursor, entries, deleted ids]`.
            let claimed: Result<fred::types::Value, RedisError> = self
                .stores()
                .redis
                .client()
                .xautoclaim(&key, WORKER_GROUP, &self.id, idle, "0-0", Some(100), false)
                .await;
            match claimed {
                Ok(value) => {
                    let items = claimed_entries(value);
                    if !items.is_empty() {
                        tracing::info!(
                            stream,
                            count = items.len(),
                            "reclaimed entries of a stalled consumer"
                        );
                    }
                    entries.extend(items.into_iter().map(|(id, member)| Entry {
                        stream,
                        id,
                        due: member.as_deref().and_then(Due::parse),
                    }));
                }
                Err(err) if err.details().starts_with("NOGROUP") => self.ensure_groups().await?,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(entries)
    }

    /// Pairs each entry with its claim when [`Engine::claim_publishes`] could claim it in
    /// one go with the others (a burst of publishes); the rest are handled one by one.
    async fn prepare(
        &self,
        entries: Vec<Entry>,
        now: DateTime<Utc>,
    ) -> Vec<(Entry, Option<Ready>)> {
        let publishes: Vec<Uuid> = entries
            .iter()
            .filter_map(|e| match e.due {
                Some(Due::Publish(id)) => Some(id),
                _ => None,
            })
            .collect();
        let mut ready: HashMap<Uuid, Ready> =
            match self.engine.claim_publishes(&publishes, now).await {
                Ok(claimed) => claimed.into_iter().map(|(p, t)| (t.id, (p, t))).collect(),
                Err(err) => {
                    tracing::warn!(error = %err, "claiming a batch failed; handling one by one");
                    HashMap::new()
                }
            };
        entries
            .into_iter()
            .map(|entry| {
                let claim = match entry.due {
                    Some(Due::Publish(id)) => ready.remove(&id),
                    _ => None,
                };
                (entry, claim)
            })
            .collect()
    }

    /// Runs an entry's handler (or publishes its claimed target); acknowledges (and deletes)
    /// the entry once the handler has committed. A handler error leaves it unacknowledged, to
    /// be reclaimed after the lease.
    async fn process(
        &self,
        entry: Entry,
        ready: Option<Ready>,
        now: DateTime<Utc>,
    ) -> Option<Outcome> {
        let handled = match (ready, entry.due) {
            (Some((post, target)), _) => Some(self.engine.publish_ready(post, target).await),
            (None, Some(due)) => Some(self.engine.handle(due, now).await),
            (None, None) => None,
        };
        let outcome = match handled {
            Some(Ok(outcome)) => Some(outcome),
            Some(Err(err)) => {
                tracing::warn!(error = %err, due = ?entry.due, "handler failed; the entry will be reclaimed");
                return None;
            }
            None => {
                tracing::warn!(id = %entry.id, "unreadable stream entry dropped");
                None
            }
        };
        let redis = &self.stores().redis;
        let key = redis.key(entry.stream);
        let acked: Result<i64, RedisError> = redis
            .client()
            .xack(&key, WORKER_GROUP, entry.id.as_str())
            .await;
        match acked {
            Ok(_) => {
                let _: Result<i64, RedisError> = redis.client().xdel(&key, entry.id.as_str()).await;
            }
            Err(err) => tracing::warn!(error = %err, "could not acknowledge an entry"),
        }
        outcome
    }

    fn maintenance_due(&self, now: DateTime<Utc>) -> bool {
        let mut last = self
            .last_maintenance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.is_none_or(|at| now - at >= MAINTENANCE_EVERY);
        if due {
            *last = Some(now);
        }
        due
    }

    /// Heartbeat and, once an hour across all workers, the connection checks.
    async fn housekeeping(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<connections::MaintenanceReport>, WorkerError> {
        let redis = &self.stores().redis;
        redis.worker_heartbeat(&self.id, now.timestamp()).await?;
        metrics::counter!("omniplug_worker_ticks_total").increment(1);
        if !self.maintenance_due(now) {
            return Ok(None);
        }
        // One round per hour among all workers: the first to take this hour's key runs it.
        let hour = now.timestamp() / 3600;
        let taken: Option<String> = redis
            .client()
            .set(
                redis.key(&format!("maintenance:{hour}")),
                self.id.as_str(),
                Some(Expiration::EX(2 * 3600)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        if taken.is_none() {
            return Ok(None);
        }
        let stores = self.stores();
        match connections::daily_checks(&stores.db, &stores.vault, &self.engine.networks, now).await
        {
            Ok(report) => {
                tracing::info!(?report, "maintenance round done");
                Ok(Some(report))
            }
            Err(err) => {
                tracing::warn!(error = %err, "maintenance round failed; next one in an hour");
                Ok(None)
            }
        }
    }

    /// Does one round of everything as of `now`, one entry at a time: heartbeat, maintenance,
    /// moving what is due by `now`, reclaiming, and handling every entry available.
    #[tracing::instrument(skip_all, fields(worker = %self.id))]
    pub async fn step(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        let mut report = StepReport {
            heartbeat: true,
            maintenance: self.housekeeping(now).await?,
            ..StepReport::default()
        };
        report.moved = self.move_due(now, now).await?.0;
        let mut entries = self.reclaim().await?;
        loop {
            entries.extend(self.read(BATCH).await?);
            if entries.is_empty() {
                break;
            }
            for (entry, ready) in self.prepare(std::mem::take(&mut entries), now).await {
                if let Some(outcome) = self.process(entry, ready, now).await {
                    report.count(outcome);
                }
            }
            // Handlers may have made new work due already (a threshold met, a retry).
            report.moved += self.move_due(now, now).await?.0;
        }
        Ok(report)
    }

    /// Leaves cleanly: removes the heartbeat so `/health` stops counting this worker at once.
    pub async fn stop(&self) -> Result<(), WorkerError> {
        self.stores().redis.worker_gone(&self.id).await?;
        Ok(())
    }

    /// How far ahead to hand out publishes (plugs and polls go at their time): the prefetch,
    /// or the busy prefetch when that much time holds over `busy_entries` publishes (everyone
    /// posting at 09:00), so claiming them all is done before their instant instead of after.
    async fn lookahead(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let normal =
            now + chrono::Duration::from_std(self.engine.settings.prefetch).unwrap_or_default();
        let busy = now
            + chrono::Duration::from_std(self.engine.settings.busy_prefetch).unwrap_or_default();
        let redis = &self.stores().redis;
        #[allow(clippy::cast_precision_loss)]
        let ahead: Result<u64, RedisError> = redis
            .client()
            .zcount(
                redis.key(schedule::DUE_KEY),
                normal.timestamp_millis() as f64,
                busy.timestamp_millis() as f64,
            )
            .await;
        match ahead {
            Ok(count) if count >= self.engine.settings.busy_entries => busy,
            _ => normal,
        }
    }

    async fn mover_loop(&self) {
        loop {
            let now = Utc::now();
            let until = self.lookahead(now).await;
            let nap = match self.move_due(until, now).await {
                Ok((_, Some(next))) => {
                    let wait = next - now.timestamp_millis();
                    Duration::from_millis(u64::try_from(wait).unwrap_or(0)).min(MOVER_NAP)
                }
                Ok((_, None)) => MOVER_NAP,
                Err(err) => {
                    tracing::warn!(error = %err, "mover failed; retrying in a second");
                    Duration::from_secs(1)
                }
            };
            tokio::time::sleep(nap).await;
        }
    }

    async fn spawn_all(&self, entries: Vec<Entry>) {
        for (entry, ready) in self.prepare(entries, Utc::now()).await {
            let Ok(permit) = self.handlers.clone().acquire_owned().await else {
                return;
            };
            let worker = self.clone();
            tokio::spawn(async move {
                worker.process(entry, ready, Utc::now()).await;
                drop(permit);
            });
        }
    }

    async fn consumer_loop(&self) {
        loop {
            match self.read(BATCH).await {
                Ok(entries) if !entries.is_empty() => self.spawn_all(entries).await,
                Ok(_) => {
                    // Woken at once when this process moved something; other workers' moves
                    // are seen within the nap.
                    let _ = tokio::time::timeout(MOVER_NAP, self.moved.notified()).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the streams failed; retrying in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn reclaim_loop(&self) {
        let every = (self.engine.settings.lease / 4).max(Duration::from_millis(250));
        loop {
            tokio::time::sleep(every).await;
            match self.reclaim().await {
                Ok(entries) => self.spawn_all(entries).await,
                Err(err) => tracing::warn!(error = %err, "reclaiming failed"),
            }
        }
    }

    async fn housekeeping_loop(&self) {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = Utc::now();
        loop {
            ticker.tick().await;
            let now = Utc::now();
            if let Err(err) = self.housekeeping(now).await {
                tracing::warn!(error = %err, "housekeeping failed; retrying next tick");
            }
            if (now - last_sweep).to_std().unwrap_or_default() >= self.engine.settings.sweep_every {
                last_sweep = now;
                let stores = self.stores();
                match schedule::rebuild(&stores.db, &stores.redis, now, Some(schedule::SWEEP_AHEAD))
                    .await
                {
                    Ok(n) => tracing::debug!(entries = n, "sweep re-indexed the next minutes"),
                    Err(err) => tracing::warn!(error = %err, "sweep failed"),
                }
            }
            self.record_depths().await;
        }
    }

    async fn record_depths(&self) {
        let redis = &self.stores().redis;
        for stream in STREAMS {
            let len: Result<u64, RedisError> = redis.client().xlen(redis.key(stream)).await;
            if let Ok(len) = len {
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!("omniplug_stream_depth", "stream" => stream).set(len as f64);
            }
        }
        if let Ok(due) = schedule::len(redis).await {
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!("omniplug_due_index_size").set(due as f64);
        }
    }

    /// Works in real time until `shutdown` completes; then stops taking work, gives work in
    /// flight up to the grace period to finish, and leaves the rest to be reclaimed.
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) {
        let loops = [
            tokio::spawn({
                let w = self.clone();
                async move { w.mover_loop().await }
            }),
            tokio::spawn({
                let w = self.clone();
                async move { w.consumer_loop().await }
            }),
            tokio::spawn({
                let w = self.clone();
                async move { w.reclaim_loop().await }
            }),
            tokio::spawn({
                let w = self.clone();
                async move { w.housekeeping_loop().await }
            }),
        ];
        shutdown.await;
        tracing::info!("stopping: no new work; finishing what is in flight");
        for task in &loops {
            task.abort();
        }
        let all = u32::try_from(self.engine.settings.max_handlers).unwrap_or(u32::MAX);
        let grace = self.engine.settings.shutdown_grace;
        match tokio::time::timeout(grace, self.handlers.acquire_many(all)).await {
            Ok(_) => tracing::info!("in-flight work finished"),
            Err(_) => tracing::warn!(
                grace_s = grace.as_secs(),
                "work still in flight after the grace period; it will be reclaimed"
            ),
        }
        if let Err(err) = self.stop().await {
            tracing::warn!(error = %err, "could not remove heartbeat on shutdown");
        }
    }
}

/// An entry's id and its `m` field.
type RawEntry = (String, Option<String>);

/// `(stream key, entries)` of an `XREADGROUP` answer (RESP2 arrays or RESP3 maps).
fn read_entries(value: fred::types::Value) -> Vec<(String, Vec<RawEntry>)> {
    use fred::types::Value;
    let pairs: Vec<(Value, Value)> = match value {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(kv) if kv.len() == 2 => {
                    let mut kv = kv.into_iter();
                    Some((kv.next()?, kv.next()?))
                }
                _ => None,
            })
            .collect(),
        Value::Map(map) => map
            .inner()
            .into_iter()
            .map(|(k, v)| (Value::String(k.as_str().unwrap_or_default().into()), v))
            .collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(key, entries)| Some((key.as_string()?, entry_list(entries))))
        .collect()
}

/// `(id, member)` of each entry in an `XAUTOCLAIM` answer.
fn claimed_entries(value: fred::types::Value) -> Vec<(String, Option<String>)> {
    use fred::types::Value;
    let Value::Array(parts) = value else {
        return Vec::new();
    };
    parts.into_iter().nth(1).map(entry_list).unwrap_or_default()
}

/// `[[id, [field, value, …]], …]` → `(id, value of field "m")`.
fn entry_list(entries: fred::types::Value) -> Vec<(String, Option<String>)> {
    use fred::types::Value;
    let Value::Array(entries) = entries else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let Value::Array(pair) = entry else {
                return None;
            };
            let mut pair = pair.into_iter();
            let id = pair.next()?.as_string()?;
            let member = match pair.next() {
                Some(Value::Array(fields)) => fields
                    .chunks(2)
                    .find(|kv| kv[0].as_str().as_deref() == Some("m"))
                    .and_then(|kv| kv.get(1))
                    .and_then(Value::as_string),
                _ => None,
            };
            Some((id, member))
        })
        .collect()
}

/// Process settings for a worker, applied in `main` once logging is set up (and by the
/// benchmark, so its numbers are the binary's): transparent huge pages off for this process.
///
/// The kernel here backs memory a process asked to be huge (`madvise`, which the allocator
/// does for its arenas) with 2 MiB pages, zeroing each in full at its first touch. The
/// allocator hands memory back to the kernel a second after it is freed, so a burst that
/// follows a quiet spell (everyone's 09:00 posts, claimed 20 s earlier) faults its buffers
/// back in 2 MiB at a time: zeroing pages took 6.6 % of the 10,000-post burst's CPU with huge
/// pages and 2.0 % without (`perf record -a -g` over `scripts/bench.sh sqlite burst`); in
/// paired runs the burst's p99 lateness was 2–5 % lower. Redis and most databases advise the
/// same for latency. Does nothing off Linux; a refusal is logged and ignored.
pub fn tune_process() {
    #[cfg(target_os = "linux")]
    if let Err(err) = nix::sys::prctl::set_thp_disable(true) {
        tracing::debug!(error = %err, "could not turn transparent huge pages off");
    }
}

/// Opens the stores, waits for Redis, and works until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), WorkerError> {
    let stores = Stores::open(config).await?;
    let mut waited = Duration::ZERO;
    while let Err(err) = stores
        .redis
        .wait_until_connected(Duration::from_secs(5))
        .await
    {
        waited += Duration::from_secs(5);
        tracing::warn!(error = %err, waited_s = waited.as_secs(), "waiting for Redis");
    }
    let worker = Worker::start(stores).await?;
    tracing::info!(worker = worker.id(), "worker started");
    worker.run_until(omniplug_core::shutdown::signal()).await;
    tracing::info!("worker stopped");
    Ok(())
}
