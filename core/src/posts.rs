//! Posts as people write them: save a draft, schedule it, edit it, unschedule it, delete it.
//! A post has one target per selected connection (with that network's text override) and at
//! most one auto-plug per targeted network.
//!
//! Every change is a compare-and-set on the post's `version` and its status, so an edit made
//! from a stale page, or racing the worker that has started publishing, is refused instead of
//! silently lost. Publishing itself is the worker's (`worker/src/engine/`).

use chrono::{DateTime, NaiveDateTime, Utc};
use omniplug_platforms::{Platform, media::MediaFacts};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, QueryFilter, QueryOrder, TransactionTrait, prelude::Uuid, sea_query::Expr,
};

use crate::{
    entities::{
        PlatformKind, PlugStatus, PostStatus, TargetState, auto_plug, media_asset,
        platform_connection as pc, post, post_target,
    },
    media::{self as library, Attached},
    post_rules::{FieldError, PlugDraft, PostDraft, check_post, resolve_schedule},
    tenancy::{Action, WorkspaceAccess},
};

/// The longest text a draft may hold (well above every network's limit; a guard, not a rule).
pub const MAX_DRAFT_CHARS: usize = 20_000;
/// Most accounts one post goes to.
pub const MAX_TARGETS: usize = 50;
/// Highest plug threshold (or delay in minutes) a post may keep.
pub const MAX_PLUG_VALUE: i64 = 100_000_000;

/// Why a post could not be saved; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Outside the caller's workspace, or gone (also for connections that are).
    #[error("Not found.")]
    NotFound,
    /// A member whose role is too low.
    #[error("Your role does not allow this. Ask a workspace {needed} or owner.")]
    Forbidden {
        /// The least role that may, in words.
        needed: &'static str,
    },
    /// What is wrong, field by field.
    #[error("{}", .0.first().map_or("Check the post.", |e| e.message.as_str()))]
    Invalid(Vec<FieldError>),
    /// Publishing has started or finished: the post can no longer change.
    #[error("This post is {0} and can no longer be changed.")]
    Locked(&'static str),
    /// Someone (or the worker) changed it since the caller loaded it.
    #[error("This post was changed in the meantime. Reload it to see the latest version.")]
    Conflict,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

crate::tenancy::from_access_error!(PostError);

/// What the composer sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostInput {
    /// Text for every network unless overridden.
    pub text: String,
    /// Per-network versions of the text.
    pub overrides: Vec<(Platform, String)>,
    /// The accounts to post to.
    pub connection_ids: Vec<Uuid>,
    /// Auto-plugs, at most one per targeted network.
    pub plugs: Vec<PlugDraft>,
    /// When to publish, as a wall-clock time in `time_zone`; `None` keeps a draft.
    pub schedule: Option<NaiveDateTime>,
    /// The person's IANA time zone.
    pub time_zone: String,
    /// Files from the workspace's media library, in order, with this post's alt text.
    pub media: Vec<Attached>,
}

/// A post with its targets and plugs, and a note about how its time was read (DST overlap).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPost {
    /// The post.
    pub post: post::Model,
    /// One per connection.
    pub targets: Vec<post_target::Model>,
    /// One per plugged network.
    pub plugs: Vec<auto_plug::Model>,
    /// Set when the schedule time was ambiguous.
    pub note: Option<String>,
}

fn status_words(status: PostStatus) -> &'static str {
    match status {
        PostStatus::Publishing => "publishing",
        PostStatus::Published => "published",
        PostStatus::PartiallyPublished => "partly published",
        _ => "in use",
    }
}

/// Statuses a person may still edit.
const EDITABLE: [PostStatus; 4] = [
    PostStatus::Draft,
    PostStatus::Scheduled,
    PostStatus::Failed,
    PostStatus::Missed,
];

