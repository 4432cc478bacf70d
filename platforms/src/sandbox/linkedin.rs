//! The Sandbox's LinkedIn (REST Posts API, Images API, socialMetadata, `/v2/socialActions`,
//! OAuth), with the shapes quoted in `../shared/reference/linkedin.md`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde_json::{Value, json};

use super::{Caller, Ctx, Denied, SimMedia, oauth_error, pairs, random_hex};
use crate::{Platform, clients::linkedin::encode_urn};

pub(crate) fn routes() -> Router<Ctx> {
    Router::new()
        .route("/oauth/v2/authorization", get(authorize))
        .route("/oauth/v2/accessToken", post(token))
        .route("/v2/userinfo", get(userinfo))
        .route("/rest/images", post(initialize_upload))
        .route("/dms-uploads/{image}", put(receive_upload))
        .route("/rest/videos", post(video_action))
        .route("/dms-uploads/video/{video}/{part}", put(receive_video_part))
        .route("/rest/posts", post(create_post).get(list_posts))
        .route("/v2/socialActions/{urn}/comments", post(comment))
        .route("/rest/socialMetadata", get(social_metadata))
}

/// Rest.li error body.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

pub(crate) fn denied(why: &Denied) -> Response {
    let message = match why {
        Denied::Missing | Denied::Unknown => "Invalid access token",
        Denied::Expired => "The token used in the request has expired",
    };
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "status": 401, "serviceErrorCode": 65601, "code": "EXPIRED_ACCESS_TOKEN", "message": message })),
    )
        .into_response()
}

/// LinkedIn's daily throttle: no headers, resets at midnight UTC.
pub(crate) fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        })),
    )
        .into_response()
}

/// Versioned calls must name an active `LinkedIn-Version` and Rest.li 2.0.0.
fn versioned(headers: &HeaderMap) -> Result<(), Response> {
    let version = headers
        .get("linkedin-version")
        .and_then(|v| v.to_str().ok());
    match version {
        None => Err(error(StatusCode::BAD_REQUEST, "A required header LinkedIn-Version is missing")),
        Some(v) if v.len() != 6 || v < "202511" => Err((
            StatusCode::UPGRADE_REQUIRED,
            Json(json!({ "status": 426, "code": "NONEXISTENT_VERSION", "message": format!("Requested version {v} is not active") })),
        )
            .into_response()),
        Some(_) if headers.get("x-restli-protocol-version").and_then(|v| v.to_str().ok()) != Some("2.0.0") => {
            Err(error(StatusCode::BAD_REQUEST, "X-Restli-Protocol-Version 2.0.0 is required"))
        }
        Some(_) => Ok(()),
    }
}

async fn authorize(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    super::consent(&ctx, query)
}

async fn token(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    if form.get("client_secret").is_none_or(String::is_empty) {
        return oauth_error("invalid_client", "Client authentication failed");
    }
    let mut world = ctx.world();
    let tokens = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let info = form.get("code").and_then(|c| world.codes.remove(c));
            match info {
                Some(info)
                    if info.platform == Platform::LinkedIn
                        && form.get("redirect_uri") == Some(&info.redirect_uri) =>
                {
                    world.issue(Platform::LinkedIn, &info.account)
                }
                _ => {
                    return oauth_error(
                        "invalid_request",
                        "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired.",
                    );
                }
            }
        }
        Some("refresh_token") => match form
            .get("refresh_token")
            .and_then(|r| world.rotate(Platform::LinkedIn, r))
        {
            Some(tokens) => tokens,
            None => {
                return oauth_error(
                    "invalid_grant",
                    "The provided refresh token is invalid or expired",
                );
            }
        },
        _ => {
            return oauth_error(
                "invalid_request",
                "A required parameter \"grant_type\" is missing",
            );
        }
    };
    let ttl = tokens
        .expires_at
        .map_or(5_184_000, |at| (at - world.now()).num_seconds());
    Json(json!({
        "access_token": tokens.access.expose(),
        "expires_in": ttl,
        "scope": "openid,profile,w_member_social",
        "refresh_token": tokens.refresh.as_ref().map(|t| t.expose().to_owned()),
        "refresh_token_expires_in": 31_536_000,
    }))
    .into_response()
}

async fn userinfo(State(ctx): State<Ctx>, Caller(urn): Caller) -> Response {
    let world = ctx.world();
    let name = world
        .account(Platform::LinkedIn, &urn)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let sub = urn.trim_start_matches("urn:li:person:");
    Json(json!({ "sub": sub, "name": name, "email_verified": true, "locale": { "country": "US", "language": "en" } })).into_response()
}

