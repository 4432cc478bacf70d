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
    /// How an ambiguous local time was read.
    pub note: Option<String>,
    /// One per account.
    pub targets: Vec<TargetSummary>,
    /// One per plugged network.
    pub plugs: Vec<PlugSummary>,
}

/// Saves a post (editors and up): a draft without `schedule`, scheduled with one once every
/// rule holds. With `post_id`, replaces that post if it is still at `version`.
#[server(endpoint = "save_post")]
pub async fn save_post(workspace_id: String, post: PostForm) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (user, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let input = ssr::input(&post, &user.timezone)?;
    let now = chrono::Utc::now();
    let saved = if post.post_id.trim().is_empty() {
        posts::create(&stores.db, &access, &input, now).await
    } else {
        let id = crate::workspaces::ssr::parse_id(&post.post_id)?;
        posts::update(&stores.db, &access, id, post.version, &input, now).await
    }
    .map_err(post_error)?;
    ssr::index(&stores, &saved).await;
    Ok(ssr::summary(saved))
}

/// Publishes a post now (editors and up): a draft, scheduled, missed or failed post goes out
/// at once, if still at `version`.
#[server(endpoint = "publish_post_now")]
pub async fn publish_post_now(
    workspace_id: String,
    post_id: String,
    version: i32,
) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    let saved = posts::publish_now(&stores.db, &access, id, version, chrono::Utc::now())
        .await
        .map_err(post_error)?;
    ssr::index(&stores, &saved).await;
    Ok(ssr::summary(saved))
}

/// Copies a post into a new draft (editors and up).
#[server(endpoint = "duplicate_post")]
pub async fn duplicate_post(
    workspace_id: String,
    post_id: String,
) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    posts::duplicate(&stores.db, &access, id, chrono::Utc::now())
        .await
        .map(ssr::summary)
        .map_err(post_error)
}

/// Tries a failed target again now (editors and up).
#[server(endpoint = "retry_target")]
pub async fn retry_target(
    workspace_id: String,
    target_id: String,
) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&target_id)?;
    let saved = posts::retry_target(&stores.db, &access, id, chrono::Utc::now())
        .await
        .map_err(post_error)?;
    ssr::index(&stores, &saved).await;
    Ok(ssr::summary(saved))
}

/// A post with its targets and plugs (any member).
#[server(endpoint = "get_post")]
pub async fn get_post(workspace_id: String, post_id: String) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::Read).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    posts::get(&stores.db, &access, id)
        .await
        .map(ssr::summary)
        .map_err(post_error)
}

/// Back to a draft (editors and up), if still at `version`.
#[server(endpoint = "unschedule_post")]
pub async fn unschedule_post(
    workspace_id: String,
    post_id: String,
    version: i32,
) -> Result<PostSummary, AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    posts::unschedule(&stores.db, &access, id, version)
        .await
        .map(ssr::summary)
        .map_err(post_error)
}

/// Deletes a post that is not being published (editors and up).
#[server(endpoint = "delete_post")]
pub async fn delete_post(workspace_id: String, post_id: String) -> Result<(), AppError> {
    use crate::error::ssr::post_error;
    use omniplug_core::{posts, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&post_id)?;
    posts::delete(&stores.db, &access, id)
        .await
        .map_err(post_error)
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
            raw => Some(
                chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").map_err(|_| {
                    invalid("scheduled_at", "Use a date and time like 2026-12-01T09:30.")
                })?,
            ),
        };
        Ok(PostInput {
            text: form.text.clone(),
            overrides,
            connection_ids,
            plugs,
            schedule,
            time_zone: time_zone.to_owned(),
        })
    }

    /// The stored spelling (`DRAFT`, `TIME_AFTER_PUBLISH`, …).
    fn upper<T: sea_orm::ActiveEnum<Value = String>>(value: &T) -> String {
        value.to_value()
    }

    /// A saved post for the interface.
    pub fn summary(saved: SavedPost) -> PostSummary {
        PostSummary {
            id: saved.post.id.to_string(),
            version: saved.post.version,
            status: upper(&saved.post.status),
            text: saved.post.content,
            scheduled_at: saved
                .post
                .scheduled_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            note: saved.note,
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
