//! The calendar's data and the composer's time check, from the server: days and times are
//! computed in the person's own time zone there (the browser build carries no zone database).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{error::AppError, posts::PostSummary};

/// One day of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCell {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// "Mon 23" (week) or "23" (month).
    pub label: String,
    /// In the month shown (month view); always true in a week.
    pub in_range: bool,
    /// Today in the person's zone.
    pub today: bool,
}

/// A month or a week of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarView {
    /// `month` or `week`.
    pub view: String,
    /// "November 2026" or "16 – 22 Nov 2026".
    pub title: String,
    /// The day the view is anchored on (`YYYY-MM-DD`).
    pub anchor: String,
    /// Anchors of the previous and next view.
    pub prev: String,
    /// See `prev`.
    pub next: String,
    /// Today (`YYYY-MM-DD`) in the person's zone.
    pub today: String,
    /// Weeks of seven days (a week view has one).
    pub weeks: Vec<Vec<DayCell>>,
    /// Posts with a time in the range, oldest first (`local_at` places them).
    pub posts: Vec<PostSummary>,
    /// The zone's abbreviation now ("CET") and its name ("Europe/Paris").
    pub zone: String,
    /// See `zone`.
    pub zone_name: String,
    /// Minutes past local midnight now (the week view's current-time line).
    pub now_minutes: u32,
}

/// A month or week (`view`) around `day` (`YYYY-MM-DD`, empty for today) in the person's
/// zone, with the workspace's posts in it (any member).
#[server(endpoint = "get_calendar")]
pub async fn get_calendar(
    workspace_id: String,
    view: String,
    day: String,
) -> Result<CalendarView, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{post_views, tenancy::Action};
    let cx = crate::posts::ssr::Cx::new(&workspace_id, Action::Read).await?;
    let tz = cx.user.timezone.clone();
    let grid = ssr::grid(&view, &day, &tz, chrono::Utc::now())?;
    let filter = crate::posts::PostFilter {
        from_day: grid.first.format("%Y-%m-%d").to_string(),
        days: grid.days,
        ..Default::default()
    };
    let query = crate::posts::ssr::query(&filter, &tz)?;
    let page = post_views::list(&cx.stores.db, &cx.access, &query)
        .await
        .map_err(post_error)?;
    Ok(CalendarView {
        posts: page
            .posts
            .into_iter()
            .map(|p| crate::posts::ssr::summary(p, &tz))
            .collect(),
        ..grid.view
    })
}

/// What the composer shows under the schedule picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeCheck {
    /// "Mon 23 Nov, 09:00 CET".
    pub local: String,
    /// "08:00 UTC, Mon 23 Nov".
    pub utc: String,
    /// Set when the local time happens twice (clocks going back).
    pub note: Option<String>,
}

/// Reads a schedule time (`YYYY-MM-DDTHH:MM`) as saving would, in the person's zone: the
/// instant in UTC, or the reason it cannot be used (a DST gap, the past, over a year ahead).
#[server(endpoint = "check_time")]
pub async fn check_time(schedule: String) -> Result<TimeCheck, AppError> {
    use omniplug_core::post_rules::resolve_schedule;
    let stores = crate::auth::ssr::stores()?;
    let (user, _) = crate::auth::ssr::require_session(&stores).await?;
    let local = crate::posts::ssr::local_time(&schedule)?;
    let resolved = resolve_schedule(local, &user.timezone, chrono::Utc::now()).map_err(|e| {
        crate::error::ssr::fail(AppError::InvalidFields(vec![crate::error::FieldMessage {
            field: e.field.clone(),
            message: e.message,
        }]))
    })?;
    Ok(TimeCheck {
        local: crate::posts::ssr::label(resolved.at, &user.timezone),
        utc: resolved.at.format("%H:%M UTC, %a %-d %b").to_string(),
        note: resolved.note,
    })
}