async fn initialize_upload(
    State(ctx): State<Ctx>,
    Caller(urn): Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = versioned(&headers) {
        return response;
    }
    if !query
        .unwrap_or_default()
        .contains("action=initializeUpload")
    {
        return error(StatusCode::BAD_REQUEST, "Unsupported action");
    }
    if body
        .pointer("/initializeUploadRequest/owner")
        .and_then(Value::as_str)
        != Some(urn.as_str())
    {
        return error(
            StatusCode::FORBIDDEN,
            "Not enough permissions to upload for this owner",
        );
    }
    let image = format!("urn:li:image:C4E10AQSim{}", random_hex());
    ctx.world().uploads.insert(
        image.clone(),
        SimMedia {
            id: image.clone(),
            alt: None,
            size: 0,
            url: None,
            ..SimMedia::default()
        },
    );
    Json(json!({ "value": {
        "uploadUrlExpiresAt": chrono::Utc::now().timestamp_millis() + 3_600_000,
        "uploadUrl": format!("{}/linkedin/dms-uploads/{}", ctx.base(), encode_urn(&image)),
        "image": image,
    }}))
    .into_response()
}

/// Bytes per upload part, as LinkedIn splits videos (4 MiB).
const VIDEO_PART: usize = 4 * 1024 * 1024;

/// `POST /rest/videos?action=initializeUpload|finalizeUpload`.
async fn video_action(
    State(ctx): State<Ctx>,
    Caller(urn): Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = versioned(&headers) {
        return response;
    }
    let query = query.unwrap_or_default();
    if query.contains("action=initializeUpload") {
        let request = &body["initializeUploadRequest"];
        if request["owner"].as_str() != Some(urn.as_str()) {
            return error(
                StatusCode::FORBIDDEN,
                "Not enough permissions to upload for this owner",
            );
        }
        let Some(size) = request["fileSizeBytes"]
            .as_u64()
            .and_then(|s| usize::try_from(s).ok())
            .filter(|s| *s > 0)
        else {
            return error(StatusCode::BAD_REQUEST, "fileSizeBytes is required");
        };
        let video = format!("urn:li:video:C5F10AQSim{}", random_hex());
        let instructions: Vec<Value> = (0..size.div_ceil(VIDEO_PART))
            .map(|part| {
                let first = part * VIDEO_PART;
                let last = (first + VIDEO_PART).min(size) - 1;
                json!({
                    "uploadUrl": format!("{}/linkedin/dms-uploads/video/{}/{part}", ctx.base(), encode_urn(&video)),
                    "firstByte": first,
                    "lastByte": last,
                })
            })
            .collect();
        ctx.world().uploads.insert(
            video.clone(),
            SimMedia {
                id: video.clone(),
                mime: "video/mp4".into(),
                pending: true,
                expected: size,
                ..SimMedia::default()
            },
        );
        return Json(json!({ "value": {
            "uploadUrlsExpireAt": chrono::Utc::now().timestamp_millis() + 3_600_000,
            "video": video,
            "uploadInstructions": instructions,
            "uploadToken": "",
        }}))
        .into_response();
    }
    if query.contains("action=finalizeUpload") {
        let request = &body["finalizeUploadRequest"];
        let video = request["video"].as_str().unwrap_or_default();
        let parts = request["uploadedPartIds"].as_array().map_or(0, Vec::len);
        let mut world = ctx.world();
        let Some(media) = world.uploads.get_mut(video) else {
            return error(StatusCode::NOT_FOUND, "Unknown video");
        };
        if parts != media.segments || media.size != media.expected {
            return error(
                StatusCode::BAD_REQUEST,
                "The uploaded parts do not add up to the declared size",
            );
        }
        media.pending = false;
        return StatusCode::OK.into_response();
    }
    error(StatusCode::BAD_REQUEST, "Unsupported action")
}

/// `PUT` of one part of a video; answers with the part's `ETag`.
async fn receive_video_part(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path((video, part)): Path<(String, usize)>,
    body: Bytes,
) -> Response {
    let mut world = ctx.world();
    let Some(media) = world.uploads.get(&video) else {
        return error(StatusCode::NOT_FOUND, "Unknown upload");
    };
    if part != media.segments {
        return error(StatusCode::BAD_REQUEST, "Parts must arrive in order");
    }
    if let Some(media) = world.append(&video, &body) {
        media.segments += 1;
    }
    (
        StatusCode::OK,
        [(
            axum::http::header::ETAG,
            format!("\"part-{part}-{}\"", body.len()),
        )],
    )
        .into_response()
}

