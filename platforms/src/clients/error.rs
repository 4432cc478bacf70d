//! What went wrong, sorted into what the publishing engine does about it.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;

use crate::Platform;

/// How the engine should react to a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Too many calls: wait until `retry_at` (when the network said) and try again.
    RateLimited {
        /// When the network's window resets, from its headers.
        retry_at: Option<DateTime<Utc>>,
    },
    /// Worth retrying with backoff: 5xx, timeouts, dropped connections, "media not ready".
    Transient {
        /// The request may have reached the network and taken effect (a timeout or 5xx after a
        /// POST): settle by listing recent posts before publishing again.
        outcome_unknown: bool,
    },
    /// The token expired or was revoked: refresh, or ask the person to reconnect.
    Auth,
    /// The network refused the request itself; retrying will not help. The message is the
    /// network's own, for the person to read.
    Permanent,
}

/// A failed call to a network. Never carries a token: messages come from the network's error
/// body or from the transport error with its URL removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    /// Which network answered.
    pub platform: Platform,
    /// What to do about it.
    pub kind: ErrorKind,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// What happened, in the network's words where it gave some.
    pub message: String,
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.platform.display_name(), self.message)
    }
}

impl std::error::Error for PlatformError {}

impl PlatformError {
    pub(crate) fn new(platform: Platform, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            platform,
            kind,
            status: None,
            message: message.into(),
        }
    }

    /// The network does not offer this operation.
    pub fn unsupported(platform: Platform, what: &str) -> Self {
        Self::new(
            platform,
            ErrorKind::Permanent,
            format!("{} does not support {what}.", platform.display_name()),
        )
    }

    /// An answer we could not read: the call may have worked, so it is settled like a timeout.
    pub(crate) fn unreadable(platform: Platform, what: &str, detail: impl fmt::Display) -> Self {
        Self::new(
            platform,
            ErrorKind::Transient {
                outcome_unknown: true,
            },
            format!("Unexpected answer to {what}: {detail}"),
        )
    }

    /// Whether retrying later could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited { .. } | ErrorKind::Transient { .. }
        )
    }
}

/// When a rate limit resets, read from whichever header the network sends:
/// - X: `x-rate-limit-reset` (Unix seconds), or for the 24-hour caps
///   `x-user-limit-24hour-reset` / `x-app-limit-24hour-reset` when their `-remaining` is 0
///   (X docs, fundamentals/rate-limits.mdx);
/// - Bluesky PDS: `RateLimit-Reset` (Unix seconds; a small number is read as seconds from now,
///   as in the IETF RateLimit header draft);
/// - anyone: `Retry-After` (seconds, or an HTTP date);
/// - Meta: `X-Business-Use-Case-Usage` → `estimated_time_to_regain_access` in minutes
///   (Graph API rate-limiting docs).
///
/// The latest of the times found wins: waiting too little only earns another 429.
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let number = |name: &str| text(name).and_then(|v| v.parse::<i64>().ok());
    let epoch = |secs: i64| Utc.timestamp_opt(secs, 0).single();
    let mut found: Vec<DateTime<Utc>> = Vec::new();

    if let Some(at) = number("x-rate-limit-reset").and_then(epoch) {
        found.push(at);
    }
    for scope in ["user", "app"] {
        if number(&format!("x-{scope}-limit-24hour-remaining")) == Some(0)
            && let Some(at) = number(&format!("x-{scope}-limit-24hour-reset")).and_then(epoch)
        {
            found.push(at);
        }
    }
    if let Some(value) = number("ratelimit-reset") {
        let at = if value > 1_000_000_000 {
            epoch(value)
        } else {
            Some(now + chrono::Duration::seconds(value.max(0)))
        };
        found.extend(at);
    }
    if let Some(value) = text("retry-after") {
        if let Ok(secs) = value.parse::<i64>() {
            found.push(now + chrono::Duration::seconds(secs.max(0)));
        } else if let Ok(date) = DateTime::parse_from_rfc2822(value) {
            found.push(date.with_timezone(&Utc));
        }
    }
    if let Some(usage) = text("x-business-use-case-usage")
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
    {
        let minutes = usage
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(|entries| entries.as_array())
            .flatten()
            .filter_map(|entry| entry["estimated_time_to_regain_access"].as_i64())
            .max();
        if let Some(minutes) = minutes.filter(|m| *m > 0) {
            found.push(now + chrono::Duration::minutes(minutes));
        }
    }
    found.into_iter().max()
}

/// The next midnight UTC: when LinkedIn's daily throttles reset (it sends no headers; its docs
/// say limits are per day and reset at midnight UTC).
pub fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + chrono::Days::new(1);
    tomorrow.and_time(chrono::NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn reads_each_networks_reset_header() {
        let at = |s: i64| Some(now() + chrono::Duration::seconds(s));
        let reset = (now().timestamp() + 900).to_string();
        assert_eq!(
            retry_at(&headers(&[("x-rate-limit-reset", &reset)]), now()),
            at(900)
        );
        assert_eq!(
            retry_at(&headers(&[("RateLimit-Reset", &reset)]), now()),
            at(900)
        );
        assert_eq!(
            retry_at(&headers(&[("RateLimit-Reset", "30")]), now()),
            at(30)
        );
        assert_eq!(
            retry_at(&headers(&[("Retry-After", "120")]), now()),
            at(120)
        );
        assert_eq!(
            retry_at(
                &headers(&[("Retry-After", "Sun, 22 Nov 2026 10:05:00 GMT")]),
                now()
            ),
            at(300)
        );
        let usage = r#"{"17841400008460056":[{"type":"instagram","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":7}]}"#;
        assert_eq!(
            retry_at(&headers(&[("x-business-use-case-usage", usage)]), now()),
            at(420)
        );
        assert_eq!(retry_at(&headers(&[]), now()), None);
        assert_eq!(retry_at(&headers(&[("retry-after", "soon")]), now()), None);
    }

    #[test]
    fn an_exhausted_daily_cap_outranks_the_short_window() {
        let short = (now().timestamp() + 60).to_string();
        let day = (now().timestamp() + 36_000).to_string();
        let h = headers(&[
            ("x-rate-limit-reset", &short),
            ("x-user-limit-24hour-remaining", "0"),
            ("x-user-limit-24hour-reset", &day),
        ]);
        assert_eq!(
            retry_at(&h, now()),
            Some(now() + chrono::Duration::seconds(36_000))
        );
        // A daily cap with calls left does not delay anything.
        let h = headers(&[
            ("x-rate-limit-reset", &short),
            ("x-user-limit-24hour-remaining", "12"),
            ("x-user-limit-24hour-reset", &day),
        ]);
        assert_eq!(
            retry_at(&h, now()),
            Some(now() + chrono::Duration::seconds(60))
        );
    }

    #[test]
    fn linkedin_daily_limits_reset_at_midnight_utc() {
        assert_eq!(
            next_utc_midnight(now()),
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
                .single()
                .expect("date")
        );
    }
}
