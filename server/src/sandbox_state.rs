//! The hosted Sandbox's state kept in Redis, so a server restart loses neither the simulated
//! accounts (their connections keep working) nor their posts. Restored once Redis is up (the
//! Sandbox answers only after that, or after five seconds without Redis), then saved whenever
//! it changed, every half second.

use std::time::Duration;

use fred::interfaces::KeysInterface;
use omniplug_core::queue::Redis;
use omniplug_platforms::sandbox::HostedSandbox;

/// How often a changed state is saved.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// Restores the kept state, then keeps saving it; runs for the life of the process. Nothing
/// is saved until the kept state has been read (or found absent): a start without Redis must
/// not overwrite what an earlier run kept with an empty Sandbox.
pub async fn keep(hosted: HostedSandbox, redis: Redis) {
    let key = redis.key("sandbox:state");
    let mut restored = false;
    if redis
        .wait_until_connected(Duration::from_secs(5))
        .await
        .is_ok()
    {
        restored = restore(&hosted, &redis, &key).await;
    } else {
        tracing::warn!("Redis not reachable: the Sandbox starts empty and restores when it is");
    }
    hosted.open();
    let mut tick = tokio::time::interval(SAVE_EVERY);
    loop {
        tick.tick().await;
        if !restored {
            // Merging late is safe: what happened since starting stays.
            restored = restore(&hosted, &redis, &key).await;
            continue;
        }
        if let Some(state) = hosted.changed_state() {
            let saved: Result<(), _> = redis.client().set(&key, state, None, None, false).await;
            if let Err(err) = saved {
                tracing::warn!(error = %err, "Sandbox state not saved; trying again");
                hosted.unsaved();
            }
        }
    }
}

/// Reads the kept state into `hosted`; false when Redis could not be read (try again later).
/// A kept state this version cannot read is set aside under `<key>:unreadable`, not lost.
async fn restore(hosted: &HostedSandbox, redis: &Redis, key: &str) -> bool {
    match redis.client().get::<Option<String>, _>(key).await {
        Ok(Some(state)) => {
            match hosted.restore(&state) {
                Ok(()) => tracing::info!("Sandbox state restored"),
                Err(err) => {
                    tracing::warn!(error = %err, "kept Sandbox state unreadable; set aside");
                    let aside = format!("{key}:unreadable");
                    let _: Result<(), _> = redis.client().rename(key, aside).await;
                }
            }
            true
        }
        Ok(None) => true,
        Err(err) => {
            tracing::warn!(error = %err, "Sandbox state not read yet");
            false
        }
    }
}
