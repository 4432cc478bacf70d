//! The Sandbox's Instagram (Instagram Login + Graph API content publishing), with the shapes
//! quoted in `../shared/reference/instagram.md`. Image URLs are recorded, never fetched.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use super::{Caller, Container, Ctx, Denied, SimMedia, pairs, random_hex};
use crate::Platform;

pub(crate) fn routes() -> Router<Ctx> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/access_token", post(short_token))
        .route("/access_token", get(long_token))
        .route("/refresh_access_token", get(refresh))
        .route("/v25.0/", get(many))
        .route("/v25.0/me", get(me))
        .route("/v25.0/{id}", get(node))
        .route("/v25.0/{id}/media", post(create_container).get(list_media))
        .route("/v25.0/{id}/media_publish", post(publish))
        .route("/v25.0/{id}/comments", post(comment))
}

/// The Graph error envelope.
pub(crate) fn error(status: StatusCode, code: i64, message: &str) -> Response {
    error_with(
        status,
        json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": random_hex() }),
    )
}

fn error_with(status: StatusCode, body: Value) -> Response {
    (status, Json(json!({ "error": body }))).into_response()
}

pub(crate) fn denied(why: &Denied) -> Response {
    let (subcode, message) = match why {
        Denied::Missing => (
            0,
            "An active access token must be used to query information about the current user.",
        ),
        Denied::Unknown => (
            467,
            "Invalid OAuth access token - Cannot parse access token",
        ),
        Denied::Expired => (463, "Error validating access token: Session has expired."),
    };
    error_with(
        StatusCode::BAD_REQUEST,
        json!({ "message": message, "type": "OAuthException", "code": 190, "error_subcode": subcode, "fbtrace_id": random_hex() }),
    )
}

/// The business-use-case limit: code 80002 and the usage header saying when access returns.
pub(crate) fn rate_limited(reset: std::time::Duration) -> Response {
    let minutes = reset.as_secs().div_ceil(60);
    let mut response = error(
        StatusCode::BAD_REQUEST,
        80_002,
        "(#80002) There have been too many calls to this Instagram account.",
    );
    let usage = json!({ "17841400000000000": [ { "type": "instagram", "call_count": 100, "total_cputime": 40, "total_time": 40, "estimated_time_to_regain_access": minutes } ] });
    if let Ok(value) = usage.to_string().parse() {
        response
            .headers_mut()
            .insert("x-business-use-case-usage", value);
    }
    response
}

async fn authorize(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    super::consent(&ctx, query)
}

async fn short_token(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    let mut world = ctx.world();
    let info = form.get("code").and_then(|c| world.codes.remove(c));
    match info {
        Some(info)
            if info.platform == Platform::Instagram
                && form.get("redirect_uri") == Some(&info.redirect_uri)
                && form.get("grant_type").map(String::as_str) == Some("authorization_code") =>
        {
            // A one-hour token; the client trades it for a long-lived one.
            let tokens = world.issue(Platform::Instagram, &info.account);
            Json(json!({ "data": [ { "access_token": tokens.access.expose(), "user_id": info.account, "permissions": crate::clients::instagram::SCOPES } ] })).into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, 100, "Invalid authorization code"),
    }
}

fn token_json(world: &super::World, tokens: &crate::clients::TokenSet) -> Response {
    let ttl = tokens
        .expires_at
        .map_or(5_183_944, |at| (at - world.now()).num_seconds());
    Json(json!({ "access_token": tokens.access.expose(), "token_type": "bearer", "expires_in": ttl })).into_response()
}

/// `ig_exchange_token` and `ig_refresh_token` both trade a working token for a fresh one.
fn trade(ctx: &Ctx, query: Option<String>, grant: &str) -> Response {
    let q = pairs(&query.unwrap_or_default());
    if q.get("grant_type").map(String::as_str) != Some(grant) {
        return error(StatusCode::BAD_REQUEST, 100, "Unsupported grant_type");
    }
    let mut headers = HeaderMap::new();
    if let Some(Ok(value)) = q.get("access_token").map(|t| format!("Bearer {t}").parse()) {
        headers.insert("authorization", value);
    }
    let account = match ctx.authorize(&headers).map_err(|why| denied(&why)) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let mut world = ctx.world();
    let tokens = world.issue(Platform::Instagram, &account);
    token_json(&world, &tokens)
}

