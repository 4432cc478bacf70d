//! Posts from the browser's side: save (draft or scheduled), read, unschedule, delete. The
//! schedule time is a wall-clock time in the person's own time zone (their profile); problems
//! come back per field (`AppError::InvalidFields`) so the composer can show them in place.
//! Saving a scheduled post (or publishing now, or retrying a target) also puts its targets in
//! the worker's due index; the worker does the publishing.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A per-network version of the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OverrideForm {
    /// Network slug (`x`, `linkedin`, …).
    pub platform: String,
    /// Its text.
    pub text: String,
}

/// An auto-plug as the composer sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PlugForm {
    /// Network slug.
    pub platform: String,
    /// The reply's text.
    pub text: String,
    /// `likes`, `comments`, `reposts` or `time_after_publish`.
    pub trigger: String,
    /// Threshold, or minutes after publishing.
    pub value: i64,
}

/// What the composer sends (form fields `post[text]`, `post[connection_ids][0]`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostForm {
    /// Empty for a new post.
    pub post_id: String,
    /// The version the composer loaded (ignored for a new post).
    pub version: i32,
    /// Text for every network unless overridden.
    pub text: String,
    /// Per-network versions.
    pub overrides: Vec<OverrideForm>,
    /// The accounts to post to.
    pub connection_ids: Vec<String>,
    /// Auto-plugs.
    pub plugs: Vec<PlugForm>,
    /// `YYYY-MM-DDTHH:MM` in the person's time zone; empty keeps a draft.
    pub schedule: String,
    /// Files from the media library, in order, with alt text.
    pub media: Vec<crate::media::AttachedMedia>,
}

/// One target as the interface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// The connection.
    pub connection_id: String,
    /// Network slug.
    pub platform: String,
    /// `PENDING`, `PUBLISHED`, …
    pub state: String,
    /// Its id, for retrying it.
    pub id: String,
    /// Why it failed (or is being retried), in words.
    pub fail_reason: Option<String>,
    /// The post on the network.
    pub url: Option<String>,
    /// Latest counts.
    pub likes: i64,
    /// Latest counts.
    pub comments: i64,
    /// Latest counts.
    pub reposts: i64,
}

/// One plug as the interface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlugSummary {
    /// Network slug.
    pub platform: String,
    /// The reply's text.
    pub text: String,
    /// `LIKES`, `TIME_AFTER_PUBLISH`, …
    pub trigger: String,
    /// Threshold or minutes.
    pub value: i64,
    /// `PENDING`, `FIRED`, …
    pub status: String,
    /// Why it was skipped or failed.
    pub fail_reason: Option<String>,
    /// The reply on the network.
    pub url: Option<String>,
}

/// A saved post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSummary {
    /// Its id.
    pub id: String,
    /// What the next edit must send back.
    pub version: i32,
    /// `DRAFT`, `SCHEDULED`, …
    pub status: String,
    /// The shared text.
    pub text: String,
    /// When it goes out, RFC 3339 UTC.
    pub scheduled_at: Option<String>,
    /// When it went out, RFC 3339 UTC.
    pub published_at: Option<String>,
    /// Its time (scheduled, else published) in the person's zone: `YYYY-MM-DDTHH:MM`.
    pub local_at: Option<String>,
    /// The same for people: "Mon 23 Nov, 09:00 CET".
    pub local_label: Option<String>,
    /// Per-network versions of the text.
    pub overrides: Vec<OverrideForm>,
    /// How an ambiguous local time was read.
    pub note: Option<String>,
    /// One per account.
    pub targets: Vec<TargetSummary>,
    /// One per plugged network.
    pub plugs: Vec<PlugSummary>,
    /// The attached files, in order.
    pub media: Vec<crate::media::AttachedMedia>,
}

