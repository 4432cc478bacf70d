//! Uploaded images and videos: stored once per workspace (a local folder, or an S3-compatible
//! bucket), recognised by their content, measured, given a server-made thumbnail, and read
//! back by the worker when a post carrying them is published.
//!
//! Storage keys are made of ids only (`media/<workspace>/<asset>`), so a file's name is a
//! label and never part of a path.

mod incoming;
mod inspect;
mod store;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::path::Path;
use omniplug_platforms::media::{MAX_VIDEO_BYTES, MediaFacts, MediaType, size_label};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    prelude::Uuid,
    sea_query::{Expr, OnConflict},
};

pub use incoming::{Allowance, Incoming, too_large_refusal};
pub use inspect::{Inspected, THUMB_SIZE, inspect, inspect_file};
pub use store::MediaStore;
use store::thumb_key;

use crate::{
    entities::{MediaKind, PostStatus, media_asset, media_usage, post},
    tenancy::{Action, WorkspaceAccess},
};

/// Why a media operation failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Outside the caller's workspace, or deleted.
    #[error("That file is not in this workspace's media library.")]
    NotFound,
    /// A member whose role is too low.
    #[error("Your role does not allow this. Ask a workspace {needed} or owner.")]
    Forbidden {
        /// The least role that may, in words.
        needed: &'static str,
    },
    /// Bigger than OmniPlug stores (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// Not a type OmniPlug takes, or not readable as the type it claims (HTTP 415).
    #[error("{0}")]
    Unsupported(String),
    /// Still attached to a post that has not gone out.
    #[error("{0}")]
    InUse(String),
    /// The folder or bucket failed.
    #[error("media storage: {0}")]
    Storage(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

crate::tenancy::from_access_error!(MediaError);

impl From<object_store::Error> for MediaError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => Self::NotFound,
            other => Self::Storage(other.to_string()),
        }
    }
}
/// A file name fit to show: the last path component, without control characters, at most
/// 120 characters. Never used to build a path.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    // SystemRandom only fails when the OS has no randomness, and then nothing is safe anyway.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("operating system random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The month an upload counts towards, `YYYY-MM` (UTC).
pub fn usage_month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}
/// Bytes a workspace's files take in all.
pub async fn bytes_stored(db: &DatabaseConnection, workspace_id: Uuid) -> Result<u64, DbErr> {
    let total: Option<i64> = media_asset::Entity::find()
        .select_only()
        .column_as(
            Expr::col(media_asset::Column::ByteSize)
                .sum()
                .cast_as(sea_orm::sea_query::Alias::new("BIGINT")),
            "total",
        )
        .filter(media_asset::Column::WorkspaceId.eq(workspace_id))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(total.unwrap_or(0).unsigned_abs())
}

/// What the next upload to the workspace may bring (editors and up): the largest file
/// OmniPlug takes, or what is left of the workspace's `quota` if that is less. A full library
/// is refused before anything is read.
pub async fn allowance(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    quota: u64,
) -> Result<Allowance, MediaError> {
    access.check(Action::WritePosts)?;
    let used = bytes_stored(db, access.workspace_id()).await?;
    let room = quota.saturating_sub(used);
    let full = || {
        format!(
            "This workspace's media library is full: its files take {} of the {} it may hold. \
             Delete files you no longer need under Media, then upload again.",
            size_label(used),
            size_label(quota)
        )
    };
    if room == 0 {
        return Err(MediaError::TooLarge(full()));
    }
    Ok(if room < MAX_VIDEO_BYTES {
        Allowance {
            max: room,
            refusal: format!(
                "This file does not fit in the workspace's media library: {} of its {} are left. \
                 Delete files you no longer need under Media, then upload again.",
                size_label(room),
                size_label(quota)
            ),
        }
    } else {
        Allowance {
            max: MAX_VIDEO_BYTES,
            refusal: too_large_refusal(),
        }
    })
}