async fn receive_upload(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(image): Path<String>,
    body: Bytes,
) -> Response {
    match ctx.world().uploads.get_mut(&image) {
        Some(media) => {
            media.size = body.len();
            StatusCode::CREATED.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Unknown upload"),
    }
}

async fn create_post(
    State(ctx): State<Ctx>,
    Caller(urn): Caller,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = versioned(&headers) {
        return response;
    }
    for field in [
        "author",
        "commentary",
        "visibility",
        "distribution",
        "lifecycleState",
    ] {
        if body.get(field).is_none() {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!(
                    "ERROR :: /{field} :: field is required but not found and has no default value\n"
                ),
            );
        }
    }
    if body["author"].as_str() != Some(urn.as_str()) {
        return error(
            StatusCode::FORBIDDEN,
            "Not enough permissions to post as this author",
        );
    }
    let commentary = body["commentary"].as_str().unwrap_or_default().to_owned();
    if commentary.chars().count() > 3000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ERROR :: /commentary :: length exceeds 3000",
        );
    }
    let mut world = ctx.world();
    let mut images: Vec<Value> = Vec::new();
    if let Some(single) = body.pointer("/content/media") {
        images.push(single.clone());
    }
    if let Some(many) = body
        .pointer("/content/multiImage/images")
        .and_then(Value::as_array)
    {
        images.extend(many.iter().cloned());
    }
    let mut media = Vec::new();
    for image in images {
        let id = image["id"].as_str().unwrap_or_default();
        match world.uploads.get(id) {
            Some(m) if m.size > 0 && !m.pending => {
                let mut m = m.clone();
                m.alt = image["altText"].as_str().map(str::to_owned);
                media.push(m);
            }
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Image {id} was not uploaded"),
                );
            }
        }
    }
    let id = format!(
        "urn:li:share:{}",
        7_000_000_000_000_000_000u64 + world.next()
    );
    world.add_post(
        Platform::LinkedIn,
        id.clone(),
        None,
        &urn,
        &commentary,
        None,
        media,
    );
    (
        StatusCode::CREATED,
        [
            ("x-restli-id", id.clone()),
            ("location", format!("/rest/posts/{}", encode_urn(&id))),
        ],
    )
        .into_response()
}

async fn list_posts(
    State(ctx): State<Ctx>,
    _caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(response) = versioned(&headers) {
        return response;
    }
    let q = pairs(&query.unwrap_or_default());
    if q.get("q").map(String::as_str) != Some("author") {
        return error(StatusCode::BAD_REQUEST, "Only q=author is simulated");
    }
    let author = q.get("author").cloned().unwrap_or_default();
    let count: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(10);
    let world = ctx.world();
    let elements: Vec<Value> = world
        .posts
        .iter()
        .rev()
        .filter(|p| p.platform == Platform::LinkedIn && p.author == author && p.reply_to.is_none())
        .take(count)
        .map(|p| json!({ "id": p.id, "author": p.author, "commentary": p.text, "createdAt": p.created_at.timestamp_millis(), "lifecycleState": "PUBLISHED", "visibility": "PUBLIC" }))
        .collect();
    Json(json!({ "paging": { "start": 0, "count": count, "total": elements.len() }, "elements": elements })).into_response()
}

async fn comment(
    State(ctx): State<Ctx>,
    Caller(urn): Caller,
    Path(object): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if body["actor"].as_str() != Some(urn.as_str()) {
        return error(
            StatusCode::FORBIDDEN,
            "Not enough permissions to comment as this actor",
        );
    }
    let Some(text) = body.pointer("/message/text").and_then(Value::as_str) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ERROR :: /message :: field is required but not found and has no default value\n",
        );
    };
    let mut world = ctx.world();
    if world.post(Platform::LinkedIn, &object).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Post {object} does not exist"),
        );
    }
    let n = 7_100_000_000_000_000_000u64 + world.next();
    let id = format!("urn:li:comment:({object},{n})");
    world.add_post(
        Platform::LinkedIn,
        id.clone(),
        None,
        &urn,
        text,
        Some(object.clone()),
        Vec::new(),
    );
    (
        StatusCode::CREATED,
        [("x-restli-id", id.clone())],
        Json(json!({ "actor": urn, "object": object, "message": { "text": text }, "id": n.to_string(), "$URN": id })),
    )
        .into_response()
}

async fn social_metadata(
    State(ctx): State<Ctx>,
    _caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(response) = versioned(&headers) {
        return response;
    }
    // ids=List(urn%3Ali%3Ashare%3A1,urn%3A…): split the list first, then decode each URN.
    let raw = query.unwrap_or_default();
    let Some(list) = raw
        .strip_prefix("ids=List(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return error(StatusCode::BAD_REQUEST, "ids=List(...) is required");
    };
    let world = ctx.world();
    let mut results = serde_json::Map::new();
    let mut errors = serde_json::Map::new();
    for encoded in list.split(',') {
        let urn = pairs(&format!("u={encoded}"))
            .remove("u")
            .unwrap_or_default();
        match world.post(Platform::LinkedIn, &urn) {
            Some(post) => {
                let counts = world.counts(post);
                results.insert(urn.clone(), json!({
                    "entity": urn,
                    "commentsState": "OPEN",
                    "commentSummary": { "count": counts.comments, "topLevelCount": counts.comments },
                    "reactionSummaries": { "LIKE": { "reactionType": "LIKE", "count": counts.likes } },
                }));
            }
            None => {
                errors.insert(urn, json!({ "status": 404, "message": "Not found" }));
            }
        }
    }
    Json(json!({ "results": results, "errors": errors, "statuses": {} })).into_response()
}
