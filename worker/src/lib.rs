//! OmniPlug's background worker as a library. `main.rs` reads configuration and calls
//! [`run`]; tests build a [`Worker`] and drive [`Worker::step`] directly.
//!
//! Built so far: start-up (migrations, consumer groups on the `publish` and `plug` streams),
//! a heartbeat that `/health` and the dashboard use to tell whether anything can publish, and
//! an hourly maintenance round (daily re-verification of connections, expiry notifications).
//! The publish, poll and plug handlers are not built yet.
#![forbid(unsafe_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use fred::{interfaces::StreamsInterface, prelude::Error as RedisError};
use omniplug_core::{
    Config, Stores, connections,
    queue::{PLUG_STREAM, PUBLISH_STREAM, QueueError, WORKER_GROUP},
    stores::StartupError,
};

/// How often the loop runs when there is nothing to do.
pub const TICK: Duration = Duration::from_secs(1);
/// How often the maintenance round runs (each connection is still checked once a day).
pub const MAINTENANCE_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// Why the worker stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Configuration, vault key, database or Redis set-up failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// A Redis operation failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
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
}

/// One worker process's state.
#[derive(Debug)]
pub struct Worker {
    stores: Stores,
    id: String,
    networks: connections::Networks,
    last_maintenance: std::sync::Mutex<Option<DateTime<Utc>>>,
}

impl Worker {
    /// Joins the consumer group on both streams (creating them if needed).
    pub async fn start(stores: Stores) -> Result<Self, WorkerError> {
        let id = format!("worker-{}", uuid::Uuid::new_v4().simple());
        for stream in [PUBLISH_STREAM, PLUG_STREAM] {
            let key = stores.redis.key(stream);
            let created: Result<String, RedisError> = stores
                .redis
                .client()
                .xgroup_create(&key, WORKER_GROUP, "$", true)
                .await;
            match created {
                Ok(_) => {
                    tracing::info!(stream = %key, group = WORKER_GROUP, "created consumer group")
                }
                // Another worker (or an earlier run) created it already.
                Err(err) if err.details().starts_with("BUSYGROUP") => {}
                Err(err) => return Err(err.into()),
            }
        }
        let networks = connections::Networks::from_config(&stores.config);
        Ok(Self {
            stores,
            id,
            networks,
            last_maintenance: std::sync::Mutex::new(None),
        })
    }

    /// This worker's consumer name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Does one round of work as of `now`.
    #[tracing::instrument(skip_all, fields(worker = %self.id))]
    pub async fn step(&self, now: DateTime<Utc>) -> Result<StepReport, WorkerError> {
        self.stores
            .redis
            .worker_heartbeat(&self.id, now.timestamp())
            .await?;
        metrics::counter!("omniplug_worker_ticks_total").increment(1);
        let due = {
            let mut last = self
                .last_maintenance
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|at| now - at >= MAINTENANCE_EVERY);
            if due {
                *last = Some(now);
            }
            due
        };
        let maintenance = if due {
            match connections::daily_checks(
                &self.stores.db,
                &self.stores.vault,
                &self.networks,
                now,
            )
            .await
            {
                Ok(report) => {
                    tracing::info!(?report, "maintenance round done");
                    Some(report)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "maintenance round failed; next one in an hour");
                    None
                }
            }
        } else {
            None
        };
        Ok(StepReport {
            heartbeat: true,
            maintenance,
        })
    }

    /// Leaves cleanly: removes the heartbeat so `/health` stops counting this worker at once.
    pub async fn stop(&self) -> Result<(), WorkerError> {
        self.stores.redis.worker_gone(&self.id).await?;
        Ok(())
    }

    /// Steps every [`TICK`] until `shutdown` completes. A failing step is logged and retried
    /// on the next tick (Redis restarts must not kill the worker).
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticker.tick() => {
                    if let Err(err) = self.step(Utc::now()).await {
                        tracing::warn!(error = %err, "worker step failed; retrying next tick");
                    }
                }
            }
        }
        if let Err(err) = self.stop().await {
            tracing::warn!(error = %err, "could not remove heartbeat on shutdown");
        }
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