/// Stores a received file in the workspace's library (editors and up): checks its content,
/// makes a thumbnail, writes file and thumbnail, records the asset and counts the upload.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), bytes = incoming.len), err(level = tracing::Level::INFO))]
pub async fn upload(
    db: &DatabaseConnection,
    store: &MediaStore,
    access: &WorkspaceAccess,
    file_name: &str,
    incoming: Incoming,
    now: DateTime<Utc>,
) -> Result<media_asset::Model, MediaError> {
    access.check(Action::WritePosts)?;
    let Incoming {
        mut file,
        len,
        sha256,
        ..
    } = incoming;
    let (inspected, file) = tokio::task::spawn_blocking(move || {
        let inspected = inspect_file(&mut file, len);
        (inspected, file)
    })
    .await
    .map_err(|err| MediaError::Storage(format!("inspecting the file: {err}")))?;
    let inspected = inspected?;
    let mut file = file;
    std::io::Seek::rewind(&mut file)
        .map_err(|err| MediaError::Storage(format!("reading the upload: {err}")))?;
    let id = Uuid::now_v7();
    let storage_key = format!("media/{}/{id}", access.workspace_id());
    let sha256: String = sha256
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let byte_size = i64::try_from(len).unwrap_or(i64::MAX);
    store
        .put_file(&Path::from(storage_key.as_str()), file, len)
        .await?;
    if let Some(thumb) = inspected.thumbnail
        && let Err(err) = store
            .put(&thumb_key(&storage_key), Bytes::from(thumb))
            .await
    {
        // Leave no file behind that no row names.
        let _ = store.remove(&Path::from(storage_key.as_str())).await;
        return Err(err);
    }
    let row = media_asset::ActiveModel {
        id: Set(id),
        workspace_id: Set(access.workspace_id()),
        uploaded_by: Set(Some(access.user_id())),
        kind: Set(if inspected.kind.is_video() {
            MediaKind::Video
        } else {
            MediaKind::Image
        }),
        mime_type: Set(inspected.kind.mime().to_owned()),
        file_name: Set(display_name(file_name)),
        byte_size: Set(byte_size),
        width: Set(inspected.width.and_then(|w| i32::try_from(w).ok())),
        height: Set(inspected.height.and_then(|h| i32::try_from(h).ok())),
        duration_ms: Set(inspected.duration_ms),
        alt_text: Set(None),
        storage_key: Set(storage_key.clone()),
        sha256: Set(sha256),
        created_at: Set(now),
        public_token: Set(random_token()),
    }
    .insert(db)
    .await;
    let asset = match row {
        Ok(asset) => asset,
        Err(err) => {
            // Leave no file behind that no row names.
            let _ = store.remove(&Path::from(storage_key.as_str())).await;
            let _ = store.remove(&thumb_key(&storage_key)).await;
            return Err(err.into());
        }
    };
    count_upload(db, access.workspace_id(), now).await?;
    Ok(asset)
}