/// The attached files' facts, and the list to store (with the assets' facts copied), after
/// checking they are in the workspace's library, their alt text fits, and there are not too
/// many of them (also for drafts).
async fn media_facts(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    media: &[Attached],
) -> Result<(Vec<MediaFacts>, Vec<Attached>), PostError> {
    let invalid = |message: String| {
        PostError::Invalid(vec![FieldError {
            field: "media".into(),
            message,
        }])
    };
    if media.len() > 10 {
        return Err(invalid(
            "A post carries at most 4 images or 1 video.".into(),
        ));
    }
    let ids: Vec<Uuid> = media.iter().map(|m| m.id).collect();
    let assets = library::assets_in_order(db, access.workspace_id(), &ids)
        .await
        .map_err(|err| match err {
            library::MediaError::Database(err) => PostError::Database(err),
            _ => invalid(
                "An attached file is no longer in the media library; remove it from the post."
                    .into(),
            ),
        })?;
    if media
        .iter()
        .any(|m| m.alt.chars().count() > omniplug_platforms::media::MAX_ALT_CHARS)
    {
        return Err(invalid(format!(
            "Keep alt text under {} characters.",
            omniplug_platforms::media::MAX_ALT_CHARS
        )));
    }
    let facts: Vec<MediaFacts> = assets.iter().filter_map(library::facts).collect();
    if let Some(problem) = omniplug_platforms::media::check_set(&facts) {
        return Err(invalid(problem));
    }
    let stored = assets
        .iter()
        .zip(media)
        .map(|(asset, m)| Attached::of(asset, &m.alt))
        .collect();
    Ok((facts, stored))
}

/// What saving learned: the accounts, the status to store, the instant, the note about the
/// time, and the media list to store.
struct Prepared {
    connections: Vec<pc::Model>,
    status: PostStatus,
    scheduled_at: Option<DateTime<Utc>>,
    note: Option<String>,
    media: serde_json::Value,
}

/// The limits every save meets, a draft's too: how much text, at most one version and one plug
/// per network, thresholds in range. The full rules (each network's length, media, what the
/// post goes to) wait until it is scheduled.
fn draft_limits(input: &PostInput) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let too_long = |text: &str| text.chars().count() > MAX_DRAFT_CHARS;
    if too_long(&input.text) {
        errors.push(FieldError::new(
            "text",
            format!("Keep posts under {MAX_DRAFT_CHARS} characters."),
        ));
    }
    let mut seen = Vec::new();
    for (platform, text) in &input.overrides {
        let field = format!("overrides.{}", platform.slug());
        if seen.contains(platform) {
            errors.push(FieldError::new(
                field,
                format!("Only one {} version per post.", platform.display_name()),
            ));
        } else if too_long(text) {
            errors.push(FieldError::new(
                field,
                format!("Keep each network's version under {MAX_DRAFT_CHARS} characters."),
            ));
        }
        seen.push(*platform);
    }
    let mut seen = Vec::new();
    for plug in &input.plugs {
        let slug = plug.platform.slug();
        if seen.contains(&plug.platform) {
            errors.push(FieldError::new(
                format!("plugs.{slug}"),
                format!(
                    "Only one plug per network: remove the second {} plug.",
                    plug.platform.display_name()
                ),
            ));
        } else if too_long(&plug.text) {
            errors.push(FieldError::new(
                format!("plugs.{slug}.text"),
                format!("Keep plugs under {MAX_DRAFT_CHARS} characters."),
            ));
        } else if !(0..=MAX_PLUG_VALUE).contains(&plug.value) {
            errors.push(FieldError::new(
                format!("plugs.{slug}.value"),
                format!("Use a number between 0 and {MAX_PLUG_VALUE}."),
            ));
        }
        seen.push(plug.platform);
    }
    if input.connection_ids.len() > MAX_TARGETS {
        errors.push(FieldError::new(
            "connection_ids",
            format!("A post goes to at most {MAX_TARGETS} accounts."),
        ));
    }
    errors
}

/// Checks the input against the workspace's connections, its media library and the rules.
async fn prepare(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    input: &PostInput,
    now: DateTime<Utc>,
) -> Result<Prepared, PostError> {
    let mut ids = input.connection_ids.clone();
    ids.sort();
    ids.dedup();
    let connections = pc::Entity::find()
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::DisconnectedAt.is_null())
        .filter(pc::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    if connections.len() != ids.len() {
        return Err(PostError::NotFound);
    }
    let errors = draft_limits(input);
    if !errors.is_empty() {
        return Err(PostError::Invalid(errors));
    }
    let (media, stored) = media_facts(db, access, &input.media).await?;
    let stored = media_json(&stored);
    let Some(local) = input.schedule else {
        return Ok(Prepared {
            connections,
            status: PostStatus::Draft,
            scheduled_at: None,
            note: None,
            media: stored,
        });
    };
    let draft = PostDraft {
        text: input.text.clone(),
        overrides: input.overrides.clone(),
        targets: connections
            .iter()
            .map(|c| Platform::from(c.platform))
            .collect(),
        plugs: input.plugs.clone(),
        media,
    };
    let mut errors = check_post(&draft);
    let resolved = resolve_schedule(local, &input.time_zone, now)
        .map_err(|e| errors.push(e))
        .ok();
    match resolved {
        Some(resolved) if errors.is_empty() => Ok(Prepared {
            connections,
            status: PostStatus::Scheduled,
            scheduled_at: Some(resolved.at),
            note: resolved.note,
            media: stored,
        }),
        _ => Err(PostError::Invalid(errors)),
    }
}

