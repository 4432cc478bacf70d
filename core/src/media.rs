//! Uploaded images and videos: stored once per workspace (a local folder, or an S3-compatible
//! bucket), recognised by their content, measured, given a server-made thumbnail, and read
//! back by the worker when a post carrying them is published.
//!
//! Storage keys are made of ids only (`media/<workspace>/<asset>`), so a file's name is a
//! label and never part of a path.

use std::{io::Cursor, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::{
    ObjectStore, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem, path::Path,
};
use omniplug_platforms::media::{MediaFacts, MediaType, size_label};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    prelude::Uuid,
    sea_query::{Expr, OnConflict},
};

use crate::{
    config::MediaSettings,
    entities::{MediaKind, PostStatus, media_asset, media_usage, post},
    tenancy::{Action, WorkspaceAccess},
};

/// Thumbnails fit in a square of this many pixels.
pub const THUMB_SIZE: u32 = 320;
/// Images wider or taller than this are refused before decoding (a guard against files that
/// claim enormous dimensions to exhaust memory).
const MAX_DIMENSION: u32 = 16_384;

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

/// Where media bytes live. Cloning is cheap.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    backend: &'static str,
    public_url: Option<String>,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("backend", &self.backend)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl MediaStore {
    /// Opens the configured bucket, or the local folder (created if missing).
    pub fn open(settings: &MediaSettings) -> Result<Self, MediaError> {
        let (store, backend): (Arc<dyn ObjectStore>, _) = match &settings.s3 {
            Some(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose());
                }
                (Arc::new(builder.build()?), "s3")
            }
            None => {
                std::fs::create_dir_all(&settings.dir).map_err(|err| {
                    MediaError::Storage(format!("{}: {err}", settings.dir.display()))
                })?;
                (
                    Arc::new(LocalFileSystem::new_with_prefix(&settings.dir)?),
                    "local",
                )
            }
        };
        Ok(Self {
            store,
            backend,
            public_url: settings.public_url.clone(),
        })
    }

    /// `local` or `s3`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Whether networks that fetch media by address (Instagram) can be served.
    pub fn has_public_url(&self) -> bool {
        self.public_url.is_some()
    }

    /// The address a network fetches `asset` from, when a public base is configured.
    pub fn public_url(&self, asset: &media_asset::Model) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/media/public/{}/{}", asset.id, asset.public_token))
    }

    /// The stored file.
    pub async fn read(&self, asset: &media_asset::Model) -> Result<Bytes, MediaError> {
        Ok(self
            .store
            .get(&Path::from(asset.storage_key.as_str()))
            .await?
            .bytes()
            .await?)
    }

    /// The thumbnail (JPEG), for images.
    pub async fn read_thumbnail(&self, asset: &media_asset::Model) -> Result<Bytes, MediaError> {
        Ok(self
            .store
            .get(&thumb_key(&asset.storage_key))
            .await?
            .bytes()
            .await?)
    }

    async fn put(&self, key: &Path, bytes: Bytes) -> Result<(), MediaError> {
        self.store.put(key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    async fn remove(&self, key: &Path) -> Result<(), MediaError> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

fn thumb_key(storage_key: &str) -> Path {
    Path::from(format!("{storage_key}.thumb.jpg"))
}

/// What an upload learned about a file before storing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Its type, from its content.
    pub kind: MediaType,
    /// Pixels across, when known.
    pub width: Option<u32>,
    /// Pixels down, when known.
    pub height: Option<u32>,
    /// A video's length, when its header says.
    pub duration_ms: Option<i64>,
    /// A JPEG thumbnail, for images.
    pub thumbnail: Option<Vec<u8>>,
}

/// Recognises, measures and (for images) decodes a file, refusing what OmniPlug does not
/// take. CPU-bound: call it on a blocking thread.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, MediaError> {
    let kind = MediaType::sniff(bytes).ok_or_else(|| {
        MediaError::Unsupported(
            "This file is not a JPEG, PNG, GIF, WebP image or MP4 video. Files are recognised by \
             their content, not their name."
                .into(),
        )
    })?;
    let limit = kind.upload_limit();
    if bytes.len() as u64 > limit {
        return Err(MediaError::TooLarge(format!(
            "This {} is {}; OmniPlug takes {} up to {}.",
            kind.label(),
            size_label(bytes.len() as u64),
            if kind.is_video() { "videos" } else { "images" },
            size_label(limit)
        )));
    }
    if kind.is_video() {
        let info = mp4_info(bytes).ok_or_else(|| {
            MediaError::Unsupported(
                "This MP4 could not be read: it has no movie header. Export it again.".into(),
            )
        })?;
        return Ok(Inspected {
            kind,
            width: info.width,
            height: info.height,
            duration_ms: info.duration_ms,
            thumbnail: None,
        });
    }
    let unreadable = |err: image::ImageError| {
        MediaError::Unsupported(format!(
            "This file starts like a {} but could not be read as one ({err}).",
            kind.label()
        ))
    };
    let format = match kind {
        MediaType::Jpeg => image::ImageFormat::Jpeg,
        MediaType::Png => image::ImageFormat::Png,
        MediaType::Gif => image::ImageFormat::Gif,
        // Videos returned above.
        MediaType::Webp | MediaType::Mp4 => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    reader.limits(limits);
    let decoded = reader.decode().map_err(unreadable)?;
    let rgba = decoded.thumbnail(THUMB_SIZE, THUMB_SIZE).to_rgba8();
    // JPEG has no transparency: lay the thumbnail on white, as the composer's cards are.
    let flat = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            u8::try_from((c * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([over(r), over(g), over(b)])
    });
    let mut thumbnail = Vec::new();
    image::DynamicImage::ImageRgb8(flat)
        .write_to(&mut Cursor::new(&mut thumbnail), image::ImageFormat::Jpeg)
        .map_err(unreadable)?;
    Ok(Inspected {
        kind,
        width: Some(decoded.width()),
        height: Some(decoded.height()),
        duration_ms: None,
        thumbnail: Some(thumbnail),
    })
}

/// What an MP4's movie header says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Mp4Info {
    duration_ms: Option<i64>,
    width: Option<u32>,
    height: Option<u32>,
}