async fn count_upload(
    db: &DatabaseConnection,
    workspace_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    media_usage::Entity::insert(media_usage::ActiveModel {
        workspace_id: Set(workspace_id),
        month: Set(usage_month(now)),
        uploads: Set(1),
    })
    .on_conflict(
        OnConflict::columns([media_usage::Column::WorkspaceId, media_usage::Column::Month])
            .value(
                media_usage::Column::Uploads,
                Expr::col((media_usage::Entity, media_usage::Column::Uploads)).add(1),
            )
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// How many files the workspace uploaded in the month of `at` (deleted ones still count).
pub async fn uploads_in_month(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    at: DateTime<Utc>,
) -> Result<i64, MediaError> {
    access.check(Action::Read)?;
    Ok(
        media_usage::Entity::find_by_id((access.workspace_id(), usage_month(at)))
            .one(db)
            .await?
            .map_or(0, |u| u.uploads),
    )
}

/// One page of the workspace's library, newest first, and the total.
pub async fn list(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    page: u64,
    per_page: u64,
) -> Result<(Vec<media_asset::Model>, u64), MediaError> {
    access.check(Action::Read)?;
    let query = media_asset::Entity::find()
        .filter(media_asset::Column::WorkspaceId.eq(access.workspace_id()))
        .order_by_desc(media_asset::Column::CreatedAt)
        .order_by_desc(media_asset::Column::Id);
    let total = query.clone().count(db).await?;
    let per_page = per_page.clamp(1, 200);
    let items = query
        .offset(page.min(1_000_000) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((items, total))
}

/// One asset of the workspace (anyone in it).
pub async fn get(
    db: &DatabaseConnection,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<media_asset::Model, MediaError> {
    access.check(Action::Read)?;
    media_asset::Entity::find_by_id(id)
        .filter(media_asset::Column::WorkspaceId.eq(access.workspace_id()))
        .one(db)
        .await?
        .ok_or(MediaError::NotFound)
}

/// The asset a public address names, when the token matches (no session: networks call it).
pub async fn find_public(
    db: &DatabaseConnection,
    id: Uuid,
    token: &str,
) -> Result<media_asset::Model, MediaError> {
    let asset = media_asset::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(MediaError::NotFound)?;
    // Compared in time independent of where the first difference is.
    let expected = asset.public_token.as_bytes();
    let same = expected.len() == token.len()
        && expected
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if expected.is_empty() || !same {
        return Err(MediaError::NotFound);
    }
    Ok(asset)
}

/// Assets of the workspace by id, in the order asked; `NotFound` if any is missing.
pub async fn assets_in_order(
    db: &DatabaseConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<media_asset::Model>, MediaError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = media_asset::Entity::find()
        .filter(media_asset::Column::WorkspaceId.eq(workspace_id))
        .filter(media_asset::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    ids.iter()
        .map(|id| {
            found
                .iter()
                .find(|a| a.id == *id)
                .cloned()
                .ok_or(MediaError::NotFound)
        })
        .collect()
}

/// What the per-network rules need to know about an asset.
pub fn facts(asset: &media_asset::Model) -> Option<MediaFacts> {
    Some(MediaFacts {
        kind: MediaType::from_mime(&asset.mime_type)?,
        bytes: u64::try_from(asset.byte_size).unwrap_or(0),
        width: asset.width.and_then(|w| u32::try_from(w).ok()).unwrap_or(0),
        height: asset
            .height
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(0),
    })
}

/// One file attached to a post, as stored in `posts.media`: the asset and this post's alt
/// text, plus a copy of the asset's facts taken when the post was saved (assets never change),
/// so showing a post needs no second query.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Attached {
    /// The asset.
    pub id: Uuid,
    /// Alt text for this post.
    pub alt: String,
    /// `image/png`, …
    pub mime: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Pixels across (0 when unknown).
    pub width: u32,
    /// Pixels down (0 when unknown).
    pub height: u32,
    /// The file's name when uploaded.
    pub name: String,
}

impl Attached {
    /// `asset` with `alt`, its facts copied.
    pub fn of(asset: &media_asset::Model, alt: &str) -> Self {
        let facts = facts(asset);
        Self {
            id: asset.id,
            alt: alt.trim().to_owned(),
            mime: asset.mime_type.clone(),
            bytes: facts.map_or(0, |f| f.bytes),
            width: facts.map_or(0, |f| f.width),
            height: facts.map_or(0, |f| f.height),
            name: asset.file_name.clone(),
        }
    }
}

/// The files attached to a post, in order (an unreadable column reads as none).
pub fn attached(post: &post::Model) -> Vec<Attached> {
    serde_json::from_value(post.media.clone()).unwrap_or_default()
}

/// Deletes an asset (editors and up) unless a post that has not gone out still carries it.
pub async fn delete(
    db: &DatabaseConnection,
    store: &MediaStore,
    access: &WorkspaceAccess,
    id: Uuid,
) -> Result<(), MediaError> {
    access.check(Action::WritePosts)?;
    let asset = get(db, access, id).await?;
    let waiting = post::Entity::find()
        .filter(post::Column::WorkspaceId.eq(access.workspace_id()))
        .filter(post::Column::Status.is_in([
            PostStatus::Draft,
            PostStatus::Scheduled,
            PostStatus::Publishing,
            PostStatus::Failed,
            PostStatus::Missed,
        ]))
        .all(db)
        .await?;
    let users = waiting
        .iter()
        .filter(|p| attached(p).iter().any(|a| a.id == id))
        .count();
    if users > 0 {
        return Err(MediaError::InUse(format!(
            "This file is attached to {users} post{} that {} not gone out yet; remove it there first.",
            if users == 1 { "" } else { "s" },
            if users == 1 { "has" } else { "have" },
        )));
    }
    media_asset::Entity::delete_by_id(asset.id).exec(db).await?;
    store
        .remove(&Path::from(asset.storage_key.as_str()))
        .await?;
    store.remove(&thumb_key(&asset.storage_key)).await?;
    Ok(())
}

/// Takes one of the `limit` uploads a person may start in an hour (from their first); `None`
/// when allowed, else the seconds until the hour is over. Every attempt counts, refused files
/// too (each is read, sniffed and decoded). With Redis unreachable the upload is allowed
/// uncounted rather than refused (see [`crate::rate_limit`]).
pub async fn take_upload_turn(
    redis: &crate::queue::Redis,
    user_id: Uuid,
    limit: u32,
) -> Option<u64> {
    use crate::rate_limit::{self, Limit, Verdict};
    let limit = Limit {
        name: "upload",
        max: limit,
        window: std::time::Duration::from_secs(60 * 60),
    };
    match rate_limit::take(redis, &limit, &user_id.to_string()).await {
        Verdict::Allowed => None,
        Verdict::Limited { retry_after } => Some(retry_after),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_control_characters() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\ada\\cat.png"), "cat.png");
        assert_eq!(display_name("..\u{0}.png"), "png");
        assert_eq!(display_name(""), "upload");
        assert_eq!(display_name("/"), "upload");
    }
}
