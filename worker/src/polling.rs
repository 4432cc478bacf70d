//! When to read a published target's engagement next, and the per-connection read budget.
//!
//! Reads cost the networks' rate limits, so they are spent where a plug may be about to fire:
//! a target with a pending threshold plug is read again after half the time its recent growth
//! says the threshold needs (never sooner than `min_poll`), so reads close in on the crossing
//! instead of sampling it blindly. Growth slows as a post ages (audiences saturate), so the
//! linear estimate errs early, never late. Targets without anything pending are read for
//! analytics only, rarely, and not at all after the watch window.

use std::time::Duration;

use chrono::{DateTime, Utc};
use fred::types::scripts::Script;
use omniplug_core::{
    entities::PlugTrigger,
    queue::{QueueError, Redis},
};
use omniplug_platforms::clients::Counts;

use crate::settings::Settings;

/// The analytics cadence by age, when no plug is waiting.
pub fn base_interval(age: Duration) -> Duration {
    const HOUR: u64 = 60 * 60;
    let secs = match age.as_secs() {
        a if a < 6 * HOUR => 30 * 60,
        a if a < 24 * HOUR => 2 * HOUR,
        _ => 12 * HOUR,
    };
    Duration::from_secs(secs)
}

/// The count a trigger watches.
pub fn metric(trigger: PlugTrigger, counts: &Counts) -> Option<u64> {
    match trigger {
        PlugTrigger::Likes => Some(counts.likes),
        PlugTrigger::Comments => Some(counts.comments),
        PlugTrigger::Reposts => Some(counts.reposts),
        PlugTrigger::TimeAfterPublish => None,
    }
}

/// What the poller knows about one target after a read.
#[derive(Debug, Clone)]
pub struct Observation {
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// This read.
    pub now: DateTime<Utc>,
    /// Counts now.
    pub counts: Counts,
    /// The previous read's counts and time, if there was one.
    pub previous: Option<(Counts, DateTime<Utc>)>,
    /// Pending threshold plugs: (trigger, value).
    pub pending: Vec<(PlugTrigger, u64)>,
}

/// When to read next; `None` once the watch window is over.
pub fn next_poll(obs: &Observation, settings: &Settings) -> Option<DateTime<Utc>> {
    let age = (obs.now - obs.published_at).to_std().unwrap_or_default();
    if age >= settings.watch {
        return None;
    }
    let base = base_interval(age);
    let mut interval = base;
    for (trigger, value) in &obs.pending {
        let Some(current) = metric(*trigger, &obs.counts) else {
            continue;
        };
        if current >= *value {
            // Fires now; the next read is for analytics.
            continue;
        }
        let remaining = value - current;
        let rate = obs.previous.as_ref().and_then(|(before, at)| {
            let then = metric(*trigger, before)?;
            let secs = (obs.now - *at).num_milliseconds() as f64 / 1000.0;
            (secs > 0.0 && current > then).then(|| (current - then) as f64 / secs)
        });
        let wait = match rate {
            // Half the linear estimate: reads close in as the crossing nears.
            Some(rate) => Duration::from_secs_f64((remaining as f64 / rate / 2.0).min(1e7)),
            // No growth seen yet: young posts are checked at the first-read pace.
            None if age < Duration::from_secs(60 * 60) => settings.first_poll * 5,
            None => base,
        };
        interval = interval.min(wait.max(settings.min_poll));
    }
    let next = obs.now + chrono::Duration::from_std(interval).unwrap_or_default();
    let end = obs.published_at + chrono::Duration::from_std(settings.watch).unwrap_or_default();
    Some(next.min(end))
}

// Token bucket per connection: refills continuously, never above the burst. Returns 0 when a
// token was taken, else the milliseconds until one is available.
const BUCKET_LUA: &str = r"
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local every = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) / every) end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * every) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * every) + 60000)
return wait
";

/// Takes one read from `connection`'s budget at `now`: `Ok(None)` if granted, else how long
/// until a read is available.
pub async fn take_read(
    redis: &Redis,
    connection: uuid::Uuid,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Option<Duration>, QueueError> {
    static SCRIPT: std::sync::LazyLock<Script> =
        std::sync::LazyLock::new(|| Script::from_lua(BUCKET_LUA));
    let wait: i64 = SCRIPT
        .evalsha_with_reload(
            redis.client(),
            vec![redis.key(&format!("reads:{connection}"))],
            vec![
                now.timestamp_millis().to_string(),
                settings.read_burst.to_string(),
                settings.read_every.as_millis().to_string(),
            ],
        )
        .await?;
    Ok((wait > 0).then(|| Duration::from_millis(wait.unsigned_abs())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(likes: u64) -> Counts {
        Counts {
            likes,
            comments: 0,
            reposts: 0,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn without_a_plug_reads_are_rare_and_stop_after_the_watch_window() {
        let s = Settings::default();
        let obs = |age: i64| Observation {
            published_at: at(0),
            now: at(age),
            counts: counts(3),
            previous: Some((counts(1), at(age - 60))),
            pending: vec![],
        };
        assert_eq!(next_poll(&obs(120), &s), Some(at(120 + 30 * 60)));
        assert_eq!(next_poll(&obs(7 * 3600), &s), Some(at(7 * 3600 + 2 * 3600)));
        assert_eq!(next_poll(&obs(8 * 24 * 3600), &s), None);
        // Never past the window's end.
        let late = 7 * 24 * 3600 - 60;
        assert_eq!(next_poll(&obs(late), &s), Some(at(7 * 24 * 3600)));
    }

    #[test]
    fn a_plug_in_reach_is_read_again_at_half_the_estimated_time() {
        let s = Settings::default();
        // 10 likes per minute, 40 to go: crossing in ~4 min, read again in 2.
        let obs = Observation {
            published_at: at(0),
            now: at(600),
            counts: counts(60),
            previous: Some((counts(50), at(540))),
            pending: vec![(PlugTrigger::Likes, 100)],
        };
        assert_eq!(next_poll(&obs, &s), Some(at(600 + 120)));
        // Very close: never sooner than min_poll.
        let close = Observation {
            counts: counts(99),
            previous: Some((counts(50), at(540))),
            ..obs.clone()
        };
        assert_eq!(next_poll(&close, &s), Some(at(600 + 20)));
        // A flat post with a far threshold falls back to the analytics pace.
        let flat = Observation {
            now: at(3 * 3600),
            counts: counts(10),
            previous: Some((counts(10), at(3 * 3600 - 1800))),
            ..obs
        };
        assert_eq!(next_poll(&flat, &s), Some(at(3 * 3600 + 30 * 60)));
    }
}
