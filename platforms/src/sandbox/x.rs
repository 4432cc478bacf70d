//! The Sandbox's X API v2 (shapes from the official OpenAPI document and docs.x.com).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Caller, Ctx, Denied, SimMedia, oauth_error, pairs};
use crate::{Platform, clients::Pkce, text};

pub(crate) fn routes() -> Router<Ctx> {
    Router::new()
        .route("/i/oauth2/authorize", get(authorize))
        .route("/2/oauth2/token", post(token))
        .route("/2/users/me", get(me))
        .route("/avatars/{file}", get(avatar))
        .route("/2/users/{id}/tweets", get(user_tweets))
        .route("/2/media/upload", post(upload).get(upload_status))
        .route("/2/media/upload/initialize", post(upload_initialize))
        .route("/2/media/upload/{id}/append", post(upload_append))
        .route("/2/media/upload/{id}/finalize", post(upload_finalize))
        .route("/2/media/metadata", post(metadata))
        .route("/2/tweets", post(create).get(lookup))
}

/// RFC 7807 problem, as X sends (`type` suffixes from the spec's Problem types).
pub(crate) fn error(status: StatusCode, detail: &str) -> Response {
    let (kind, title) = match status.as_u16() {
        400 => ("invalid-request", "Invalid Request"),
        401 => ("about:blank", "Unauthorized"),
        403 => ("not-authorized-for-resource", "Forbidden"),
        404 => ("resource-not-found", "Not Found Error"),
        429 => ("rate-limit-exceeded", "Too Many Requests"),
        _ => ("about:blank", "Service Unavailable"),
    };
    let kind = if kind == "about:blank" {
        kind.to_owned()
    } else {
        format!("https://api.x.com/2/problems/{kind}")
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(json!({ "title": title, "detail": detail, "type": kind, "status": status.as_u16() })),
    )
        .into_response()
}

pub(crate) fn denied(_why: &Denied) -> Response {
    // X answers every unusable token alike.
    error(StatusCode::UNAUTHORIZED, "Unauthorized")
}

pub(crate) fn rate_limited(reset_at: DateTime<Utc>) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    let headers = response.headers_mut();
    headers.insert("x-rate-limit-limit", 100.into());
    headers.insert("x-rate-limit-remaining", 0.into());
    headers.insert("x-rate-limit-reset", reset_at.timestamp().into());
    response
}

async fn authorize(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    super::consent(&ctx, query)
}

async fn token(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    let mut world = ctx.world();
    let tokens = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(info) = form.get("code").and_then(|c| world.codes.remove(c)) else {
                return oauth_error(
                    "invalid_request",
                    "Value passed for the authorization code was invalid.",
                );
            };
            let verifier_ok = match (&info.challenge, form.get("code_verifier")) {
                (Some(challenge), Some(verifier)) => {
                    Pkce::from_verifier(verifier.clone()).challenge() == challenge
                }
                _ => false,
            };
            if info.platform != Platform::X
                || !verifier_ok
                || form.get("redirect_uri") != Some(&info.redirect_uri)
            {
                return oauth_error(
                    "invalid_request",
                    "Value passed for the authorization code was invalid.",
                );
            }
            world.issue(Platform::X, &info.account)
        }
        Some("refresh_token") => {
            match form
                .get("refresh_token")
                .and_then(|r| world.rotate(Platform::X, r))
            {
                Some(tokens) => tokens,
                None => {
                    return oauth_error("invalid_grant", "Value passed for the token was invalid.");
                }
            }
        }
        _ => return oauth_error("unsupported_grant_type", "grant_type is required"),
    };
    let ttl = tokens
        .expires_at
        .map_or(7200, |at| (at - world.now()).num_seconds());
    Json(json!({
        "token_type": "bearer",
        "expires_in": ttl,
        "access_token": tokens.access.expose(),
        "scope": crate::clients::x::SCOPES,
        "refresh_token": tokens.refresh.as_ref().map(|t| t.expose().to_owned()),
    }))
    .into_response()
}

async fn me(State(ctx): State<Ctx>, Caller(id): Caller, RawQuery(query): RawQuery) -> Response {
    let world = ctx.world();
    let Some(account) = world.account(Platform::X, &id) else {
        return error(StatusCode::NOT_FOUND, "Could not find the user.");
    };
    let mut data = json!({ "id": account.id, "name": account.name, "username": account.handle });
    if query.unwrap_or_default().contains("profile_image_url") {
        // Served by the Sandbox itself: a simulation never points browsers at the real network.
        data["profile_image_url"] = json!(format!("{}/x/avatars/{}.svg", ctx.base(), account.id));
    }
    Json(json!({ "data": data })).into_response()
}