/// Writes the targets and plugs of a post (after removing any old ones).
/// Keeps each attached file's latest alt text on the file itself, so the next post that takes
/// it from the library starts with it.
async fn remember_alt_text(
    txn: &DatabaseTransaction,
    access: &WorkspaceAccess,
    media: &[Attached],
) -> Result<(), PostError> {
    for attached in media.iter().filter(|m| !m.alt.trim().is_empty()) {
        media_asset::Entity::update_many()
            .col_expr(
                media_asset::Column::AltText,
                Expr::value(Some(attached.alt.trim().to_owned())),
            )
            .filter(media_asset::Column::Id.eq(attached.id))
            .filter(media_asset::Column::WorkspaceId.eq(access.workspace_id()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

async fn write_children(
    txn: &DatabaseTransaction,
    post: &post::Model,
    input: &PostInput,
    connections: &[pc::Model],
    now: DateTime<Utc>,
) -> Result<(Vec<post_target::Model>, Vec<auto_plug::Model>), DbErr> {
    post_target::Entity::delete_many()
        .filter(post_target::Column::PostId.eq(post.id))
        .exec(txn)
        .await?;
    auto_plug::Entity::delete_many()
        .filter(auto_plug::Column::PostId.eq(post.id))
        .exec(txn)
        .await?;
    let mut targets = Vec::with_capacity(connections.len());
    for connection in connections {
        let platform = Platform::from(connection.platform);
        let content_override = input
            .overrides
            .iter()
            .find(|(p, _)| *p == platform)
            .map(|(_, t)| t.clone());
        targets.push(
            post_target::ActiveModel {
                id: Set(Uuid::now_v7()),
                post_id: Set(post.id),
                workspace_id: Set(post.workspace_id),
                platform: Set(connection.platform),
                connection_id: Set(connection.id),
                content_override: Set(content_override),
                state: Set(TargetState::Pending),
                attempts: Set(0),
                next_attempt_at: Set(post.scheduled_at),
                lease_until: Set(None),
                platform_post_id: Set(None),
                platform_post_url: Set(None),
                like_count: Set(0),
                comment_count: Set(0),
                repost_count: Set(0),
                impression_count: Set(0),
                last_polled_at: Set(None),
                next_poll_at: Set(None),
                published_at: Set(None),
                fail_reason: Set(None),
                version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                platform_post_cid: Set(None),
            }
            .insert(txn)
            .await?,
        );
    }
    let mut plugs = Vec::with_capacity(input.plugs.len());
    for plug in &input.plugs {
        plugs.push(
            auto_plug::ActiveModel {
                id: Set(Uuid::now_v7()),
                post_id: Set(post.id),
                workspace_id: Set(post.workspace_id),
                platform: Set(PlatformKind::from(plug.platform)),
                content: Set(plug.text.clone()),
                trigger: Set(plug.trigger),
                trigger_value: Set(plug.value),
                status: Set(PlugStatus::Pending),
                fired_at: Set(None),
                plug_post_id: Set(None),
                plug_post_url: Set(None),
                fail_reason: Set(None),
                version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                lease_until: Set(None),
                attempts: Set(0),
            }
            .insert(txn)
            .await?,
        );
    }
    Ok((targets, plugs))
}

/// Saves a new post: a draft without a schedule, scheduled with one (then fully checked).
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id()), err(level = tracing::Level::INFO))]
pub async fn create(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    input: &PostInput,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let ready = prepare(db, access, input, now).await?;
    let txn = db.begin().await?;
    let saved = post::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(access.workspace_id()),
        author_id: Set(Some(access.user_id())),
        content: Set(input.text.clone()),
        media: Set(ready.media),
        status: Set(ready.status),
        scheduled_at: Set(ready.scheduled_at),
        published_at: Set(None),
        fail_reason: Set(None),
        version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let (targets, plugs) = write_children(&txn, &saved, input, &ready.connections, now).await?;
    remember_alt_text(&txn, access, &input.media).await?;
    txn.commit().await?;
    Ok(SavedPost {
        post: saved,
        targets,
        plugs,
        note: ready.note,
    })
}

/// Replaces a post's content, accounts, plugs and schedule, if it is still at `version` and
/// not publishing or published.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %id), err(level = tracing::Level::INFO))]
pub async fn update(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    version: i32,
    input: &PostInput,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let current = find(db, access, id).await?;
    if !EDITABLE.contains(&current.status) {
        return Err(PostError::Locked(status_words(current.status)));
    }
    let ready = prepare(db, access, input, now).await?;
    let txn = db.begin().await?;
    let changed = post::Entity::update_many()
        .col_expr(post::Column::Content, Expr::value(input.text.clone()))
        .col_expr(post::Column::Media, Expr::value(ready.media))
        .col_expr(post::Column::Status, Expr::value(ready.status))
        .col_expr(post::Column::ScheduledAt, Expr::value(ready.scheduled_at))
        .col_expr(
            post::Column::FailReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(post::Column::Version, Expr::value(version + 1))
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(id))
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(post::Column::Version.eq(version))
        .filter(post::Column::Status.is_in(EDITABLE))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(conflict_or_lock(db, access, id).await);
    }
    let saved = post::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(PostError::NotFound)?;
    let (targets, plugs) = write_children(&txn, &saved, input, &ready.connections, now).await?;
    remember_alt_text(&txn, access, &input.media).await?;
    txn.commit().await?;
    Ok(SavedPost {
        post: saved,
        targets,
        plugs,
        note: ready.note,
    })
}