/// Saves a post (editors and up): a draft without `schedule`, scheduled with one once every
/// rule holds. With `post_id`, replaces that post if it is still at `version`.
#[server(endpoint = "save_post")]
pub async fn save_post(workspace_id: String, post: PostForm) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let input = ssr::input(&post, &cx.user.timezone)?;
    if input.schedule.is_some() {
        cx.media_reachable(&input.connection_ids, !input.media.is_empty())
            .await?;
    }
    let now = chrono::Utc::now();
    let saved = if post.post_id.trim().is_empty() {
        posts::create(&cx.stores.db, &cx.access, &input, now).await
    } else {
        let id = crate::workspaces::ssr::parse_id(&post.post_id)?;
        posts::update(&cx.stores.db, &cx.access, id, post.version, &input, now).await
    };
    cx.indexed(saved).await
}

/// Moves a post to another time (editors and up), keeping everything else: the calendar's
/// drag and drop. `schedule` is `YYYY-MM-DDTHH:MM` in the person's time zone.
#[server(endpoint = "reschedule_post")]
pub async fn reschedule_post(
    workspace_id: String,
    post_id: String,
    version: i32,
    schedule: String,
) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    let local = ssr::local_time(&schedule)?;
    cx.post_media_reachable(id).await?;
    let saved = posts::reschedule(
        &cx.stores.db,
        &cx.access,
        id,
        version,
        local,
        &cx.user.timezone,
        chrono::Utc::now(),
    )
    .await;
    cx.indexed(saved).await
}

/// Publishes a post now (editors and up): a draft, scheduled, missed or failed post goes out
/// at once, if still at `version`.
#[server(endpoint = "publish_post_now")]
pub async fn publish_post_now(
    workspace_id: String,
    post_id: String,
    version: i32,
) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    cx.post_media_reachable(id).await?;
    let saved =
        posts::publish_now(&cx.stores.db, &cx.access, id, version, chrono::Utc::now()).await;
    cx.indexed(saved).await
}

/// Copies a post into a new draft (editors and up).
#[server(endpoint = "duplicate_post")]
pub async fn duplicate_post(
    workspace_id: String,
    post_id: String,
) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    let saved = posts::duplicate(&cx.stores.db, &cx.access, id, chrono::Utc::now()).await;
    cx.shown(saved)
}

/// Tries a failed target again now (editors and up).
#[server(endpoint = "retry_target")]
pub async fn retry_target(
    workspace_id: String,
    target_id: String,
) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&target_id)?;
    let saved = posts::retry_target(&cx.stores.db, &cx.access, id, chrono::Utc::now()).await;
    cx.indexed(saved).await
}

/// A post with its targets and plugs (any member).
#[server(endpoint = "get_post")]
pub async fn get_post(workspace_id: String, post_id: String) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::Read).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    let saved = posts::get(&cx.stores.db, &cx.access, id).await;
    cx.shown(saved)
}

/// Back to a draft (editors and up), if still at `version`.
#[server(endpoint = "unschedule_post")]
pub async fn unschedule_post(
    workspace_id: String,
    post_id: String,
    version: i32,
) -> Result<PostSummary, AppError> {
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    let saved = posts::unschedule(&cx.stores.db, &cx.access, id, version).await;
    cx.shown(saved)
}

/// Deletes a post that is not being published (editors and up).
#[server(endpoint = "delete_post")]
pub async fn delete_post(workspace_id: String, post_id: String) -> Result<(), AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    posts::delete(&cx.stores.db, &cx.access, id)
        .await
        .map_err(post_error)
}

/// Which posts to list (query-string fields of `/posts` and the calendar's range).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostFilter {
    /// `YYYY-MM-DD` in the person's zone: the first day shown (calendar).
    pub from_day: String,
    /// Days shown from `from_day` (calendar); 0 for no range.
    pub days: u32,
    /// `DRAFT`, `SCHEDULED`, … (empty for all).
    pub status: String,
    /// Network slug (empty for all).
    pub platform: String,
    /// Words the text contains.
    pub search: String,
    /// 1-based page of the list.
    pub page: u64,
}