async fn upload(State(ctx): State<Ctx>, _caller: Caller, Json(body): Json<Value>) -> Response {
    let Some(bytes) = body["media"].as_str().and_then(|b| STANDARD.decode(b).ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The `media` field must be base64 file data.",
        );
    };
    if body["media_category"] != "tweet_image" || body["media_type"] == "image/gif" {
        return error(
            StatusCode::BAD_REQUEST,
            "media_category must be tweet_image for images; GIFs go up in chunks as tweet_gif.",
        );
    }
    let mut world = ctx.world();
    let id = (1_880_000_000_000_000_000u64 + world.next()).to_string();
    let size = bytes.len();
    let kept = world.keep(&id, bytes.into());
    world.uploads.insert(
        id.clone(),
        SimMedia {
            id: id.clone(),
            alt: None,
            size,
            url: None,
            mime: body["media_type"].as_str().unwrap_or_default().to_owned(),
            bytes: kept,
            ..SimMedia::default()
        },
    );
    Json(json!({ "data": { "id": id, "media_key": format!("3_{id}"), "expires_after_secs": 86_400, "size": size } }))
        .into_response()
}

/// `POST /2/media/upload/initialize` (`MediaUploadConfigRequest`): opens a chunked upload.
async fn upload_initialize(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Json(body): Json<Value>,
) -> Response {
    let mime = body["media_type"].as_str().unwrap_or_default().to_owned();
    let Some(total) = body["total_bytes"].as_u64() else {
        return error(StatusCode::BAD_REQUEST, "total_bytes is required.");
    };
    let category = if mime.starts_with("video/") {
        "tweet_video"
    } else if mime == "image/gif" {
        "tweet_gif"
    } else {
        "tweet_image"
    };
    if body["media_category"] != category {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("media_category must be {category} for {mime}."),
        );
    }
    let mut world = ctx.world();
    let id = (1_880_000_000_000_000_000u64 + world.next()).to_string();
    world.uploads.insert(
        id.clone(),
        SimMedia {
            id: id.clone(),
            mime,
            pending: true,
            expected: usize::try_from(total).unwrap_or(usize::MAX),
            ..SimMedia::default()
        },
    );
    Json(json!({ "data": { "id": id, "media_key": format!("7_{id}"), "expires_after_secs": 86_400 } }))
        .into_response()
}

/// `POST /2/media/upload/{id}/append` (`MediaUploadAppendRequest`): segments in order.
async fn upload_append(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(chunk) = body["media"].as_str().and_then(|b| STANDARD.decode(b).ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The `media` field must be base64 file data.",
        );
    };
    let mut world = ctx.world();
    let Some(media) = world.uploads.get(&id) else {
        return error(StatusCode::BAD_REQUEST, "The media id is unknown.");
    };
    if body["segment_index"].as_u64() != Some(media.segments as u64) {
        return error(StatusCode::BAD_REQUEST, "Segments must arrive in order.");
    }
    if let Some(media) = world.append(&id, &chunk) {
        media.segments += 1;
    }
    Json(json!({ "data": { "expires_at": 0 } })).into_response()
}

/// `POST /2/media/upload/{id}/finalize`: the upload is complete; processing starts.
async fn upload_finalize(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let mut world = ctx.world();
    let Some(media) = world.uploads.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The media id is unknown.");
    };
    if media.size != media.expected {
        return error(
            StatusCode::BAD_REQUEST,
            "The uploaded size does not match total_bytes.",
        );
    }
    Json(
        json!({ "data": { "id": id, "media_key": format!("7_{id}"), "size": media.size,
        "processing_info": { "state": "pending", "check_after_secs": 1 } } }),
    )
    .into_response()
}

/// `GET /2/media/upload?media_id=…&command=STATUS`: the Sandbox finishes processing at the
/// first look.
async fn upload_status(
    State(ctx): State<Ctx>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let q = super::pairs(&query.unwrap_or_default());
    let id = q.get("media_id").cloned().unwrap_or_default();
    let mut world = ctx.world();
    let Some(media) = world.uploads.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The media id is unknown.");
    };
    media.pending = false;
    Json(json!({ "data": { "id": id, "processing_info": { "state": "succeeded", "progress_percent": 100 } } }))
        .into_response()
}

async fn metadata(State(ctx): State<Ctx>, _caller: Caller, Json(body): Json<Value>) -> Response {
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let alt = body
        .pointer("/metadata/alt_text/text")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut world = ctx.world();
    let Some(media) = world.uploads.get_mut(&id) else {
        return error(StatusCode::BAD_REQUEST, "The media id is unknown.");
    };
    media.alt.clone_from(&alt);
    Json(json!({ "data": { "id": id, "associated_metadata": { "alt_text": { "text": alt } } } }))
        .into_response()
}

