//! Media over plain HTTP: the upload (multipart, so the browser can report progress), the
//! files and thumbnails for members of the workspace, and the unguessable public address a
//! network fetches from (Instagram).

use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bytes::Bytes;
use chrono::Utc;
use omniplug_core::{
    Stores,
    entities::media_asset,
    media::{self, MediaError},
    tenancy::{self, Action, WorkspaceAccess},
};
use omniplug_platforms::media::MAX_VIDEO_BYTES;
use sea_orm::prelude::Uuid;
use serde::Deserialize;

use crate::AppState;
use app::error::{AppError, ErrorBody};

/// Every path this module serves (the isolation test walks them).
pub const PATHS: [&str; 4] = [
    "/api/media/upload",
    "/media/{id}",
    "/media/{id}/thumb",
    "/media/public/{id}/{token}",
];

/// The largest request body the upload takes: the largest video and room for the form.
const BODY_LIMIT: usize = MAX_VIDEO_BYTES as usize + 64 * 1024;

/// The routes this module serves.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            PATHS[0],
            post(upload).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route(PATHS[1], get(original))
        .route(PATHS[2], get(thumbnail))
        .route(PATHS[3], get(public))
}

fn refuse(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ErrorBody::from(err))).into_response()
}

fn media_refusal(err: MediaError) -> Response {
    refuse(app::error::ssr::media_error(err))
}

/// The signed-in person's access to `workspace_id` for `action`, from the session cookie.
async fn access(
    stores: &Stores,
    headers: &HeaderMap,
    workspace_id: &str,
    action: Action,
) -> Result<WorkspaceAccess, Response> {
    let (user, _) = app::auth::ssr::session_from_headers(stores, headers)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "session lookup failed");
            refuse(AppError::Internal)
        })?
        .ok_or_else(|| refuse(AppError::Unauthenticated))?;
    let id = Uuid::parse_str(workspace_id.trim()).map_err(|_| refuse(AppError::NotFound))?;
    tenancy::authorize(&stores.db, user.id, id, action)
        .await
        .map_err(|err| media_refusal(err.into()))
}

/// The workspace named in the query.
#[derive(Debug, Deserialize)]
struct InWorkspace {
    workspace_id: Option<String>,
}

/// `POST /api/media/upload?workspace_id=…`, multipart with one `file` field: stores the file
/// in the workspace's library (editors and up) and answers with it as the library lists it.
#[tracing::instrument(skip_all)]
async fn upload(
    State(stores): State<Stores>,
    Query(query): Query<InWorkspace>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let Some(workspace_id) = query.workspace_id else {
        return refuse(AppError::Invalid(
            "Say which workspace the file is for (workspace_id).".into(),
        ));
    };
    let access = match access(&stores, &headers, &workspace_id, Action::WritePosts).await {
        Ok(access) => access,
        Err(response) => return response,
    };
    if let Err(refused) = count_upload(&stores, access.user_id()).await {
        return refused;
    }
    let allowance =
        match media::allowance(&stores.db, &access, stores.config.media.quota_bytes).await {
            Ok(allowance) => allowance,
            Err(err) => return media_refusal(err),
        };
    // The file goes to a temporary file as it arrives; memory holds one chunk of it at a time.
    let (name, incoming) = loop {
        match form.next_field().await {
            Ok(Some(mut field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let scratch = stores.config.data_dir.join("uploads");
                let mut incoming = match media::Incoming::start_in(&scratch, allowance) {
                    Ok(incoming) => incoming,
                    Err(err) => return media_refusal(err),
                };
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if let Err(err) = incoming.push(&chunk) {
                                return media_refusal(err);
                            }
                        }
                        Ok(None) => break,
                        Err(err) => return multipart_refusal(&err),
                    }
                }
                break (name, incoming);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return refuse(AppError::Invalid(
                    "Send the file in a form field named \"file\".".into(),
                ));
            }
            Err(err) => return multipart_refusal(&err),
        }
    };
    if incoming.is_empty() {
        return refuse(AppError::Invalid("The file is empty.".into()));
    }
    // Stored in a task of its own: a client that goes away now cannot stop it between the
    // file and its row (a file no row names, or an unfinished multipart upload).
    let stored = tokio::spawn(async move {
        media::upload(
            &stores.db,
            &stores.media,
            &access,
            &name,
            incoming,
            Utc::now(),
        )
        .await
    })
    .await;
    match stored {
        Ok(Ok(asset)) => (StatusCode::CREATED, Json(app::media::ssr::item(&asset))).into_response(),
        Ok(Err(err)) => media_refusal(err),
        Err(err) => {
            tracing::error!(error = %err, "storing an upload failed");
            refuse(AppError::Internal)
        }
    }
}