async fn long_token(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    trade(&ctx, query, "ig_exchange_token")
}

async fn refresh(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    trade(&ctx, query, "ig_refresh_token")
}

async fn me(State(ctx): State<Ctx>, Caller(id): Caller) -> Response {
    let world = ctx.world();
    let Some(account) = world.account(Platform::Instagram, &id) else {
        return error(StatusCode::BAD_REQUEST, 100, "Unknown user");
    };
    Json(json!({ "user_id": account.id, "id": account.id, "username": account.handle, "name": account.name })).into_response()
}

fn media_json(world: &super::World, post: &super::SimPost, fields: &str) -> Value {
    let counts = world.counts(post);
    let mut out = json!({ "id": post.id });
    for field in fields.split(',') {
        match field {
            "like_count" => out["like_count"] = json!(counts.likes),
            "comments_count" => out["comments_count"] = json!(counts.comments),
            "caption" => out["caption"] = json!(post.text),
            "timestamp" => {
                out["timestamp"] = json!(post.created_at.format("%Y-%m-%dT%H:%M:%S%z").to_string())
            }
            "permalink" => {
                out["permalink"] = json!(format!("https://www.instagram.com/p/Sim{}/", post.id))
            }
            "media_type" => {
                out["media_type"] = json!(if post.media.len() > 1 {
                    "CAROUSEL_ALBUM"
                } else if post.media.iter().any(|m| m.mime.starts_with("video/")) {
                    "VIDEO"
                } else {
                    "IMAGE"
                })
            }
            _ => {}
        }
    }
    out
}

/// `GET /{id}`: a container's status or a media object's fields.
async fn node(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = pairs(&query.unwrap_or_default())
        .remove("fields")
        .unwrap_or_default();
    let mut world = ctx.world();
    if let Some(container) = world.containers.get_mut(&id) {
        let status = if container.published {
            "PUBLISHED"
        } else if container.polls_left > 0 {
            container.polls_left -= 1;
            "IN_PROGRESS"
        } else {
            "FINISHED"
        };
        return Json(json!({ "status_code": status, "id": id })).into_response();
    }
    match world.post(Platform::Instagram, &id) {
        Some(post) => Json(media_json(&world, post, &fields)).into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            100,
            &format!("Unsupported get request. Object with ID '{id}' does not exist"),
        ),
    }
}

async fn many(State(ctx): State<Ctx>, _caller: Caller, RawQuery(query): RawQuery) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let fields = q.get("fields").cloned().unwrap_or_default();
    let world = ctx.world();
    let mut out = serde_json::Map::new();
    for id in q
        .get("ids")
        .map(|s| s.split(',').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        match world.post(Platform::Instagram, id) {
            Some(post) => {
                out.insert(id.to_owned(), media_json(&world, post, &fields));
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    100,
                    &format!("Some of the aliases you requested do not exist: {id}"),
                );
            }
        }
    }
    Json(Value::Object(out)).into_response()
}

