//! The engine's timings and limits. Defaults suit production; every one can be set from the
//! environment (the process tests shorten leases and back-offs so a crash is recovered in
//! seconds, not minutes).

use std::time::Duration;

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a claimed target or plug belongs to its worker. A network call is abandoned a
    /// little before the lease ends, so no other worker can settle a call still under way.
    pub lease: Duration,
    /// How early the mover hands out publish work: the handler claims the target, then waits
    /// for the exact instant, so database work never delays the network call. Edits are
    /// refused ("publishing") during this last stretch.
    pub prefetch: Duration,
    /// How early when a crowd is due at once (over [`Settings::busy_entries`] entries between
    /// `prefetch` and this): claiming thousands takes a few seconds, so it starts earlier.
    pub busy_prefetch: Duration,
    /// See [`Settings::busy_prefetch`].
    pub busy_entries: u64,
    /// First retry delay of a transient failure; it doubles per attempt, with ±25 % jitter.
    pub retry_base: Duration,
    /// Attempts before a transient failure becomes final.
    pub max_attempts: i32,
    /// First engagement read after publishing.
    pub first_poll: Duration,
    /// Shortest gap between two reads of one target while it approaches a plug threshold.
    pub min_poll: Duration,
    /// Targets are watched this long after publishing, then no longer read.
    pub watch: Duration,
    /// Per-connection read budget: bucket size …
    pub read_burst: u32,
    /// … refilled at one read per this interval.
    pub read_every: Duration,
    /// Calls in flight at once to each network from this process. Each network is one API
    /// host: past a hundred or so connections to it, more only add contention here (and load
    /// there). With 10,000 posts due at one instant to the Sandbox on two cores, 128 started
    /// them all with p99 lateness 493–950 ms over ten runs (median ~710), 256 with 779–797,
    /// 512 with 705–1,061 (`scripts/bench.sh sqlite burst`, `OMNIPLUG_WORKER_MAX_CALLS`).
    pub max_calls: usize,
    /// Handlers (claimed work, including work waiting for its instant) at once.
    pub max_handlers: usize,
    /// Handlers using the database at once (a little above the connection pool's size).
    pub db_slots: usize,
    /// On SIGTERM, how long in-flight work may take to finish.
    pub shutdown_grace: Duration,
    /// How often the sweep re-indexes the next minutes of work from the database.
    pub sweep_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(90),
            prefetch: Duration::from_secs(3),
            busy_prefetch: Duration::from_secs(30),
            busy_entries: 1000,
            retry_base: Duration::from_secs(5),
            max_attempts: 5,
            first_poll: Duration::from_secs(60),
            min_poll: Duration::from_secs(20),
            watch: Duration::from_secs(7 * 24 * 60 * 60),
            read_burst: 15,
            read_every: Duration::from_secs(60),
            max_calls: 128,
            max_handlers: 20_000,
            db_slots: 12,
            shutdown_grace: Duration::from_secs(20),
            sweep_every: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// Defaults overridden by `OMNIPLUG_WORKER_<NAME>_MS` variables (for example
    /// `OMNIPLUG_WORKER_LEASE_MS=3000`); unparsable values are ignored with a warning.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        let ms = |name: &str, slot: &mut Duration| {
            let var = format!("OMNIPLUG_WORKER_{name}_MS");
            if let Ok(raw) = std::env::var(&var) {
                match raw.parse::<u64>() {
                    Ok(v) => *slot = Duration::from_millis(v),
                    Err(_) => tracing::warn!(%var, %raw, "ignored: not a number of milliseconds"),
                }
            }
        };
        ms("LEASE", &mut s.lease);
        ms("PREFETCH", &mut s.prefetch);
        ms("RETRY_BASE", &mut s.retry_base);
        ms("FIRST_POLL", &mut s.first_poll);
        ms("MIN_POLL", &mut s.min_poll);
        ms("READ_EVERY", &mut s.read_every);
        ms("SWEEP_EVERY", &mut s.sweep_every);
        ms("BUSY_PREFETCH", &mut s.busy_prefetch);
        if let Ok(raw) = std::env::var("OMNIPLUG_WORKER_MAX_CALLS") {
            match raw.parse::<usize>() {
                Ok(v) if v > 0 => s.max_calls = v,
                _ => {
                    tracing::warn!(%raw, "OMNIPLUG_WORKER_MAX_CALLS ignored: not a positive number")
                }
            }
        }
        s
    }

    /// How long a network call may take: the lease minus a margin for recording the result.
    pub fn call_deadline(&self) -> Duration {
        self.lease.mul_f64(0.8)
    }

    /// The furthest ahead of its time a publish may be claimed.
    pub fn claim_ahead(&self) -> Duration {
        self.prefetch.max(self.busy_prefetch)
    }

    /// Delay before attempt `attempt + 1` after `attempt` transient failures (1-based).
    pub fn backoff(&self, attempt: i32, jitter_seed: u128) -> Duration {
        let exp = u32::try_from(attempt.clamp(1, 16) - 1).unwrap_or(0);
        let base = self.retry_base.saturating_mul(2u32.saturating_pow(exp));
        // ±25 %: seed in [0, 1000) → factor in [0.75, 1.25).
        #[allow(clippy::cast_precision_loss)]
        let factor = 0.75 + (jitter_seed % 1000) as f64 / 2000.0;
        base.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_a_quarter_either_way() {
        let s = Settings {
            retry_base: Duration::from_secs(2),
            ..Settings::default()
        };
        for (attempt, nominal) in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)] {
            for seed in [0u128, 499, 999, 123_456_789] {
                let d = s.backoff(attempt, seed).as_secs_f64();
                assert!(
                    d >= nominal * 0.75 && d < nominal * 1.25,
                    "attempt {attempt}: {d}"
                );
            }
        }
    }

    #[test]
    fn calls_end_well_before_the_lease() {
        let s = Settings::default();
        assert!(s.call_deadline() < s.lease);
        assert!(s.lease - s.call_deadline() >= Duration::from_secs(10));
    }
}
