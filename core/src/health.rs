//! Liveness of the two stores OmniPlug cannot work without, as reported by `GET /health`.

use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::queue::Redis;

/// How long each check may take before the store is reported down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Answered in time.
    Up,
    /// Failed or did not answer in time.
    Down,
}

/// The result of checking one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Up or down.
    pub status: CheckStatus,
    /// Round-trip time of the check.
    pub latency_ms: u64,
    /// Why it is down, in a few words (details go to the log, not to the public endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `ok` when every store is up, otherwise `degraded`.
    pub status: String,
    /// The SQL database.
    pub database: Check,
    /// Redis.
    pub redis: Check,
    /// Workers that sent a heartbeat in the last 30 s (absent when Redis is down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u64>,
}

impl HealthReport {
    /// Whether everything the product needs is up.
    pub fn is_healthy(&self) -> bool {
        self.database.status == CheckStatus::Up && self.redis.status == CheckStatus::Up
    }
}

/// Checks the database and Redis concurrently.
pub async fn check(db: &DatabaseConnection, redis: &Redis) -> HealthReport {
    let (database, redis_check) = tokio::join!(check_database(db), check_redis(redis));
    let workers = if redis_check.status == CheckStatus::Up {
        redis
            .live_workers(chrono::Utc::now().timestamp())
            .await
            .ok()
    } else {
        None
    };
    let healthy = database.status == CheckStatus::Up && redis_check.status == CheckStatus::Up;
    HealthReport {
        status: if healthy { "ok" } else { "degraded" }.to_owned(),
        database,
        redis: redis_check,
        workers,
    }
}

async fn check_database(db: &DatabaseConnection) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, db.ping()).await;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database health check failed");
            Some("database unreachable".to_owned())
        }
        Err(_) => Some(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
    };
    finish(started, error)
}

async fn check_redis(redis: &Redis) -> Check {
    let started = Instant::now();
    let error = match redis.ping(CHECK_TIMEOUT).await {
        Ok(()) => None,
        Err(err) => {
            tracing::warn!(error = %err, "redis health check failed");
            Some(match err {
                crate::queue::QueueError::Timeout(t) => {
                    format!("no answer within {} ms", t.as_millis())
                }
                _ => "redis unreachable".to_owned(),
            })
        }
    };
    finish(started, error)
}

fn finish(started: Instant, error: Option<String>) -> Check {
    Check {
        status: if error.is_none() {
            CheckStatus::Up
        } else {
            CheckStatus::Down
        },
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error,
    }
}