async fn create_container(
    State(ctx): State<Ctx>,
    Caller(account): Caller,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    if account != user {
        return error(
            StatusCode::BAD_REQUEST,
            10,
            "(#10) Application does not have permission for this action",
        );
    }
    let form = pairs(&String::from_utf8_lossy(&body));
    let caption = form.get("caption").cloned().unwrap_or_default();
    if caption.chars().count() > 2200 {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "The caption is longer than 2,200 characters.",
        );
    }
    let mut world = ctx.world();
    let children: Vec<String> = form
        .get("children")
        .map(|c| c.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let media = match (
        form.get("image_url"),
        form.get("media_type").map(String::as_str),
    ) {
        (Some(url), None) => vec![SimMedia {
            id: format!("img{}", world.next()),
            alt: form.get("alt_text").cloned(),
            size: 0,
            url: Some(url.clone()),
            mime: "image/jpeg".into(),
            ..SimMedia::default()
        }],
        // Single feed videos are published as reels (`video_url`, `media_type=REELS`).
        (None, Some("REELS")) => match form.get("video_url") {
            Some(url) => vec![SimMedia {
                id: format!("vid{}", world.next()),
                size: 0,
                url: Some(url.clone()),
                mime: "video/mp4".into(),
                ..SimMedia::default()
            }],
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "The parameter video_url is required",
                );
            }
        },
        (None, Some("CAROUSEL")) => {
            let mut media = Vec::new();
            for child in &children {
                match world.containers.get(child) {
                    Some(c) => media.extend(c.media.iter().cloned()),
                    None => return error(StatusCode::BAD_REQUEST, 100, "Invalid carousel child"),
                }
            }
            media
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                100,
                "The parameter image_url is required",
            );
        }
    };
    let id = (17_889_000_000_000_000u64 + world.next()).to_string();
    let polls_left = world.container_polls;
    world.containers.insert(
        id.clone(),
        Container {
            owner: account,
            media,
            caption,
            children,
            polls_left,
            published: false,
        },
    );
    Json(json!({ "id": id })).into_response()
}

async fn publish(
    State(ctx): State<Ctx>,
    Caller(account): Caller,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    let creation = form.get("creation_id").cloned().unwrap_or_default();
    let mut world = ctx.world();
    let container = match world.containers.get_mut(&creation) {
        Some(c) if c.owner == account && account == user => c,
        _ => return error(StatusCode::BAD_REQUEST, 100, "Invalid creation_id"),
    };
    if container.polls_left > 0 {
        return error_with(
            StatusCode::BAD_REQUEST,
            json!({
                "message": "Media ID is not available", "type": "OAuthException", "code": 9007,
                "error_subcode": 2_207_027, "is_transient": false,
                "error_user_title": "Media not ready for publishing",
                "error_user_msg": "The media is not ready for publishing, please wait."
            }),
        );
    }
    if container.published {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "This media has already been published",
        );
    }
    container.published = true;
    let (caption, media, children) = (
        container.caption.clone(),
        container.media.clone(),
        container.children.clone(),
    );
    for child in children {
        if let Some(c) = world.containers.get_mut(&child) {
            c.published = true;
        }
    }
    let id = (17_920_000_000_000_000u64 + world.next()).to_string();
    world.add_post(
        Platform::Instagram,
        id.clone(),
        None,
        &account,
        &caption,
        None,
        media,
    );
    Json(json!({ "id": id })).into_response()
}

async fn comment(
    State(ctx): State<Ctx>,
    Caller(account): Caller,
    Path(media): Path<String>,
    body: Bytes,
) -> Response {
    let form = pairs(&String::from_utf8_lossy(&body));
    let Some(message) = form.get("message").filter(|m| !m.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            "The parameter message is required",
        );
    };
    let mut world = ctx.world();
    if world.post(Platform::Instagram, &media).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            &format!("Object with ID '{media}' does not exist"),
        );
    }
    let id = (17_870_000_000_000_000u64 + world.next()).to_string();
    world.add_post(
        Platform::Instagram,
        id.clone(),
        None,
        &account,
        message,
        Some(media),
        Vec::new(),
    );
    Json(json!({ "id": id })).into_response()
}

async fn list_media(
    State(ctx): State<Ctx>,
    _caller: Caller,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let fields = q.get("fields").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
    let world = ctx.world();
    let data: Vec<Value> = world
        .posts
        .iter()
        .rev()
        .filter(|p| p.platform == Platform::Instagram && p.author == user && p.reply_to.is_none())
        .take(limit)
        .map(|p| media_json(&world, p, &fields))
        .collect();
    Json(json!({ "data": data, "paging": { "cursors": { "before": "QVFI", "after": "QVFI" } } }))
        .into_response()
}
