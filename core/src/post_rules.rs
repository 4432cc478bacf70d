//! What makes a post publishable, checked before anything is stored or queued: each network's
//! text rules (on the text, each override and each plug), plugs only on targeted networks with
//! sensible triggers, and a schedule time that exists in the person's time zone.
//!
//! Every problem names the field it belongs to (`text`, `overrides.x`, `plugs.bluesky.value`,
//! `scheduled_at`, …) so the composer can show it next to that field.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use omniplug_platforms::{
    Platform,
    media::{self, MediaFacts},
    text,
};
use serde::{Deserialize, Serialize};

use crate::entities::PlugTrigger;

/// A schedule must be at least this far ahead…
pub const MIN_LEAD: Duration = Duration::seconds(30);
/// …and at most this far.
pub const MAX_AHEAD: Duration = Duration::days(365);
/// A time-after-publish plug fires between 1 minute and 7 days after the post.
pub const PLUG_DELAY_MINUTES: std::ops::RangeInclusive<i64> = 1..=7 * 24 * 60;

/// One problem, for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// `text`, `targets`, `overrides.<network>`, `plugs.<network>`, `plugs.<network>.text`,
    /// `plugs.<network>.value`, `scheduled_at`.
    pub field: String,
    /// The sentence to show.
    pub message: String,
}

impl FieldError {
    /// What is wrong with one field.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An auto-plug as the composer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlugDraft {
    /// The network whose post it replies under.
    pub platform: Platform,
    /// The reply's text.
    pub text: String,
    /// What fires it.
    pub trigger: PlugTrigger,
    /// The threshold (likes, comments, reposts) or minutes after publishing.
    pub value: i64,
}

/// A post as the composer describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostDraft {
    /// The text every network gets unless overridden.
    pub text: String,
    /// Per-network replacements of `text`.
    pub overrides: Vec<(Platform, String)>,
    /// The networks of the selected accounts (one entry per account).
    pub targets: Vec<Platform>,
    /// At most one plug per targeted network.
    pub plugs: Vec<PlugDraft>,
    /// The attached files, in order.
    pub media: Vec<MediaFacts>,
}

impl PostDraft {
    /// The text `platform` will get.
    pub fn text_for(&self, platform: Platform) -> &str {
        self.overrides
            .iter()
            .find(|(p, _)| *p == platform)
            .map_or(self.text.as_str(), |(_, t)| t.as_str())
    }
}

fn text_problems(field: &str, platform: Platform, text: &str, errors: &mut Vec<FieldError>) {
    if let Some(problem) = text::check(platform, text).problems.first() {
        errors.push(FieldError::new(field, problem.message(platform)));
    }
}

/// Everything wrong with `draft`, in the order the composer shows its fields; empty means it
/// can be scheduled.
pub fn check_post(draft: &PostDraft) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut networks: Vec<Platform> = draft.targets.clone();
    networks.sort();
    networks.dedup();
    if networks.is_empty() {
        errors.push(FieldError::new(
            "targets",
            "Pick at least one account to post to.",
        ));
    }
    for platform in &networks {
        let overridden = draft.overrides.iter().any(|(p, _)| p == platform);
        let field = if overridden {
            format!("overrides.{}", platform.slug())
        } else {
            "text".to_owned()
        };
        text_problems(&field, *platform, draft.text_for(*platform), &mut errors);
    }
    for (platform, _) in &draft.overrides {
        if !networks.contains(platform) {
            errors.push(FieldError::new(
                format!("overrides.{}", platform.slug()),
                format!(
                    "{} is not among the selected accounts; remove this version or add an account.",
                    platform.display_name()
                ),
            ));
        }
    }
    if let Some(problem) = media::check_set(&draft.media) {
        errors.push(FieldError::new("media", problem));
    } else {
        for platform in &networks {
            if let Some(problem) = media::check(*platform, &draft.media) {
                errors.push(FieldError::new(
                    format!("media.{}", platform.slug()),
                    problem,
                ));
            }
        }
    }
    let mut plugged: Vec<Platform> = Vec::new();
    for plug in &draft.plugs {
        let slug = plug.platform.slug();
        let name = plug.platform.display_name();
        if plugged.contains(&plug.platform) {
            errors.push(FieldError::new(
                format!("plugs.{slug}"),
                format!("Only one plug per network: remove the second {name} plug."),
            ));
            continue;
        }
        plugged.push(plug.platform);
        if !networks.contains(&plug.platform) {
            errors.push(FieldError::new(
                format!("plugs.{slug}"),
                format!(
                    "This post does not go to {name}; add a {name} account or remove the plug."
                ),
            ));
            continue;
        }
        text_problems(
            &format!("plugs.{slug}.text"),
            plug.platform,
            &plug.text,
            &mut errors,
        );
        let value_field = format!("plugs.{slug}.value");
        match plug.trigger {
            PlugTrigger::TimeAfterPublish if !PLUG_DELAY_MINUTES.contains(&plug.value) => {
                errors.push(FieldError::new(
                    value_field,
                    "Fire the plug between 1 minute and 7 days after publishing.",
                ));
            }
            PlugTrigger::Likes | PlugTrigger::Comments | PlugTrigger::Reposts if plug.value < 1 => {
                errors.push(FieldError::new(
                    value_field,
                    "The threshold must be at least 1.",
                ));
            }
            PlugTrigger::Reposts if plug.platform == Platform::Instagram => {
                errors.push(FieldError::new(
                    value_field,
                    "Instagram has no reposts; pick likes or comments.",
                ));
            }
            _ => {}
        }
    }
    errors
}