async fn create(
    State(ctx): State<Ctx>,
    Caller(author): Caller,
    Json(body): Json<Value>,
) -> Response {
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    let media_ids: Vec<String> = body
        .pointer("/media/media_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if text.trim().is_empty() && media_ids.is_empty() {
        return error(StatusCode::BAD_REQUEST, "Text or media is required.");
    }
    if text::x_weighted_length(&text) > 280 {
        return error(
            StatusCode::FORBIDDEN,
            "You are not permitted to create a Tweet with text longer than 280 characters.",
        );
    }
    let mut world = ctx.world();
    let reply_to = body
        .pointer("/reply/in_reply_to_tweet_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(parent) = &reply_to {
        // Self-serve apps may only reply where they were summoned: replying to one's own post is.
        match world.post(Platform::X, parent) {
            Some(p) if p.author == author => {}
            Some(_) => {
                return error(
                    StatusCode::FORBIDDEN,
                    "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
                );
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The post you are replying to does not exist.",
                );
            }
        }
    }
    let mut media = Vec::new();
    for id in &media_ids {
        match world.uploads.get(id) {
            Some(m) if !m.pending => media.push(m.clone()),
            _ => return error(StatusCode::BAD_REQUEST, "Your media IDs are invalid."),
        }
    }
    let id = (1_860_000_000_000_000_000u64 + world.next()).to_string();
    world.add_post(
        Platform::X,
        id.clone(),
        None,
        &author,
        &text,
        reply_to,
        media,
    );
    (
        StatusCode::CREATED,
        Json(json!({ "data": { "id": id, "text": text, "edit_history_tweet_ids": [id] } })),
    )
        .into_response()
}

fn tweet_json(world: &super::World, post: &super::SimPost, fields: &str) -> Value {
    let mut tweet =
        json!({ "id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id] });
    if fields.split(',').any(|f| f == "public_metrics") {
        let counts = world.counts(post);
        tweet["public_metrics"] = json!({
            "retweet_count": counts.reposts,
            "reply_count": counts.comments,
            "like_count": counts.likes,
            "quote_count": 0,
            "impression_count": counts.likes * 25,
            "bookmark_count": 0,
        });
    }
    if fields.split(',').any(|f| f == "created_at") {
        tweet["created_at"] = json!(
            post.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }
    tweet
}

async fn lookup(State(ctx): State<Ctx>, _caller: Caller, RawQuery(query): RawQuery) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let ids: Vec<&str> = q
        .get("ids")
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "The `ids` query parameter value must be between 1 and 100 ids.",
        );
    }
    let fields = q.get("tweet.fields").cloned().unwrap_or_default();
    let world = ctx.world();
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        match world.post(Platform::X, id) {
            Some(post) => data.push(tweet_json(&world, post, &fields)),
            None => errors.push(json!({
                "resource_id": id, "resource_type": "tweet", "parameter": "ids", "value": id,
                "title": "Not Found Error", "detail": format!("Could not find tweet with ids: [{id}]."),
                "type": "https://api.x.com/2/problems/resource-not-found"
            })),
        }
    }
    let mut body = json!({});
    if !data.is_empty() {
        body["data"] = json!(data);
    }
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    Json(body).into_response()
}

async fn user_tweets(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let max: usize = q
        .get("max_results")
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    if !(5..=100).contains(&max) {
        return error(
            StatusCode::BAD_REQUEST,
            "The `max_results` query parameter value must be between 5 and 100.",
        );
    }
    let fields = q.get("tweet.fields").cloned().unwrap_or_default();
    let world = ctx.world();
    let data: Vec<Value> = world
        .posts
        .iter()
        .rev()
        .filter(|p| p.platform == Platform::X && p.author == id)
        .take(max)
        .map(|p| tweet_json(&world, p, &fields))
        .collect();
    Json(json!({ "data": data, "meta": { "result_count": data.len() } })).into_response()
}

/// A generated profile picture: a coloured disc with the account's initial.
async fn avatar(State(ctx): State<Ctx>, Path(file): Path<String>) -> Response {
    let id = file.trim_end_matches(".svg");
    let world = ctx.world();
    let Some(account) = world.account(Platform::X, id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let initial = account
        .handle
        .chars()
        .next()
        .unwrap_or('?')
        .to_ascii_uppercase();
    let hue = account
        .id
        .bytes()
        .fold(0u32, |h, b| (h * 31 + u32::from(b)) % 360);
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><circle cx="32" cy="32" r="32" fill="hsl({hue},55%,45%)"/><text x="32" y="42" font-family="sans-serif" font-size="28" text-anchor="middle" fill="white">{initial}</text></svg>"#
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        svg,
    )
        .into_response()
}
