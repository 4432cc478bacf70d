//! The media library from the browser's side: what a stored file looks like to the interface,
//! listing and deleting (server functions), and uploading with progress (a plain multipart
//! `POST /api/media/upload?workspace_id=…`, served by the server crate, because server
//! functions cannot report upload progress).
//!
//! Files are served at `/media/{id}` (the original) and `/media/{id}/thumb` (a JPEG made on
//! the server, for images), to members of the workspace only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where the composer and library send files.
pub const UPLOAD_PATH: &str = "/api/media/upload";
/// Files per library page.
pub const PER_PAGE: u64 = 48;

/// A file in the workspace's library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    /// Its id.
    pub id: String,
    /// `image/png`, `video/mp4`, …
    pub mime: String,
    /// The name it was uploaded with (a label only).
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Pixels across (0 when unknown).
    pub width: u32,
    /// Pixels down (0 when unknown).
    pub height: u32,
    /// A video's length.
    pub duration_ms: Option<i64>,
    /// When it was uploaded, for people ("23 Nov 2026").
    pub uploaded: String,
    /// The alt text it was last published or saved with ("" when none yet): what attaching it
    /// again starts with.
    #[serde(default)]
    pub alt: String,
}

impl MediaItem {
    /// The file as attached to a post, with `alt`.
    pub fn attach(&self, alt: String) -> AttachedMedia {
        AttachedMedia {
            id: self.id.clone(),
            alt,
            mime: self.mime.clone(),
            bytes: self.bytes,
            width: self.width,
            height: self.height,
            name: self.name.clone(),
        }
    }
}

/// A file attached to a post. The composer sends `id` and `alt`; the server fills in (and
/// never trusts) the rest from the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AttachedMedia {
    /// The library file.
    pub id: String,
    /// Alt text for this post.
    pub alt: String,
    /// `image/png`, …
    pub mime: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// The uploaded name.
    pub name: String,
}

impl AttachedMedia {
    /// The rules' view of it.
    pub fn facts(&self) -> Option<omniplug_platforms::media::MediaFacts> {
        Some(omniplug_platforms::media::MediaFacts {
            kind: omniplug_platforms::media::MediaType::from_mime(&self.mime)?,
            bytes: self.bytes,
            width: self.width,
            height: self.height,
        })
    }

    /// Whether it is a video.
    pub fn is_video(&self) -> bool {
        self.mime.starts_with("video/")
    }
}

/// The original file's address.
pub fn file_url(id: &str) -> String {
    format!("/media/{id}")
}

/// The thumbnail's address (images only).
pub fn thumb_url(id: &str) -> String {
    format!("/media/{id}/thumb")
}

/// One page of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPage {
    /// Newest first.
    pub items: Vec<MediaItem>,
    /// Files in the library.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Files uploaded this calendar month (deleted ones included): what plans will limit.
    pub uploads_this_month: i64,
}

/// A page of the workspace's media library (any member).
#[server(endpoint = "list_media")]
pub async fn list_media(workspace_id: String, page: u64) -> Result<MediaPage, AppError> {
    use crate::error::ssr::media_error;
    use omniplug_core::{media, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::Read).await?;
    let page = page.max(1);
    let (items, total) = media::list(&stores.db, &access, page - 1, PER_PAGE)
        .await
        .map_err(media_error)?;
    let uploads_this_month = media::uploads_in_month(&stores.db, &access, chrono::Utc::now())
        .await
        .map_err(media_error)?;
    Ok(MediaPage {
        items: items.iter().map(ssr::item).collect(),
        total,
        page,
        uploads_this_month,
    })
}

/// Deletes a file from the library (editors and up), unless a post that has not gone out
/// still carries it.
#[server(endpoint = "delete_media")]
pub async fn delete_media(workspace_id: String, media_id: String) -> Result<(), AppError> {
    use crate::error::ssr::media_error;
    use omniplug_core::{media, tenancy::Action};
    let stores = crate::auth::ssr::stores()?;
    let (_, _, access) =
        crate::workspaces::ssr::access(&stores, &workspace_id, Action::WritePosts).await?;
    let id = crate::workspaces::ssr::parse_id(&media_id)?;
    media::delete(&stores.db, &stores.media, &access, id)
        .await
        .map_err(media_error)
}

/// Server-side conversions.
#[cfg(feature = "ssr")]
pub mod ssr {
    use omniplug_core::entities::media_asset;

    use super::MediaItem;

    /// A stored asset for the interface.
    pub fn item(asset: &media_asset::Model) -> MediaItem {
        let facts = omniplug_core::media::facts(asset);
        MediaItem {
            id: asset.id.to_string(),
            mime: asset.mime_type.clone(),
            name: asset.file_name.clone(),
            bytes: facts.map_or(0, |f| f.bytes),
            width: facts.map_or(0, |f| f.width),
            height: facts.map_or(0, |f| f.height),
            duration_ms: asset.duration_ms,
            uploaded: asset.created_at.format("%-d %b %Y").to_string(),
            alt: asset.alt_text.clone().unwrap_or_default(),
        }
    }
}

/// Sends one file to the library, reporting progress (0.0–1.0) as it goes.
#[cfg(feature = "hydrate")]
pub async fn upload(
    workspace_id: &str,
    file: web_sys::File,
    progress: impl Fn(f64) + 'static,
) -> Result<MediaItem, AppError> {
    use leptos::wasm_bindgen::{JsCast, JsValue, closure::Closure};
    let failed = |what: &str, err: JsValue| {
        AppError::Request(format!("{what}: {}", err.as_string().unwrap_or_default()))
    };
    let xhr = web_sys::XmlHttpRequest::new().map_err(|e| failed("starting the upload", e))?;
    xhr.open(
        "POST",
        &format!(
            "{UPLOAD_PATH}?workspace_id={}",
            js_sys::encode_uri_component(workspace_id)
        ),
    )
    .map_err(|e| failed("starting the upload", e))?;
    let form = web_sys::FormData::new().map_err(|e| failed("reading the file", e))?;
    form.append_with_blob_and_filename("file", &file, &file.name())
        .map_err(|e| failed("reading the file", e))?;
    let on_progress =
        Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            if ev.length_computable() && ev.total() > 0.0 {
                progress(ev.loaded() / ev.total());
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        xhr.set_onloadend(Some(&resolve));
    });
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|e| failed("sending the file", e))?;
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(on_progress);
    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    if status == 0 {
        return Err(AppError::Request("the upload was interrupted".into()));
    }
    if (200..300).contains(&status) {
        return serde_json::from_str(&body)
            .map_err(|e| AppError::Request(format!("reading the answer: {e}")));
    }
    match serde_json::from_str::<crate::error::ErrorBody>(&body) {
        // The allowance's refusal says how many files and when uploads open again: shown as
        // the server wrote it, not as the generic "too many attempts".
        Ok(err) if err.kind == "rate_limited" => Err(AppError::Invalid(err.message)),
        Ok(err) => Err(AppError::try_from(err).unwrap_or(AppError::Internal)),
        // A proxy's own page (for example its size limit) rather than ours.
        Err(_) if status == 413 => Err(AppError::TooLarge(
            "This file is too large to upload.".into(),
        )),
        Err(_) => Err(AppError::Internal),
    }
}