/// A schedule time picked in a person's time zone, as an instant, and a note to show when the
/// local time was ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTime {
    /// The instant it goes out.
    pub at: DateTime<Utc>,
    /// Set when the local time happens twice (clocks moving back): which one was taken.
    pub note: Option<String>,
}

/// Turns a wall-clock time in `time_zone` into the instant to publish at. A time that does not
/// exist there (clocks moving forward) is refused with the reason; one that happens twice is
/// resolved to the earlier instant, and said so. The result must be at least 30 seconds and at
/// most a year from `now`.
pub fn resolve_schedule(
    local: NaiveDateTime,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<ResolvedTime, FieldError> {
    let field = "scheduled_at";
    let tz: Tz = time_zone.parse().map_err(|_| {
        FieldError::new(
            field,
            format!("Unknown time zone {time_zone:?}; pick one in Settings."),
        )
    })?;
    let shown = local.format("%H:%M on %Y-%m-%d");
    let (at, note) = match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => (at, None),
        LocalResult::Ambiguous(earlier, later) => {
            let note = format!(
                "{shown} happens twice in {time_zone} (clocks go back); using the first one, {} UTC, not {} UTC.",
                earlier.with_timezone(&Utc).format("%H:%M"),
                later.with_timezone(&Utc).format("%H:%M"),
            );
            (earlier, Some(note))
        }
        LocalResult::None => {
            return Err(FieldError::new(
                field,
                format!(
                    "{shown} does not exist in {time_zone}: the clocks skip that hour. Pick another time."
                ),
            ));
        }
    };
    let at = at.with_timezone(&Utc);
    if at < now + MIN_LEAD {
        return Err(FieldError::new(
            field,
            "Pick a time at least 30 seconds from now, or publish now.",
        ));
    }
    if at > now + MAX_AHEAD {
        return Err(FieldError::new(field, "Schedule at most a year ahead."));
    }
    Ok(ResolvedTime { at, note })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .expect("valid date")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_with_the_reason() {
        // Europe/Paris moves from 02:00 to 03:00 on 2026-03-29.
        let err =
            resolve_schedule(local(2026, 3, 29, 2, 30), "Europe/Paris", now()).expect_err("gap");
        assert_eq!(err.field, "scheduled_at");
        assert_eq!(
            err.message,
            "02:30 on 2026-03-29 does not exist in Europe/Paris: the clocks skip that hour. Pick another time."
        );
        let ok = resolve_schedule(local(2026, 3, 29, 3, 30), "Europe/Paris", now())
            .expect("after the gap");
        assert_eq!(
            ok.at,
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0)
                .single()
                .expect("date")
        );
        assert_eq!(ok.note, None);
    }

    #[test]
    fn a_time_that_happens_twice_takes_the_first_and_says_so() {
        // Europe/Paris goes back from 03:00 to 02:00 on 2026-10-25: 02:30 is 00:30 or 01:30 UTC.
        let resolved =
            resolve_schedule(local(2026, 10, 25, 2, 30), "Europe/Paris", now()).expect("overlap");
        assert_eq!(
            resolved.at,
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0)
                .single()
                .expect("date")
        );
        assert_eq!(
            resolved.note.as_deref(),
            Some(
                "02:30 on 2026-10-25 happens twice in Europe/Paris (clocks go back); using the first one, 00:30 UTC, not 01:30 UTC."
            )
        );
    }

    #[test]
    fn schedules_are_between_thirty_seconds_and_a_year_ahead() {
        let soon = resolve_schedule(local(2026, 3, 1, 12, 0), "UTC", now()).expect_err("now");
        assert_eq!(
            soon.message,
            "Pick a time at least 30 seconds from now, or publish now."
        );
        resolve_schedule(local(2026, 3, 1, 12, 1), "UTC", now()).expect("a minute ahead");
        let far = resolve_schedule(local(2027, 3, 2, 12, 0), "UTC", now()).expect_err("too far");
        assert_eq!(far.message, "Schedule at most a year ahead.");
        let zone =
            resolve_schedule(local(2026, 3, 2, 12, 0), "Mars/Olympus", now()).expect_err("zone");
        assert_eq!(
            zone.message,
            "Unknown time zone \"Mars/Olympus\"; pick one in Settings."
        );
    }

    /// A draft; one square JPEG is attached when it goes to Instagram (which needs an image).
    fn draft(text: &str, targets: &[Platform]) -> PostDraft {
        let photo = MediaFacts {
            kind: media::MediaType::Jpeg,
            bytes: 200_000,
            width: 1080,
            height: 1080,
        };
        PostDraft {
            text: text.into(),
            targets: targets.to_vec(),
            media: if targets.contains(&Platform::Instagram) {
                vec![photo]
            } else {
                Vec::new()
            },
            ..PostDraft::default()
        }
    }

    #[test]
    fn media_is_checked_per_selected_network() {
        let mut post = draft(
            "Look",
            &[Platform::X, Platform::Bluesky, Platform::Instagram],
        );
        post.media = vec![MediaFacts {
            kind: media::MediaType::Png,
            bytes: 2_000_000,
            width: 800,
            height: 800,
        }];
        let fields: Vec<String> = check_post(&post).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["media.instagram", "media.bluesky"]);
        post.media = vec![post.media[0]; 5];
        assert_eq!(
            check_post(&post),
            [FieldError::new(
                "media",
                "A post carries at most 4 images; remove 1."
            )]
        );
        assert_eq!(
            check_post(&draft("Words only", &[Platform::Instagram]))
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>(),
            Vec::<String>::new(),
            "the helper attaches a photo for Instagram"
        );
    }

    #[test]
    fn each_targeted_network_checks_the_text_it_gets() {
        let long = "a".repeat(281);
        assert!(
            check_post(&draft(&long, &[Platform::LinkedIn])).is_empty(),
            "fits LinkedIn"
        );
        let errors = check_post(&draft(&long, &[Platform::LinkedIn, Platform::X]));
        assert_eq!(
            errors,
            vec![FieldError::new(
                "text",
                "X allows 280 characters; this is 281. Shorten it by 1."
            )]
        );
        // A shorter X version fixes it; a version for an untargeted network is pointed out.
        let mut fixed = draft(&long, &[Platform::LinkedIn, Platform::X]);
        fixed.overrides = vec![
            (Platform::X, "Short for X".into()),
            (Platform::Bluesky, "Hi".into()),
        ];
        assert_eq!(
            check_post(&fixed),
            vec![FieldError::new(
                "overrides.bluesky",
                "Bluesky is not among the selected accounts; remove this version or add an account."
            )]
        );
        fixed.overrides[0].1 = "b".repeat(300);
        assert_eq!(check_post(&fixed)[0].field, "overrides.x");
        assert_eq!(
            check_post(&draft("  ", &[]))[0],
            FieldError::new("targets", "Pick at least one account to post to.")
        );
        assert_eq!(
            check_post(&draft("  ", &[Platform::X]))[0],
            FieldError::new("text", "Write something first.")
        );
    }

    #[test]
    fn plugs_go_only_where_the_post_goes_once_each_with_sane_triggers() {
        let plug = |platform, trigger, value: i64| PlugDraft {
            platform,
            text: "Get it at omniplug.test".into(),
            trigger,
            value,
        };
        let mut post = draft("Launch day", &[Platform::X, Platform::Instagram]);
        post.plugs = vec![
            plug(Platform::X, PlugTrigger::Likes, 100),
            plug(Platform::X, PlugTrigger::Comments, 5),
            plug(Platform::Bluesky, PlugTrigger::Likes, 10),
            plug(Platform::Instagram, PlugTrigger::Reposts, 3),
        ];
        let fields: Vec<(String, String)> = check_post(&post)
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect();
        assert_eq!(
            fields,
            vec![
                (
                    "plugs.x".into(),
                    "Only one plug per network: remove the second X plug.".into()
                ),
                (
                    "plugs.bluesky".into(),
                    "This post does not go to Bluesky; add a Bluesky account or remove the plug."
                        .into()
                ),
                (
                    "plugs.instagram.value".into(),
                    "Instagram has no reposts; pick likes or comments.".into()
                ),
            ]
        );
        post.plugs = vec![
            plug(Platform::X, PlugTrigger::Likes, 0),
            plug(
                Platform::Instagram,
                PlugTrigger::TimeAfterPublish,
                7 * 24 * 60 + 1,
            ),
        ];
        let messages: Vec<String> = check_post(&post).into_iter().map(|e| e.message).collect();
        assert_eq!(
            messages,
            [
                "The threshold must be at least 1.",
                "Fire the plug between 1 minute and 7 days after publishing."
            ]
        );
        post.plugs = vec![PlugDraft {
            text: "x".repeat(281),
            ..plug(Platform::X, PlugTrigger::TimeAfterPublish, 60)
        }];
        assert_eq!(check_post(&post)[0].field, "plugs.x.text");
        post.plugs = vec![
            plug(Platform::X, PlugTrigger::TimeAfterPublish, 1),
            plug(Platform::Instagram, PlugTrigger::Comments, 1),
        ];
        assert!(check_post(&post).is_empty());
    }
}