/// Server-only helpers.
#[cfg(feature = "ssr")]
pub mod ssr {
    use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};

    use super::{CalendarView, DayCell};
    use crate::error::{AppError, FieldMessage, ssr::fail};

    /// The years the calendar and the post list accept. Far enough either way for anyone's
    /// history and plans, and far from chrono's limits (±262,143), where date arithmetic
    /// (the next month, six weeks of cells) would overflow.
    pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

    /// `YYYY-MM-DD` within [`YEARS`], or the message saying what to type instead.
    pub fn calendar_day(raw: &str) -> Result<NaiveDate, String> {
        let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| "Use a day like 2026-12-01.".to_owned())?;
        if !YEARS.contains(&day.year()) {
            return Err(format!(
                "Pick a day between the years {} and {}.",
                YEARS.start(),
                YEARS.end()
            ));
        }
        Ok(day)
    }

    /// A view's days, and the view without its posts.
    #[derive(Debug)]
    pub struct Grid {
        /// The first day shown.
        pub first: NaiveDate,
        /// How many days are shown.
        pub days: u32,
        /// Everything but the posts.
        pub view: CalendarView,
    }

    /// The days of a `month` (six weeks from the Monday on or before the 1st) or `week`
    /// (Monday to Sunday) around `day` in `time_zone`.
    pub fn grid(
        view: &str,
        day: &str,
        time_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<Grid, AppError> {
        let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        let local_now = now.with_timezone(&tz);
        let today = local_now.date_naive();
        let anchor = match day.trim() {
            "" => today,
            raw => calendar_day(raw).map_err(|message| {
                fail(AppError::InvalidFields(vec![FieldMessage {
                    field: "day".into(),
                    message,
                }]))
            })?,
        };
        let monday =
            |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        let month = view != "week";
        let (first, days, title, prev, next) = if month {
            let first_of = anchor.with_day(1).unwrap_or(anchor);
            let next_month = (first_of + Duration::days(32))
                .with_day(1)
                .unwrap_or(first_of);
            let prev_month = (first_of - Duration::days(1))
                .with_day(1)
                .unwrap_or(first_of);
            (
                monday(first_of),
                42,
                first_of.format("%B %Y").to_string(),
                prev_month,
                next_month,
            )
        } else {
            let start = monday(anchor);
            let end = start + Duration::days(6);
            let title = if start.month() == end.month() {
                format!("{} – {}", start.format("%-d"), end.format("%-d %b %Y"))
            } else {
                format!("{} – {}", start.format("%-d %b"), end.format("%-d %b %Y"))
            };
            (
                start,
                7,
                title,
                start - Duration::days(7),
                start + Duration::days(7),
            )
        };
        let cells: Vec<DayCell> = (0..days)
            .map(|i| {
                let date = first + Duration::days(i64::from(i));
                DayCell {
                    date: date.format("%Y-%m-%d").to_string(),
                    label: if month {
                        date.format("%-d").to_string()
                    } else {
                        date.format("%a %-d").to_string()
                    },
                    in_range: !month || date.month() == anchor.month(),
                    today: date == today,
                }
            })
            .collect();
        Ok(Grid {
            first,
            days,
            view: CalendarView {
                view: if month { "month" } else { "week" }.into(),
                title,
                anchor: anchor.format("%Y-%m-%d").to_string(),
                prev: prev.format("%Y-%m-%d").to_string(),
                next: next.format("%Y-%m-%d").to_string(),
                today: today.format("%Y-%m-%d").to_string(),
                weeks: cells.chunks(7).map(<[DayCell]>::to_vec).collect(),
                posts: Vec::new(),
                zone: local_now.format("%Z").to_string(),
                zone_name: time_zone.to_owned(),
                now_minutes: local_now.hour() * 60 + local_now.minute(),
            },
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn at(s: &str) -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        }

        #[test]
        fn a_month_is_six_weeks_from_the_monday_before_the_first() {
            let g = grid("month", "2026-11-15", "UTC", at("2026-11-22T10:00:00Z")).expect("grid");
            assert_eq!(g.view.title, "November 2026");
            assert_eq!(g.first.to_string(), "2026-10-26");
            assert_eq!(g.view.weeks.len(), 6);
            assert!(!g.view.weeks[0][0].in_range);
            assert!(g.view.weeks[0][6].in_range, "1 Nov is a Sunday");
            assert_eq!(
                (g.view.prev.as_str(), g.view.next.as_str()),
                ("2026-10-01", "2026-12-01")
            );
            assert!(
                g.view
                    .weeks
                    .iter()
                    .flatten()
                    .any(|d| d.today && d.date == "2026-11-22")
            );
        }

        #[test]
        fn a_week_runs_monday_to_sunday_in_the_persons_zone() {
            // 23:30 UTC on Sunday is already Monday in Tokyo.
            let g = grid("week", "", "Asia/Tokyo", at("2026-11-22T23:30:00Z")).expect("grid");
            assert_eq!(g.view.today, "2026-11-23");
            assert_eq!(g.first.to_string(), "2026-11-23");
            assert_eq!(g.view.title, "23 – 29 Nov 2026");
            assert_eq!(g.view.now_minutes, 8 * 60 + 30);
        }

        #[test]
        fn a_bad_day_is_refused_with_the_field() {
            assert!(grid("week", "tomorrow", "UTC", Utc::now()).is_err());
        }

        #[test]
        fn days_at_the_edge_of_the_calendar_are_refused_not_overflowed() {
            for day in [
                "+262142-12-31",
                "-262143-01-01",
                "10000-01-01",
                "1969-12-31",
            ] {
                for view in ["week", "month"] {
                    assert!(grid(view, day, "UTC", Utc::now()).is_err(), "{view} {day}");
                }
            }
            let last = grid("month", "9999-12-31", "Pacific/Kiritimati", Utc::now()).expect("grid");
            assert_eq!(
                last.view.next, "+10000-01-01",
                "the next link leads to a refusal, not a crash"
            );
        }
    }
}
