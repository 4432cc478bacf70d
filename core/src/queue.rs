//! The Redis connection that carries work between the server and workers.
//!
//! Every key goes through [`Redis::key`], which prefixes it with `REDIS_PREFIX`, so several
//! deployments, or many tests in parallel, share one Redis without seeing each other's keys.

use std::time::Duration;

use fred::{
    clients::Client,
    interfaces::{ClientLike, SortedSetsInterface},
    prelude::{Builder, Config as FredConfig, ReconnectPolicy},
};

use crate::config::Config;

/// The stream the scheduler feeds with due targets.
pub const PUBLISH_STREAM: &str = "stream:publish";
/// The stream of plugs whose trigger has been met (or whose time has come).
pub const PLUG_STREAM: &str = "stream:plug";
/// The stream of connections whose engagement is due for a read.
pub const POLL_STREAM: &str = "stream:poll";
/// Every stream the workers consume.
pub const STREAMS: [&str; 3] = [PUBLISH_STREAM, PLUG_STREAM, POLL_STREAM];
/// The consumer group every worker joins.
pub const WORKER_GROUP: &str = "workers";
/// Sorted set of worker ids scored by the unix time of their last heartbeat.
pub const WORKERS_KEY: &str = "workers";
/// A worker that has not beaten for this long is considered gone.
pub const WORKER_STALE_AFTER: Duration = Duration::from_secs(30);

/// The longest any single Redis command may wait (including while reconnecting).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The URL or client options were rejected.
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    /// No answer within the allowed time (Redis down or unreachable).
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered with an error.
    #[error("Redis error: {0}")]
    Command(#[from] fred::error::Error),
}

/// A shared, cheaply cloneable Redis client with OmniPlug's key prefix.
#[derive(Clone)]
pub struct Redis {
    client: Client,
    prefix: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Builds the client and starts connecting in the background. It reconnects by itself
    /// (exponential backoff up to 5 s), so a Redis that is down at start-up or restarts later
    /// is picked up without restarting OmniPlug; meanwhile `/health` reports it down.
    pub fn connect(config: &Config) -> Result<Self, QueueError> {
        let fred_config = FredConfig::from_url(config.redis_url.expose())
            .map_err(|err| QueueError::Config(err.to_string()))?;
        let client = Builder::from_config(fred_config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
            })
            // Without this, commands wait forever while Redis is down (fred's default is no
            // timeout), and a request that touches Redis would hang instead of degrading.
            .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
            // 0 = retry forever; 100 ms doubling to 5 s.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .build()
            .map_err(|err| QueueError::Config(err.to_string()))?;
        // The handle ends when the client quits; reconnection happens inside it.
        drop(client.connect());
        Ok(Self {
            client,
            prefix: config.redis_prefix.clone(),
        })
    }

    /// The full key for a logical name: `<prefix>:<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The underlying client, for queue operations in the worker.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until the first connection is up, or gives up after `timeout`.
    pub async fn wait_until_connected(&self, timeout: Duration) -> Result<(), QueueError> {
        tokio::time::timeout(timeout, self.client.wait_for_connect())
            .await
            .map_err(|_| QueueError::Timeout(timeout))?
            .map_err(QueueError::from)
    }

    /// Round-trips a PING within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), QueueError> {
        let pong: String = tokio::time::timeout(timeout, self.client.ping(None))
            .await
            .map_err(|_| QueueError::Timeout(timeout))??;
        debug_assert_eq!(pong, "PONG");
        Ok(())
    }

    /// Records that worker `id` is alive now.
    pub async fn worker_heartbeat(&self, id: &str, now_unix: i64) -> Result<(), QueueError> {
        let key = self.key(WORKERS_KEY);
        let _: i64 = self
            .client
            .zadd(&key, None, None, false, false, (now_unix as f64, id))
            .await?;
        // Forget workers that stopped long ago so the set stays small.
        let cutoff = now_unix - 10 * WORKER_STALE_AFTER.as_secs() as i64;
        let _: i64 = self
            .client
            .zremrangebyscore(&key, f64::NEG_INFINITY, cutoff as f64)
            .await?;
        Ok(())
    }

    /// How many workers have sent a heartbeat recently.
    pub async fn live_workers(&self, now_unix: i64) -> Result<u64, QueueError> {
        let since = now_unix - WORKER_STALE_AFTER.as_secs() as i64;
        let count: u64 = self
            .client
            .zcount(self.key(WORKERS_KEY), since as f64, f64::INFINITY)
            .await?;
        Ok(count)
    }

    /// Removes a worker's heartbeat on clean shutdown.
    pub async fn worker_gone(&self, id: &str) -> Result<(), QueueError> {
        let _: i64 = self.client.zrem(self.key(WORKERS_KEY), id).await?;
        Ok(())
    }
}