/// Moves a post to another time (the calendar's drag and drop): everything else stays as it
/// is, and every rule of saving applies (the time must exist in `time_zone`, be ahead, …).
pub async fn reschedule(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    version: i32,
    local: NaiveDateTime,
    time_zone: &str,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    let current = get(db, access, id).await?;
    let mut input = input_of(&current, time_zone);
    input.schedule = Some(local);
    update(db, access, id, version, &input, now).await
}

/// Turns a scheduled (or missed, or failed) post back into a draft.
pub async fn unschedule(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    version: i32,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let changed = post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(PostStatus::Draft))
        .col_expr(
            post::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(post::Column::Version, Expr::value(version + 1))
        .col_expr(post::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(post::Column::Id.eq(id))
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(post::Column::Version.eq(version))
        .filter(post::Column::Status.is_in(EDITABLE))
        .exec(db)
        .await?;
    if changed.rows_affected != 1 {
        return Err(conflict_or_lock(db, access, id).await);
    }
    get(db, access, id).await
}

/// Deletes a post that is not being published (a published one may be deleted: it stays on
/// the networks, OmniPlug forgets it).
pub async fn delete(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<(), PostError> {
    access.check(Action::WritePosts)?;
    let current = find(db, access, id).await?;
    let deleted = post::Entity::delete_many()
        .filter(post::Column::Id.eq(id))
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(post::Column::Status.ne(PostStatus::Publishing))
        .exec(db)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(PostError::Locked(status_words(current.status)));
    }
    Ok(())
}

/// A post with its targets and plugs (anyone in the workspace).
pub async fn get(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<SavedPost, PostError> {
    access.check(Action::Read)?;
    let found = find(db, access, id).await?;
    let targets = post_target::Entity::find()
        .filter(post_target::Column::PostId.eq(id))
        .order_by_asc(post_target::Column::Id)
        .all(db)
        .await?;
    let plugs = auto_plug::Entity::find()
        .filter(auto_plug::Column::PostId.eq(id))
        .order_by_asc(auto_plug::Column::Id)
        .all(db)
        .await?;
    Ok(SavedPost {
        post: found,
        targets,
        plugs,
        note: None,
    })
}

async fn find(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<post::Model, PostError> {
    post::Entity::find_by_id(id)
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .one(db)
        .await?
        .ok_or(PostError::NotFound)
}

/// Why a compare-and-set found nothing: gone, locked by publishing, or a newer version.
async fn conflict_or_lock(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> PostError {
    match find(db, access, id).await {
        Ok(current) if !EDITABLE.contains(&current.status) => {
            PostError::Locked(status_words(current.status))
        }
        Ok(_) => PostError::Conflict,
        Err(err) => err,
    }
}

/// The composer's input rebuilt from a stored post (for duplicating and for checking a draft
/// before it goes out).
fn input_of(saved: &SavedPost, time_zone: &str) -> PostInput {
    PostInput {
        text: saved.post.content.clone(),
        overrides: saved
            .targets
            .iter()
            .filter_map(|t| {
                t.content_override
                    .clone()
                    .map(|text| (Platform::from(t.platform), text))
            })
            .collect(),
        connection_ids: saved.targets.iter().map(|t| t.connection_id).collect(),
        plugs: saved
            .plugs
            .iter()
            .map(|p| PlugDraft {
                platform: p.platform.into(),
                text: p.content.clone(),
                trigger: p.trigger,
                value: p.trigger_value,
            })
            .collect(),
        schedule: None,
        time_zone: time_zone.to_owned(),
        media: library::attached(&saved.post),
    }
}

fn media_json(media: &[Attached]) -> serde_json::Value {
    serde_json::to_value(media).unwrap_or_else(|_| serde_json::json!([]))
}

/// Publishes a draft, scheduled, missed or failed post now: it is checked like a scheduled
/// one, then every target that has not gone out is due at once.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %id), err(level = tracing::Level::INFO))]
pub async fn publish_now(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    version: i32,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let current = get(db, access, id).await?;
    if !EDITABLE.contains(&current.post.status) {
        return Err(PostError::Locked(status_words(current.post.status)));
    }
    if current.targets.is_empty() {
        return Err(PostError::Invalid(vec![FieldError {
            field: "connection_ids".into(),
            message: "Pick at least one account to post to.".into(),
        }]));
    }
    let input = input_of(&current, "UTC");
    let (media, _) = media_facts(db, access, &input.media).await?;
    let errors = check_post(&PostDraft {
        text: input.text.clone(),
        overrides: input.overrides.clone(),
        targets: current
            .targets
            .iter()
            .map(|t| Platform::from(t.platform))
            .collect(),
        plugs: input.plugs.clone(),
        media,
    });
    if !errors.is_empty() {
        return Err(PostError::Invalid(errors));
    }
    let txn = db.begin().await?;
    let changed = post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(PostStatus::Scheduled))
        .col_expr(post::Column::ScheduledAt, Expr::value(Some(now)))
        .col_expr(
            post::Column::FailReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(post::Column::Version, Expr::value(version + 1))
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(id))
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(post::Column::Version.eq(version))
        .filter(post::Column::Status.is_in(EDITABLE))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(conflict_or_lock(db, access, id).await);
    }
    post_target::Entity::update_many()
        .col_expr(
            post_target::Column::State,
            Expr::value(TargetState::Pending),
        )
        .col_expr(post_target::Column::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(post_target::Column::Attempts, Expr::value(0))
        .col_expr(
            post_target::Column::FailReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            post_target::Column::Version,
            Expr::col(post_target::Column::Version).add(1),
        )
        .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
        .filter(post_target::Column::PostId.eq(id))
        .filter(post_target::Column::State.ne(TargetState::Published))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    get(db, access, id).await
}

/// Tries a failed target again now (after the person fixed the cause, say reconnected the
/// account); the post goes back to publishing.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %target_id), err(level = tracing::Level::INFO))]
pub async fn retry_target(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    target_id: Uuid,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let target = post_target::Entity::find_by_id(target_id)
        .filter(post_target::Column::WorkspaceId.eq(access.workspace_id()))
        .one(db)
        .await?
        .ok_or(PostError::NotFound)?;
    if target.state != TargetState::Failed {
        return Err(PostError::Conflict);
    }
    let txn = db.begin().await?;
    let changed = post_target::Entity::update_many()
        .col_expr(
            post_target::Column::State,
            Expr::value(TargetState::Pending),
        )
        .col_expr(post_target::Column::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(post_target::Column::Attempts, Expr::value(0))
        .col_expr(
            post_target::Column::FailReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            post_target::Column::Version,
            Expr::value(target.version + 1),
        )
        .col_expr(post_target::Column::UpdatedAt, Expr::value(now))
        .filter(post_target::Column::Id.eq(target_id))
        .filter(post_target::Column::Version.eq(target.version))
        .filter(post_target::Column::State.eq(TargetState::Failed))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(PostError::Conflict);
    }
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(PostStatus::Publishing))
        .col_expr(
            post::Column::FailReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            post::Column::Version,
            Expr::col(post::Column::Version).add(1),
        )
        .col_expr(post::Column::UpdatedAt, Expr::value(now))
        .filter(post::Column::Id.eq(target.post_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    get(db, access, target.post_id).await
}

/// Copies a post (text, overrides, accounts still connected, plugs) into a new draft.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), %id), err(level = tracing::Level::INFO))]
pub async fn duplicate(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<SavedPost, PostError> {
    access.check(Action::WritePosts)?;
    let source = get(db, access, id).await?;
    let mut input = input_of(&source, "UTC");
    let connected: Vec<Uuid> = pc::Entity::find()
        .filter(pc::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(pc::Column::DisconnectedAt.is_null())
        .filter(pc::Column::Id.is_in(input.connection_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    input.connection_ids.retain(|c| connected.contains(c));
    create(db, access, &input, now).await
}
