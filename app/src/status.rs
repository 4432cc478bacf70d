//! The system status the dashboard shows, so nobody has to wonder whether posts can go out.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether the pieces that publish posts are running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// The database answered.
    pub database_up: bool,
    /// Redis (the work queue) answered.
    pub redis_up: bool,
    /// Workers with a recent heartbeat; `None` when Redis could not be asked.
    pub workers: Option<u64>,
}

impl SystemStatus {
    /// One sentence for people, naming what is wrong.
    pub fn summary(&self) -> String {
        match (self.database_up, self.redis_up, self.workers) {
            (false, _, _) => {
                "The database is not answering. Nothing can be saved or published.".into()
            }
            (true, false, _) => {
                "The work queue (Redis) is down. Scheduled posts will wait until it is back.".into()
            }
            (true, true, Some(0) | None) => {
                "No worker is running. Scheduled posts will not go out until one starts.".into()
            }
            (true, true, Some(1)) => "All systems go: 1 worker is publishing.".into(),
            (true, true, Some(n)) => format!("All systems go: {n} workers are publishing."),
        }
    }

    /// Whether everything needed to publish is up.
    pub fn all_good(&self) -> bool {
        self.database_up && self.redis_up && self.workers.is_some_and(|n| n > 0)
    }
}

/// Checks the database, Redis and live workers.
#[server(endpoint = "system_status")]
pub async fn get_system_status() -> Result<SystemStatus, ServerFnError> {
    let stores = use_context::<omniplug_core::Stores>()
        .ok_or_else(|| ServerFnError::new("server is missing its stores"))?;
    let report = omniplug_core::health::check(&stores.db, &stores.redis).await;
    Ok(SystemStatus {
        database_up: report.database.status == omniplug_core::health::CheckStatus::Up,
        redis_up: report.redis.status == omniplug_core::health::CheckStatus::Up,
        workers: report.workers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_first_thing_that_is_wrong() {
        let all = SystemStatus {
            database_up: true,
            redis_up: true,
            workers: Some(2),
        };
        assert!(all.all_good());
        assert!(all.summary().contains("2 workers"));
        let no_worker = SystemStatus {
            workers: Some(0),
            ..all.clone()
        };
        assert!(!no_worker.all_good());
        assert!(no_worker.summary().contains("No worker"));
        let no_redis = SystemStatus {
            redis_up: false,
            workers: None,
            ..all.clone()
        };
        assert!(no_redis.summary().contains("Redis"));
        let no_db = SystemStatus {
            database_up: false,
            ..all
        };
        assert!(no_db.summary().contains("database"));
    }
}
