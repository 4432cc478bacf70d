//! Reading posts in bulk: the calendar's range, the posts list (filters, search, pages) and
//! the dashboard's numbers. Every query is scoped to the caller's workspace, and children
//! (targets, plugs) are loaded with one query per kind for the whole page, never per post.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    prelude::Uuid,
    sea_query::{Expr, Func, Query},
};

use crate::{
    entities::{PlatformKind, PlugStatus, PostStatus, auto_plug, post, post_target},
    posts::{PostError, SavedPost},
    tenancy::{Action, WorkspaceAccess},
};

/// Which posts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostQuery {
    /// Only posts whose time (scheduled, else published) is at or after this.
    pub from: Option<DateTime<Utc>>,
    /// … and before this.
    pub to: Option<DateTime<Utc>>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<PostStatus>,
    /// Only posts with a target on this network.
    pub platform: Option<PlatformKind>,
    /// Only posts whose text contains this (case-insensitive).
    pub search: Option<String>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (at most [`MAX_PAGE`]).
    pub limit: u64,
    /// Oldest first (the calendar) instead of newest first (the list).
    pub ascending: bool,
}

/// The most rows one page may hold.
pub const MAX_PAGE: u64 = 500;

/// A page of posts and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct PostPage {
    /// This page.
    pub posts: Vec<SavedPost>,
    /// All matches.
    pub total: u64,
}