/// The person's upload allowance for this hour (see [`media::take_upload_turn`]); over it, a
/// 429 saying when uploads open again.
async fn count_upload(stores: &Stores, user_id: Uuid) -> Result<(), Response> {
    let limit = stores.config.media.uploads_per_hour;
    let Some(wait) = media::take_upload_turn(&stores.redis, user_id, limit).await else {
        return Ok(());
    };
    let minutes = wait.div_ceil(60);
    let mut body = ErrorBody::from(AppError::RateLimited(wait));
    body.message = format!(
        "You have uploaded {limit} files this hour, as many as OmniPlug takes per person. \
         Uploads open again in {minutes} min; files already in the library can be attached now."
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    Err(response)
}

fn multipart_refusal(err: &axum::extract::multipart::MultipartError) -> Response {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        refuse(AppError::TooLarge(media::too_large_refusal()))
    } else {
        refuse(AppError::Invalid(format!(
            "The upload could not be read: {}",
            err.body_text()
        )))
    }
}

fn file_response(mime: &str, bytes: Bytes, cache: &'static str) -> Response {
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; media-src 'self'"),
    );
    response
}

/// A member's asset, whichever of their workspaces holds it.
async fn members_asset(
    stores: &Stores,
    headers: &HeaderMap,
    id: &str,
) -> Result<media_asset::Model, Response> {
    let id = Uuid::parse_str(id).map_err(|_| refuse(AppError::NotFound))?;
    let asset = media_asset_by_id(stores, id).await?;
    let access = access(
        stores,
        headers,
        &asset.workspace_id.to_string(),
        Action::Read,
    )
    .await?;
    media::get(&stores.db, &access, id)
        .await
        .map_err(media_refusal)
}

async fn media_asset_by_id(stores: &Stores, id: Uuid) -> Result<media_asset::Model, Response> {
    use sea_orm::EntityTrait;
    media_asset::Entity::find_by_id(id)
        .one(&stores.db)
        .await
        .map_err(|err| media_refusal(err.into()))?
        .ok_or_else(|| refuse(AppError::NotFound))
}

/// `GET /media/{id}`: the original file, for members of its workspace.
async fn original(
    State(stores): State<Stores>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    members_file(&stores, &headers, &id, false).await
}

/// `GET /media/{id}/thumb`: the server-made JPEG thumbnail of an image.
async fn thumbnail(
    State(stores): State<Stores>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    members_file(&stores, &headers, &id, true).await
}

async fn members_file(stores: &Stores, headers: &HeaderMap, id: &str, thumb: bool) -> Response {
    let asset = match members_asset(stores, headers, id).await {
        Ok(asset) => asset,
        Err(response) => return response,
    };
    let (read, mime) = if thumb {
        (stores.media.read_thumbnail(&asset).await, "image/jpeg")
    } else {
        (
            stores.media.read_shared(&asset).await,
            asset.mime_type.as_str(),
        )
    };
    match read {
        Ok(bytes) => file_response(mime, bytes, "private, max-age=31536000, immutable"),
        Err(err) => media_refusal(err),
    }
}

/// `GET /media/public/{id}/{token}`: the file for whoever holds the address (a network
/// fetching it); a wrong token is a plain 404.
async fn public(
    State(stores): State<Stores>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return refuse(AppError::NotFound);
    };
    let asset = match media::find_public(&stores.db, id, &token).await {
        Ok(asset) => asset,
        Err(err) => return media_refusal(err),
    };
    // A network fetching one video for thirty posts gets thirty answers from one copy.
    match stores.media.read_shared(&asset).await {
        Ok(bytes) => file_response(&asset.mime_type, bytes, "public, max-age=86400"),
        Err(err) => media_refusal(err),
    }
}