/// Boxes of an ISO base media file (ISO/IEC 14496-12 §4.2): 32-bit size (1 = a 64-bit size
/// follows, 0 = to the end), four-letter type, then the payload.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, rest.len()),
            1 => (
                16,
                usize::try_from(u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)).ok()?,
            ),
            n => (8, n),
        };
        if size < header || size > rest.len() {
            return None;
        }
        let payload = &rest[header..size];
        rest = &rest[size..];
        Some((kind, payload))
    })
}

fn mp4_info(data: &[u8]) -> Option<Mp4Info> {
    let (_, moov) = boxes(data).find(|(k, _)| k == b"moov")?;
    let mut info = Mp4Info::default();
    let be32 = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from(u32::from_be_bytes(
            b.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    if let Some((_, mvhd)) = boxes(moov).find(|(k, _)| k == b"mvhd") {
        // version 0: 4 flags, 4 created, 4 modified, 4 timescale, 4 duration;
        // version 1: 4 flags, 8 created, 8 modified, 4 timescale, 8 duration.
        let (timescale, duration) = if mvhd.first() == Some(&1) {
            let d = u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?);
            (be32(mvhd, 20)?, d)
        } else {
            (be32(mvhd, 12)?, be32(mvhd, 16)?)
        };
        info.duration_ms = duration
            .saturating_mul(1000)
            .checked_div(timescale)
            .and_then(|ms| i64::try_from(ms).ok());
    }
    for (_, trak) in boxes(moov).filter(|(k, _)| k == b"trak") {
        if let Some((_, tkhd)) = boxes(trak).find(|(k, _)| k == b"tkhd")
            && tkhd.len() >= 8
        {
            // The last 8 bytes are width and height, 16.16 fixed point.
            let at = tkhd.len() - 8;
            let (w, h) = (be32(tkhd, at)? >> 16, be32(tkhd, at + 4)? >> 16);
            if w > 0 && h > 0 {
                info.width = u32::try_from(w).ok();
                info.height = u32::try_from(h).ok();
                break;
            }
        }
    }
    Some(info)
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

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The month an upload counts towards, `YYYY-MM` (UTC).
pub fn usage_month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Stores a file in the workspace's library (editors and up): checks its content, makes a
/// thumbnail, writes file and thumbnail, records the asset and counts the upload.
#[tracing::instrument(skip_all, fields(workspace_id = %access.workspace_id(), bytes = bytes.len()), err(level = tracing::Level::INFO))]
pub async fn upload(
    db: &DatabaseConnection,
    store: &MediaStore,
    access: &WorkspaceAccess,
    file_name: &str,
    bytes: Bytes,
    now: DateTime<Utc>,
) -> Result<media_asset::Model, MediaError> {
    access.check(Action::WritePosts)?;
    let inspected = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || inspect(&bytes))
            .await
            .map_err(|err| MediaError::Storage(format!("inspecting the file: {err}")))??
    };
    let id = Uuid::now_v7();
    let storage_key = format!("media/{}/{id}", access.workspace_id());
    let sha256 = sha256_hex(&bytes);
    let byte_size = bytes.len() as i64;
    store.put(&Path::from(storage_key.as_str()), bytes).await?;
    if let Some(thumb) = inspected.thumbnail {
        store
            .put(&thumb_key(&storage_key), Bytes::from(thumb))
            .await?;
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

    #[test]
    fn a_movie_header_gives_length_and_size() {
        let mp4 = omniplug_testkit::samples::mp4(2_500, 640, 360);
        let info = mp4_info(&mp4).expect("has a moov box");
        assert_eq!(
            info,
            Mp4Info {
                duration_ms: Some(2_500),
                width: Some(640),
                height: Some(360)
            }
        );
        assert!(mp4_info(b"\0\0\0\x10ftypisom\0\0\0\0").is_none());
    }
}