/// A page of posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostList {
    /// This page.
    pub posts: Vec<PostSummary>,
    /// All matches.
    pub total: u64,
    /// Posts per page.
    pub per_page: u64,
    /// Today in the person's zone, `YYYY-MM-DD` (the calendar's marker).
    pub today: String,
    /// The person's zone abbreviation now ("CET").
    pub zone: String,
}

/// Posts per page of `/posts`.
pub const PER_PAGE: u64 = 20;

/// Posts of the workspace (any member): a calendar range (oldest first) when `days` is set,
/// else a filtered, searchable list (newest first), a page at a time.
#[server(endpoint = "list_posts")]
pub async fn list_posts(
    workspace_id: String,
    #[server(default)] filter: PostFilter,
) -> Result<PostList, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{post_views, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::Read).await?;
    let query = ssr::query(&filter, &cx.user.timezone)?;
    let page = post_views::list(&cx.stores.db, &cx.access, &query)
        .await
        .map_err(post_error)?;
    let (today, zone) = ssr::today(&cx.user.timezone);
    Ok(PostList {
        posts: page
            .posts
            .into_iter()
            .map(|p| ssr::summary(p, &cx.user.timezone))
            .collect(),
        total: page.total,
        per_page: query.limit,
        today,
        zone,
    })
}

/// A short line about a fired plug, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredPlug {
    /// The post it replied under.
    pub post_id: String,
    /// The post's first words.
    pub post_text: String,
    /// Network slug.
    pub platform: String,
    /// "Mon 23 Nov, 14:02 CET".
    pub fired_label: String,
    /// The reply on the network.
    pub url: Option<String>,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    /// Scheduled posts, soonest first.
    pub upcoming: Vec<PostSummary>,
    /// Published posts, latest first.
    pub recent: Vec<PostSummary>,
    /// Plugs fired, latest first.
    pub plugs_fired: Vec<FiredPlug>,
    /// Failed or missed in the last 24 hours.
    pub trouble: Vec<PostSummary>,
    /// This month.
    pub month_published: u64,
    /// This month.
    pub month_plugs: u64,
    /// This month.
    pub month_failed: u64,
    /// Days in a row with a publish.
    pub streak_days: u32,
}

/// The dashboard's numbers (any member).
#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard(workspace_id: String) -> Result<DashboardView, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{post_views, tenancy::Action};
    let cx = ssr::Cx::new(&workspace_id, Action::Read).await?;
    let tz = cx.user.timezone.clone();
    let d = post_views::dashboard(&cx.stores.db, &cx.access, &tz, chrono::Utc::now())
        .await
        .map_err(post_error)?;
    let all = |posts: Vec<omniplug_core::posts::SavedPost>| {
        posts
            .into_iter()
            .map(|p| ssr::summary(p, &tz))
            .collect::<Vec<_>>()
    };
    Ok(DashboardView {
        plugs_fired: d
            .plugs_fired
            .into_iter()
            .map(|(plug, text)| FiredPlug {
                post_id: plug.post_id.to_string(),
                post_text: text.chars().take(80).collect(),
                platform: omniplug_platforms::Platform::from(plug.platform)
                    .slug()
                    .to_owned(),
                fired_label: plug
                    .fired_at
                    .map(|at| ssr::label(at, &tz))
                    .unwrap_or_default(),
                url: plug.plug_post_url,
            })
            .collect(),
        upcoming: all(d.upcoming),
        recent: all(d.recent),
        trouble: all(d.trouble),
        month_published: d.month_published,
        month_plugs: d.month_plugs,
        month_failed: d.month_failed,
        streak_days: d.streak_days,
    })
}

/// Server-only helpers.
#[cfg(feature = "ssr")]
pub mod ssr {
    use omniplug_core::{
        entities::PlugTrigger,
        post_rules::PlugDraft,
        posts::{PostInput, SavedPost},
    };
    use omniplug_platforms::Platform;
    use sea_orm::prelude::Uuid;

    use super::{PlugSummary, PostForm, PostSummary, TargetSummary};
    use crate::error::{
        AppError, FieldMessage,
        ssr::{fail, post_error},
    };

    fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        fail(AppError::InvalidFields(vec![FieldMessage {
            field: field.into(),
            message: message.into(),
        }]))
    }

    fn network(field: &str, slug: &str) -> Result<Platform, AppError> {
        Platform::from_slug(slug.trim())
            .ok_or_else(|| invalid(field, format!("Unknown network {slug:?}.")))
    }

    /// What every post server function starts with: the stores, the signed-in person and
    /// their access to the workspace for `action`.
    #[derive(Debug)]
    pub struct Cx {
        /// Database and Redis.
        pub stores: omniplug_core::Stores,
        /// The person (their time zone shapes every time shown).
        pub user: omniplug_core::entities::user::Model,
        /// Their access to the workspace.
        pub access: omniplug_core::tenancy::WorkspaceAccess,
    }

    impl Cx {
        /// Checks the session and the person's role for `action`.
        pub async fn new(
            workspace_id: &str,
            action: omniplug_core::tenancy::Action,
        ) -> Result<Self, AppError> {
            let stores = crate::auth::ssr::stores()?;
            let (user, _, access) =
                crate::workspaces::ssr::access(&stores, workspace_id, action).await?;
            Ok(Self {
                stores,
                user,
                access,
            })
        }

        /// A service result for the interface.
        pub fn shown(
            &self,
            saved: Result<SavedPost, omniplug_core::posts::PostError>,
        ) -> Result<PostSummary, AppError> {
            saved
                .map(|saved| summary(saved, &self.user.timezone))
                .map_err(post_error)
        }

        /// Refuses media for Instagram accounts while no public address is configured:
        /// Instagram fetches each image itself, from a URL.
        pub async fn media_reachable(
            &self,
            connection_ids: &[Uuid],
            has_media: bool,
        ) -> Result<(), AppError> {
            use omniplug_core::entities::{PlatformKind, platform_connection as pc};
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            if !has_media || self.stores.media.has_public_url() {
                return Ok(());
            }
            let instagram = pc::Entity::find()
                .filter(pc::Column::WorkspaceId.eq(self.access.workspace_id()))
                .filter(pc::Column::Id.is_in(connection_ids.to_vec()))
                .filter(pc::Column::Platform.eq(PlatformKind::Instagram))
                .count(&self.stores.db)
                .await
                .map_err(crate::error::ssr::internal)?;
            if instagram > 0 {
                return Err(invalid(
                    "media.instagram",
                    "Instagram fetches images from a public address, and this server has none: set OMNIPLUG_MEDIA_PUBLIC_URL to its public https:// address, or leave Instagram out.",
                ));
            }
            Ok(())
        }

        /// [`Self::media_reachable`] for a stored post about to be scheduled (a post that is
        /// not found is left for the service to refuse).
        pub async fn post_media_reachable(&self, id: Uuid) -> Result<(), AppError> {
            let Ok(current) = omniplug_core::posts::get(&self.stores.db, &self.access, id).await
            else {
                return Ok(());
            };
            let accounts: Vec<Uuid> = current.targets.iter().map(|t| t.connection_id).collect();
            let has_media = !omniplug_core::media::attached(&current.post).is_empty();
            self.media_reachable(&accounts, has_media).await
        }

        /// [`Self::shown`], after putting the post's due targets in the worker's index.
        pub async fn indexed(
            &self,
            saved: Result<SavedPost, omniplug_core::posts::PostError>,
        ) -> Result<PostSummary, AppError> {
            let saved = saved.map_err(post_error)?;
            index(&self.stores, &saved).await;
            Ok(summary(saved, &self.user.timezone))
        }
    }

    /// `YYYY-MM-DDTHH:MM`, refused per field when it is not one.
    pub fn local_time(raw: &str) -> Result<chrono::NaiveDateTime, AppError> {
        use chrono::Datelike;
        let at = chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
            .map_err(|_| invalid("scheduled_at", "Use a date and time like 2026-12-01T09:30."))?;
        if !crate::calendar::ssr::YEARS.contains(&at.year()) {
            return Err(invalid("scheduled_at", "Pick a time within the next year."));
        }
        Ok(at)
    }

    fn zone(time_zone: &str) -> chrono_tz::Tz {
        time_zone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }

    /// "Mon 23 Nov, 09:00 CET" in the person's zone.
    pub fn label(at: chrono::DateTime<chrono::Utc>, time_zone: &str) -> String {
        at.with_timezone(&zone(time_zone))
            .format("%a %-d %b, %H:%M %Z")
            .to_string()
    }

    /// Today in the person's zone and the zone's abbreviation now.
    pub fn today(time_zone: &str) -> (String, String) {
        let now = chrono::Utc::now().with_timezone(&zone(time_zone));
        (
            now.format("%Y-%m-%d").to_string(),
            now.format("%Z").to_string(),
        )
    }

    /// The service's query from the filter; a range is days in the person's zone.
    pub fn query(
        filter: &super::PostFilter,
        time_zone: &str,
    ) -> Result<omniplug_core::post_views::PostQuery, AppError> {
        use chrono::TimeZone;
        use omniplug_core::{entities::PostStatus, post_views::PostQuery};
        let statuses = match filter.status.trim().to_ascii_uppercase().as_str() {
            "" => Vec::new(),
            "DRAFT" => vec![PostStatus::Draft],
            "SCHEDULED" => vec![PostStatus::Scheduled],
            "PUBLISHING" => vec![PostStatus::Publishing],
            "PUBLISHED" => vec![PostStatus::Published, PostStatus::PartiallyPublished],
            "FAILED" => vec![PostStatus::Failed],
            "MISSED" => vec![PostStatus::Missed],
            other => return Err(invalid("status", format!("Unknown status {other:?}."))),
        };
        let platform = match filter.platform.trim() {
            "" => None,
            slug => Some(network("platform", slug)?.into()),
        };
        let mut query = PostQuery {
            statuses,
            platform,
            search: Some(filter.search.clone()).filter(|s| !s.trim().is_empty()),
            offset: (filter.page.max(1) - 1).saturating_mul(super::PER_PAGE),
            limit: super::PER_PAGE,
            ascending: false,
            ..PostQuery::default()
        };
        if filter.days > 0 {
            if filter.days > 62 {
                return Err(invalid("days", "Show at most 62 days at once."));
            }
            let day = crate::calendar::ssr::calendar_day(&filter.from_day)
                .map_err(|message| invalid("from_day", message))?;
            let tz = zone(time_zone);
            let start = |d: chrono::NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .and_then(|m| tz.from_local_datetime(&m).earliest())
                    .map(|at| at.with_timezone(&chrono::Utc))
            };
            query.from = start(day);
            query.to = start(day + chrono::Duration::days(i64::from(filter.days)));
            query.ascending = true;
            query.offset = 0;
            query.limit = omniplug_core::post_views::MAX_PAGE;
        }
        Ok(query)
    }

    /// The service's input from the form; shapes that cannot be read are refused per field.
    pub fn input(form: &PostForm, time_zone: &str) -> Result<PostInput, AppError> {
        let mut overrides = Vec::with_capacity(form.overrides.len());
        for o in &form.overrides {
            overrides.push((network("overrides", &o.platform)?, o.text.clone()));
        }
        let mut plugs = Vec::with_capacity(form.plugs.len());
        for p in &form.plugs {
            let platform = network("plugs", &p.platform)?;
            let trigger = match p.trigger.trim() {
                "likes" => PlugTrigger::Likes,
                "comments" => PlugTrigger::Comments,
                "reposts" => PlugTrigger::Reposts,
                "time_after_publish" => PlugTrigger::TimeAfterPublish,
                _ => {
                    return Err(invalid(
                        format!("plugs.{}.trigger", platform.slug()),
                        "Pick what fires the plug: likes, comments, reposts or time after publishing.",
                    ));
                }
            };
            plugs.push(PlugDraft {
                platform,
                text: p.text.clone(),
                trigger,
                value: p.value,
            });
        }
        let mut connection_ids = Vec::with_capacity(form.connection_ids.len());
        for raw in &form.connection_ids {
            // An id that does not parse cannot be one of the workspace's accounts.
            connection_ids.push(
                Uuid::parse_str(raw.trim())
                    .map_err(|_| post_error(omniplug_core::posts::PostError::NotFound))?,
            );
        }
        let schedule = match form.schedule.trim() {
            "" => None,
            raw => Some(local_time(raw)?),
        };
        let mut media = Vec::with_capacity(form.media.len());
        for m in &form.media {
            media.push(omniplug_core::media::Attached {
                id: Uuid::parse_str(m.id.trim()).map_err(|_| {
                    invalid("media", "An attached file is not in the media library.")
                })?,
                alt: m.alt.clone(),
                ..Default::default()
            });
        }
        Ok(PostInput {
            text: form.text.clone(),
            overrides,
            connection_ids,
            plugs,
            schedule,
            time_zone: time_zone.to_owned(),
            media,
        })
    }

    /// The stored spelling (`DRAFT`, `TIME_AFTER_PUBLISH`, …).
    fn upper<T: sea_orm::ActiveEnum<Value = String>>(value: &T) -> String {
        value.to_value()
    }

    /// A saved post for the interface, its times in `time_zone`.
    pub fn summary(saved: SavedPost, time_zone: &str) -> PostSummary {
        let rfc = |at: chrono::DateTime<chrono::Utc>| {
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        let when = saved.post.scheduled_at.or(saved.post.published_at);
        let media = omniplug_core::media::attached(&saved.post)
            .into_iter()
            .map(|m| crate::media::AttachedMedia {
                id: m.id.to_string(),
                alt: m.alt,
                mime: m.mime,
                bytes: m.bytes,
                width: m.width,
                height: m.height,
                name: m.name,
            })
            .collect();
        PostSummary {
            media,
            id: saved.post.id.to_string(),
            version: saved.post.version,
            status: upper(&saved.post.status),
            text: saved.post.content,
            scheduled_at: saved.post.scheduled_at.map(rfc),
            published_at: saved.post.published_at.map(rfc),
            local_at: when.map(|at| {
                at.with_timezone(&zone(time_zone))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            }),
            local_label: when.map(|at| label(at, time_zone)),
            note: saved.note,
            overrides: saved
                .targets
                .iter()
                .filter_map(|t| {
                    Some(super::OverrideForm {
                        platform: Platform::from(t.platform).slug().to_owned(),
                        text: t.content_override.clone()?,
                    })
                })
                .collect(),
            targets: saved
                .targets
                .into_iter()
                .map(|t| TargetSummary {
                    connection_id: t.connection_id.to_string(),
                    platform: Platform::from(t.platform).slug().to_owned(),
                    state: upper(&t.state),
                    id: t.id.to_string(),
                    fail_reason: t.fail_reason,
                    url: t.platform_post_url,
                    likes: t.like_count,
                    comments: t.comment_count,
                    reposts: t.repost_count,
                })
                .collect(),
            plugs: saved
                .plugs
                .into_iter()
                .map(|p| PlugSummary {
                    platform: Platform::from(p.platform).slug().to_owned(),
                    text: p.content,
                    trigger: upper(&p.trigger),
                    value: p.trigger_value,
                    status: upper(&p.status),
                    fail_reason: p.fail_reason,
                    url: p.plug_post_url,
                })
                .collect(),
        }
    }

    /// Puts a saved post's due targets in the worker's index. A Redis hiccup is only logged:
    /// the worker's sweep finds the targets from the database minutes ahead of their time.
    pub async fn index(stores: &omniplug_core::Stores, saved: &SavedPost) {
        if let Err(err) =
            omniplug_core::schedule::index_targets(&stores.redis, &saved.targets).await
        {
            tracing::warn!(error = %err, post_id = %saved.post.id, "could not index the post; the worker's sweep will");
        }
    }
}
