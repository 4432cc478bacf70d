//! When to read a published target's engagement next, and the per-connection read budget.
//!
//! Reads cost the networks' rate limits, so they are spent where a plug may be about to fire.
//! Engagement mostly arrives early and tails off, so for a target with a pending threshold
//! plug the last two reads (and zero at publishing) fit a tailing-off curve ([`crossing`]) that
//! forecasts when the threshold is met; the next read comes a third of the way there (never
//! sooner than `min_poll`), so reads close in on the crossing instead of sampling it blindly.
//! When the reads do not fit such a curve, half the straight-line estimate is used (growth
//! slows, so it errs early). Targets without anything pending are read for analytics only,
//! rarely (30 min in the first hour, then hourly, then every 2 h and 12 h), and not at all
//! after the watch window.
//!
//! `make bench` measures the result on 1,000 posts with the Sandbox's tailing audiences
//! (worker/benches/engine.rs); the constants below were tuned on a simulation of those curves.

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
        a if a < HOUR => 30 * 60,
        a if a < 6 * HOUR => HOUR,
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
    /// The previous read's counts and time (before the first read: zero at publishing).
    pub previous: Option<(Counts, DateTime<Utc>)>,
    /// Pending threshold plugs: (trigger, value).
    pub pending: Vec<(PlugTrigger, u64)>,
}

/// Where a count is headed, by [`crossing`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forecast {
    /// Reaches the threshold this many seconds after publishing.
    At(f64),
    /// Levels off below it, at about this count.
    LevelsOff(f64),
}

/// The share of the forecast time left after which to read again.
const CLOSE_IN: f64 = 0.3;

/// A forecast levelling off above this share of the threshold is treated as a slow approach.
const NEAR: f64 = 0.6;

fn secs_f64(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.clamp(0.0, 1e7))
}

/// Fewest counts at the latest read for the curve to be worth fitting (integers below this
/// are mostly rounding).
const FIT_MIN: f64 = 5.0;

/// When a count reaches `threshold`, if engagement tails off the way it usually does: most of
/// it early, then less and less. The curve `c(t) = L·(1 − e^(−k·t))` (`L` the audience it
/// levels off at, `k` how fast it tails off; `t` seconds since publishing) is fitted through
/// the origin and the last two reads `(t1, c1)`, `(t2, c2)`. `None` when the reads do not
/// tail off (steady or speeding up) or are too few to tell: the caller falls back to a
/// straight line.
pub fn crossing(t1: f64, c1: f64, t2: f64, c2: f64, threshold: f64) -> Option<Forecast> {
    if c2 < FIT_MIN || c1 <= 0.0 || c1 >= c2 || t1 <= 0.0 || t2 <= t1 {
        return None;
    }
    // The share of the audience reached by t1 relative to t2 falls from 1 (k → ∞) to t1/t2
    // (k → 0, a straight line); the reads' own share fixes k.
    let target = c1 / c2;
    if target <= t1 / t2 {
        return None;
    }
    let share = |k: f64| (1.0 - (-k * t1).exp()) / (1.0 - (-k * t2).exp());
    let (mut lo, mut hi) = (1e-9_f64, 1.0_f64);
    if share(hi) < target {
        return None;
    }
    for _ in 0..80 {
        let mid = (lo * hi).sqrt();
        if share(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let k = (lo * hi).sqrt();
    let audience = c2 / (1.0 - (-k * t2).exp());
    if audience <= threshold {
        return Some(Forecast::LevelsOff(audience));
    }
    Some(Forecast::At(-(1.0 - threshold / audience).ln() / k))
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
        let secs = |at: DateTime<Utc>| (at - obs.published_at).num_milliseconds() as f64 / 1000.0;
        let t2 = secs(obs.now);
        let earlier = obs
            .previous
            .as_ref()
            .and_then(|(before, at)| Some((secs(*at), metric(*trigger, before)?)));
        let to_go = (value - current) as f64;
        let wait = match earlier {
            Some((t1, then)) if t2 > t1 && current > then => {
                let rate = (current - then) as f64 / (t2 - t1);
                match crossing(t1, then as f64, t2, current as f64, *value as f64) {
                    // Read again a third of the way there: each read refits, so reads close in
                    // on the crossing quickly and few are spent far from it.
                    Some(Forecast::At(t)) => secs_f64((t - t2) * CLOSE_IN),
                    // Levelling off just short of it: a wrong guess here costs a late plug, so
                    // keep closing in along the recent pace.
                    Some(Forecast::LevelsOff(audience)) if audience > NEAR * *value as f64 => {
                        secs_f64(to_go / rate * CLOSE_IN).min(base)
                    }
                    // Levelling off well below it: the analytics pace.
                    Some(Forecast::LevelsOff(_)) => base,
                    // Not tailing off (or too few to tell): half the straight-line estimate.
                    None => secs_f64(to_go / rate / 2.0),
                }
            }
            // Nothing new since the last read, but some growth overall: the average pace.
            _ if current > 0 && t2 > 0.0 => secs_f64(to_go / (current as f64 / t2) / 2.0),
            // No growth seen yet: young posts are checked at the first-read pace.
            _ if age < Duration::from_secs(60 * 60) => settings.first_poll * 5,
            _ => base,
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
        assert_eq!(next_poll(&flat, &s), Some(at(3 * 3600 + 60 * 60)));
    }

    #[test]
    fn a_tailing_audience_is_forecast_from_two_reads() {
        // 200 likes in all, half of them in the first 30 minutes: 150 is reached at 1 h.
        let likes = |t: f64| (200.0 * (1.0 - 0.5_f64.powf(t / 1800.0))).round();
        let Some(Forecast::At(t)) = crossing(600.0, likes(600.0), 900.0, likes(900.0), 150.0)
        else {
            panic!("no forecast");
        };
        // Whole likes make it approximate; early is the safe side (the next read refits).
        assert!((2700.0..3780.0).contains(&t), "forecast {t}");
        // Levelling off at 200 never reaches 400.
        assert!(matches!(
            crossing(600.0, likes(600.0), 900.0, likes(900.0), 400.0),
            Some(Forecast::LevelsOff(a)) if a < 400.0
        ));
        // A straight line (or too few likes) is left to the straight-line estimate.
        assert_eq!(crossing(600.0, 20.0, 900.0, 30.0, 100.0), None);
        assert_eq!(crossing(600.0, 1.0, 900.0, 2.0, 100.0), None);
    }

    #[test]
    fn reads_close_in_on_a_forecast_crossing() {
        let s = Settings::default();
        let likes = |t: i64| (200.0 * (1.0 - 0.5_f64.powf(t as f64 / 1800.0))).round() as u64;
        let obs = Observation {
            published_at: at(0),
            now: at(900),
            counts: counts(likes(900)),
            previous: Some((counts(likes(600)), at(600))),
            pending: vec![(PlugTrigger::Likes, 150)],
        };
        let next = next_poll(&obs, &s).expect("next");
        // On the way to the forecast crossing at ~1 h, not at the analytics pace.
        let secs = (next - at(0)).num_seconds();
        assert!((1200..3600).contains(&secs), "next read at {secs} s");
    }
}