/// Posts matching `query`, with their targets and plugs.
pub async fn list(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    query: &PostQuery,
) -> Result<PostPage, PostError> {
    access.check(Action::Read)?;
    let mut cond = Condition::all().add(post::Column::WorkspaceId.eq(access.workspace_id()));
    if !query.statuses.is_empty() {
        cond = cond.add(post::Column::Status.is_in(query.statuses.clone()));
    }
    if let Some(from) = query.from {
        cond = cond.add(
            Condition::any()
                .add(post::Column::ScheduledAt.gte(from))
                .add(
                    Condition::all()
                        .add(post::Column::ScheduledAt.is_null())
                        .add(post::Column::PublishedAt.gte(from)),
                ),
        );
    }
    if let Some(to) = query.to {
        cond = cond.add(
            Condition::any().add(post::Column::ScheduledAt.lt(to)).add(
                Condition::all()
                    .add(post::Column::ScheduledAt.is_null())
                    .add(post::Column::PublishedAt.lt(to)),
            ),
        );
    }
    if query.from.is_some() || query.to.is_some() {
        cond = cond.add(
            Condition::any()
                .add(post::Column::ScheduledAt.is_not_null())
                .add(post::Column::PublishedAt.is_not_null()),
        );
    }
    if let Some(platform) = query.platform {
        cond = cond.add(
            post::Column::Id.in_subquery(
                Query::select()
                    .column(post_target::Column::PostId)
                    .from(post_target::Entity)
                    .and_where(post_target::Column::WorkspaceId.eq(access.workspace_id()))
                    .and_where(post_target::Column::Platform.eq(platform))
                    .to_owned(),
            ),
        );
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = format!(
            "%{}%",
            search
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        cond = cond.add(
            Expr::expr(Func::lower(Expr::col(post::Column::Content)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        );
    }
    let base = post::Entity::find().filter(cond);
    let total = base.clone().count(db).await?;
    let ordered = if query.ascending {
        base.order_by_asc(post::Column::ScheduledAt)
            .order_by_asc(post::Column::PublishedAt)
            .order_by_asc(post::Column::Id)
    } else {
        base.order_by_desc(post::Column::CreatedAt)
            .order_by_desc(post::Column::Id)
    };
    let rows = ordered
        // The drivers bind a signed 64-bit offset (an unsigned one past it panics in the binder).
        .offset(query.offset.min(i64::MAX.unsigned_abs()))
        .limit(query.limit.clamp(1, MAX_PAGE))
        .all(db)
        .await?;
    Ok(PostPage {
        posts: with_children(db, rows).await?,
        total,
    })
}

/// Attaches targets and plugs to `rows` (two queries in all).
async fn with_children(
    db: &DatabaseConnection,
    rows: Vec<post::Model>,
) -> Result<Vec<SavedPost>, PostError> {
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let mut targets: HashMap<Uuid, Vec<post_target::Model>> = HashMap::new();
    let mut plugs: HashMap<Uuid, Vec<auto_plug::Model>> = HashMap::new();
    if !ids.is_empty() {
        for t in post_target::Entity::find()
            .filter(post_target::Column::PostId.is_in(ids.clone()))
            .order_by_asc(post_target::Column::Id)
            .all(db)
            .await?
        {
            targets.entry(t.post_id).or_default().push(t);
        }
        for p in auto_plug::Entity::find()
            .filter(auto_plug::Column::PostId.is_in(ids))
            .order_by_asc(auto_plug::Column::Id)
            .all(db)
            .await?
        {
            plugs.entry(p.post_id).or_default().push(p);
        }
    }
    Ok(rows
        .into_iter()
        .map(|post| SavedPost {
            targets: targets.remove(&post.id).unwrap_or_default(),
            plugs: plugs.remove(&post.id).unwrap_or_default(),
            note: None,
            post,
        })
        .collect())
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Scheduled posts, soonest first (at most five).
    pub upcoming: Vec<SavedPost>,
    /// Published posts, latest first (at most five).
    pub recent: Vec<SavedPost>,
    /// Plugs fired, latest first (at most five), with their post's text.
    pub plugs_fired: Vec<(auto_plug::Model, String)>,
    /// Failed or missed posts of the last 24 hours.
    pub trouble: Vec<SavedPost>,
    /// Published this calendar month (in the person's zone).
    pub month_published: u64,
    /// Plugs fired this month.
    pub month_plugs: u64,
    /// Posts failed or missed this month.
    pub month_failed: u64,
    /// Days in a row, ending today or yesterday, with something published.
    pub streak_days: u32,
}

/// The dashboard's numbers as of `now`, months and days counted in `time_zone`.
pub async fn dashboard(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<Dashboard, PostError> {
    access.check(Action::Read)?;
    let tz: Tz = time_zone.parse().unwrap_or(Tz::UTC);
    let ws = access.workspace_id();
    let local_today = now.with_timezone(&tz).date_naive();
    let month_start = local_midnight(
        &tz,
        NaiveDate::from_ymd_opt(local_today.year(), local_today.month(), 1).unwrap_or(local_today),
    );
    let mine = || post::Entity::find().filter(post::Column::WorkspaceId.eq(ws));

    let upcoming = mine()
        .filter(post::Column::Status.eq(PostStatus::Scheduled))
        .order_by_asc(post::Column::ScheduledAt)
        .limit(5)
        .all(db)
        .await?;
    let recent = mine()
        .filter(post::Column::Status.is_in([PostStatus::Published, PostStatus::PartiallyPublished]))
        .order_by_desc(post::Column::PublishedAt)
        .limit(5)
        .all(db)
        .await?;
    let trouble = mine()
        .filter(post::Column::Status.is_in([PostStatus::Failed, PostStatus::Missed]))
        .filter(post::Column::UpdatedAt.gte(now - Duration::hours(24)))
        .order_by_desc(post::Column::UpdatedAt)
        .limit(20)
        .all(db)
        .await?;
    let fired = auto_plug::Entity::find()
        .filter(auto_plug::Column::WorkspaceId.eq(ws))
        .filter(auto_plug::Column::Status.eq(PlugStatus::Fired))
        .order_by_desc(auto_plug::Column::FiredAt)
        .limit(5)
        .all(db)
        .await?;
    let texts: HashMap<Uuid, String> = mine()
        .filter(post::Column::Id.is_in(fired.iter().map(|p| p.post_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.content))
        .collect();
    let plugs_fired = fired
        .into_iter()
        .map(|p| {
            let text = texts.get(&p.post_id).cloned().unwrap_or_default();
            (p, text)
        })
        .collect();

    let month_published = mine()
        .filter(post::Column::Status.is_in([PostStatus::Published, PostStatus::PartiallyPublished]))
        .filter(post::Column::PublishedAt.gte(month_start))
        .count(db)
        .await?;
    let month_plugs = auto_plug::Entity::find()
        .filter(auto_plug::Column::WorkspaceId.eq(ws))
        .filter(auto_plug::Column::Status.eq(PlugStatus::Fired))
        .filter(auto_plug::Column::FiredAt.gte(month_start))
        .count(db)
        .await?;
    let month_failed = mine()
        .filter(post::Column::Status.is_in([PostStatus::Failed, PostStatus::Missed]))
        .filter(post::Column::UpdatedAt.gte(month_start))
        .count(db)
        .await?;

    // The streak needs only the days: one column for the last year.
    let days: BTreeSet<NaiveDate> = mine()
        .select_only()
        .column(post::Column::PublishedAt)
        .filter(post::Column::PublishedAt.gte(now - Duration::days(366)))
        .into_tuple::<Option<DateTime<Utc>>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .map(|at| at.with_timezone(&tz).date_naive())
        .collect();
    let streak_days = streak(&days, local_today);

    Ok(Dashboard {
        upcoming: with_children(db, upcoming).await?,
        recent: with_children(db, recent).await?,
        plugs_fired,
        trouble: with_children(db, trouble).await?,
        month_published,
        month_plugs,
        month_failed,
        streak_days,
    })
}

/// The instant a local day starts (the first existing minute when midnight is skipped).
fn local_midnight(tz: &Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..24 * 60)
        .find_map(|m| {
            let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(m);
            tz.from_local_datetime(&local).earliest()
        })
        .map_or_else(
            || day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            |at| at.with_timezone(&Utc),
        )
}

/// Consecutive days with a publish, ending today (or yesterday, if today has none yet).
pub fn streak(days: &BTreeSet<NaiveDate>, today: NaiveDate) -> u32 {
    let mut day = if days.contains(&today) {
        today
    } else {
        match today.pred_opt() {
            Some(yesterday) if days.contains(&yesterday) => yesterday,
            _ => return 0,
        }
    };
    let mut n = 0;
    while days.contains(&day) {
        n += 1;
        match day.pred_opt() {
            Some(prev) => day = prev,
            None => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("date")
    }

    #[test]
    fn a_streak_counts_days_in_a_row_up_to_today_or_yesterday() {
        let days: BTreeSet<_> = [d(11, 18), d(11, 20), d(11, 21), d(11, 22)].into();
        assert_eq!(streak(&days, d(11, 22)), 3);
        assert_eq!(streak(&days, d(11, 23)), 3, "today not posted yet");
        assert_eq!(streak(&days, d(11, 24)), 0, "a day missed");
        assert_eq!(streak(&BTreeSet::new(), d(11, 22)), 0);
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let tz: Tz = "Europe/Paris".parse().expect("tz");
        assert_eq!(
            local_midnight(&tz, d(11, 1)).to_rfc3339(),
            "2026-10-31T23:00:00+00:00"
        );
    }
}
