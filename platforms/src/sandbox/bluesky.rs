//! The Sandbox's Bluesky XRPC (shapes checked against the reference PDS; see
//! `platforms/tests/it/bluesky_real.rs`). Also serves OmniPlug's own Sandbox network.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Caller, Ctx, Denied, SimMedia, all_values, pairs, random_hex};
use crate::text;

pub(crate) fn routes() -> Router<Ctx> {
    Router::new()
        .route(
            "/xrpc/com.atproto.server.createAccount",
            post(create_account),
        )
        .route(
            "/xrpc/com.atproto.server.createSession",
            post(create_session),
        )
        .route(
            "/xrpc/com.atproto.server.refreshSession",
            post(refresh_session),
        )
        .route("/xrpc/com.atproto.server.getSession", get(get_session))
        .route("/xrpc/com.atproto.repo.uploadBlob", post(upload_blob))
        .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
        .route("/xrpc/com.atproto.repo.getRecord", get(get_record))
        .route("/xrpc/com.atproto.repo.listRecords", get(list_records))
        .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
        .route("/xrpc/com.atproto.sync.getBlob", get(get_blob))
}

/// `com.atproto.sync.getBlob?did=…&cid=…`: an uploaded blob's bytes, as a PDS serves them.
async fn get_blob(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let cid = q.get("cid").map_or("", String::as_str);
    let did = q.get("did").map_or("", String::as_str);
    // The token is looked up before the world is locked (the lock is not re-entrant).
    let reader = ctx.reader(&headers);
    let world = ctx.world();
    let readable = world.may_read(reader.as_deref(), did);
    match world
        .uploads
        .get(cid)
        .filter(|b| readable && b.owner == did)
    {
        Some(blob) => (
            [(axum::http::header::CONTENT_TYPE, blob.mime.clone())],
            blob.bytes.clone(),
        )
            .into_response(),
        None => error(StatusCode::BAD_REQUEST, "BlobNotFound", "Blob not found"),
    }
}

/// `{"error","message"}` as every XRPC server answers.
pub(crate) fn error(status: StatusCode, name: &str, message: &str) -> Response {
    (status, Json(json!({ "error": name, "message": message }))).into_response()
}

pub(crate) fn denied(why: &Denied) -> Response {
    match why {
        Denied::Missing => error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        ),
        Denied::Unknown => error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Token could not be verified",
        ),
        Denied::Expired => error(StatusCode::BAD_REQUEST, "ExpiredToken", "Token has expired"),
    }
}

pub(crate) fn rate_limited(reset_at: DateTime<Utc>) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
    );
    let headers = response.headers_mut();
    headers.insert("RateLimit-Limit", 30.into());
    headers.insert("RateLimit-Remaining", 0.into());
    headers.insert("RateLimit-Reset", reset_at.timestamp().into());
    headers.insert(
        "RateLimit-Policy",
        "30;w=300".parse().unwrap_or_else(|_| 0.into()),
    );
    response
}

/// A JWT-shaped token whose `exp` the client can read (the signature is not real).
pub(crate) fn fake_jwt(did: &str, expires_at: DateTime<Utc>, n: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"at+jwt","alg":"HS256"}"#);
    let claims = json!({ "scope": "com.atproto.appPass", "sub": did, "exp": expires_at.timestamp(), "jti": n });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{}", random_hex())
}

fn session_json(did: &str, handle: &str, tokens: &crate::clients::TokenSet) -> Value {
    json!({
        "accessJwt": tokens.access.expose(),
        "refreshJwt": tokens.refresh.as_ref().map(|t| t.expose().to_owned()),
        "did": did,
        "handle": handle,
        "active": true,
    })
}

async fn create_account(State(ctx): State<Ctx>, Json(body): Json<Value>) -> Response {
    let handle = body["handle"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let password = body["password"].as_str().unwrap_or_default().to_owned();
    if body["email"].as_str().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Email is required",
        );
    }
    if handle.len() < 3 || password.is_empty() {
        return error(StatusCode::BAD_REQUEST, "InvalidHandle", "Handle too short");
    }
    let mut world = ctx.world();
    if world
        .accounts
        .iter()
        .any(|a| a.platform == ctx.platform && a.handle == handle)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("Handle already taken: {handle}"),
        );
    }
    let mut account = world.add_account(ctx.platform, &handle);
    account.password.clone_from(&password);
    if let Some(stored) = world.accounts.last_mut() {
        stored.password = password;
    }
    let tokens = world.issue(ctx.platform, &account.id);
    Json(session_json(&account.id, &account.handle, &tokens)).into_response()
}

async fn create_session(State(ctx): State<Ctx>, Json(body): Json<Value>) -> Response {
    let identifier = body["identifier"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    let mut world = ctx.world();
    let account = world
        .accounts
        .iter()
        .find(|a| {
            a.platform == ctx.platform
                && (a.handle == identifier || a.id == identifier)
                && a.password == password
        })
        .cloned();
    let Some(account) = account else {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    };
    let tokens = world.issue(ctx.platform, &account.id);
    Json(session_json(&account.id, &account.handle, &tokens)).into_response()
}

async fn refresh_session(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let refresh = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut world = ctx.world();
    let Some(tokens) = world.rotate(ctx.platform, &refresh) else {
        return denied(&Denied::Expired);
    };
    let did = tokens.account_id.clone().unwrap_or_default();
    let handle = world
        .account(ctx.platform, &did)
        .map(|a| a.handle.clone())
        .unwrap_or_default();
    Json(session_json(&did, &handle, &tokens)).into_response()
}

async fn get_session(State(ctx): State<Ctx>, Caller(did): Caller) -> Response {
    let world = ctx.world();
    let handle = world
        .account(ctx.platform, &did)
        .map(|a| a.handle.clone())
        .unwrap_or_default();
    Json(json!({ "did": did, "handle": handle, "active": true })).into_response()
}

async fn upload_blob(
    State(ctx): State<Ctx>,
    Caller(did): Caller,
    counted: Option<axum::Extension<super::Counted>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A hosted Sandbox counts large blobs instead of keeping them.
    let size = counted.map_or(body.len(), |c| c.0.0);
    let mime = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let link = format!("bafkrei{}", random_hex());
    let mut world = ctx.world();
    let bytes = world.keep(&link, body.clone());
    world.uploads.insert(
        link.clone(),
        SimMedia {
            id: link.clone(),
            alt: None,
            size,
            url: None,
            bytes,
            mime: mime.clone(),
            owner: did,
            ..SimMedia::default()
        },
    );
    Json(json!({ "blob": { "$type": "blob", "ref": { "$link": link }, "mimeType": mime, "size": size } })).into_response()
}

async fn create_record(
    State(ctx): State<Ctx>,
    Caller(did): Caller,
    Json(body): Json<Value>,
) -> Response {
    if body["repo"].as_str() != Some(did.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Input/repo must match the authenticated account",
        );
    }
    if body["collection"] != "app.bsky.feed.post" {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Only app.bsky.feed.post is simulated",
        );
    }
    let record = &body["record"];
    let Some(text) = record["text"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: Record/text must be a string",
        );
    };
    if record["createdAt"].as_str().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid app.bsky.feed.post record: Missing required key \"createdAt\" at $.record",
        );
    }
    // Bluesky's lexicon limit (the Sandbox network has its own, larger one).
    let report = text::check(ctx.platform, text);
    if report.count > report.limit {
        let (count, limit) = (report.count, report.limit);
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!(
                "Invalid app.bsky.feed.post record: Record/text must not be longer than {limit} graphemes (maximum {limit}, got {count}) at $.record.text"
            ),
        );
    }
    let mut world = ctx.world();
    let mut media = Vec::new();
    let video = record.pointer("/embed/video").map(|v| json!({ "alt": record.pointer("/embed/alt").cloned().unwrap_or(Value::Null), "image": v }));
    for image in record
        .pointer("/embed/images")
        .and_then(Value::as_array)
        .cloned()
        .into_iter()
        .flatten()
        .chain(video)
    {
        let link = image
            .pointer("/image/ref/$link")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(mut blob) = world.uploads.get(link).cloned() else {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Could not find blob",
            );
        };
        blob.alt = image["alt"].as_str().map(str::to_owned);
        media.push(blob);
    }
    let parent = record
        .pointer("/reply/parent/uri")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let root = record
        .pointer("/reply/root/uri")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(parent) = &parent
        && world.post(ctx.platform, parent).is_none()
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Reply parent not found",
        );
    }
    let rkey = format!("3sim{:010}", world.next());
    let uri = format!("at://{did}/app.bsky.feed.post/{rkey}");
    let cid = format!("bafyrei{}", random_hex());
    world
        .add_post(
            ctx.platform,
            uri.clone(),
            Some(cid.clone()),
            &did,
            text,
            parent,
            media,
        )
        .root = root;
    Json(json!({ "uri": uri, "cid": cid, "validationStatus": "valid" })).into_response()
}

fn record_json(world: &super::World, post: &super::SimPost) -> Value {
    let mut value = json!({
        "$type": "app.bsky.feed.post",
        "text": post.text,
        "createdAt": post.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let Some(parent) = &post.reply_to {
        let root = post.root.clone().unwrap_or_else(|| parent.clone());
        let cid = |uri: &str| {
            world
                .posts
                .iter()
                .find(|p| p.id == uri)
                .and_then(|p| p.cid.clone())
        };
        value["reply"] = json!({
            "root": { "uri": root, "cid": cid(&root) },
            "parent": { "uri": parent, "cid": cid(parent) },
        });
    }
    if let [clip] = post.media.as_slice()
        && clip.mime.starts_with("video/")
    {
        value["embed"] = json!({
            "$type": "app.bsky.embed.video",
            "alt": clip.alt.clone().unwrap_or_default(),
            "video": { "$type": "blob", "ref": { "$link": clip.id }, "mimeType": clip.mime, "size": clip.size },
        });
    } else if !post.media.is_empty() {
        let images: Vec<Value> = post
            .media
            .iter()
            .map(|m| {
                json!({
                    "alt": m.alt.clone().unwrap_or_default(),
                    "image": { "$type": "blob", "ref": { "$link": m.id }, "mimeType": m.mime, "size": m.size },
                })
            })
            .collect();
        value["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
    }
    value
}

async fn get_record(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let reader = ctx.reader(&headers);
    let uri = format!(
        "at://{}/{}/{}",
        q.get("repo").map_or("", String::as_str),
        q.get("collection").map_or("", String::as_str),
        q.get("rkey").map_or("", String::as_str)
    );
    let world = ctx.world();
    let post = world
        .post(ctx.platform, &uri)
        .filter(|p| world.may_read(reader.as_deref(), &p.author));
    match post {
        Some(post) => {
            Json(json!({ "uri": post.id, "cid": post.cid, "value": record_json(&world, post) }))
                .into_response()
        }
        None => error(
            StatusCode::BAD_REQUEST,
            "RecordNotFound",
            &format!("Could not locate record: {uri}"),
        ),
    }
}

async fn list_records(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = pairs(&query.unwrap_or_default());
    let repo = q.get("repo").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let reader = ctx.reader(&headers);
    let world = ctx.world();
    if !world.may_read(reader.as_deref(), &repo) {
        return error(
            StatusCode::BAD_REQUEST,
            "RepoNotFound",
            &format!("Could not find repo: {repo}"),
        );
    }
    let records: Vec<Value> = world
        .posts
        .iter()
        .rev()
        .filter(|p| p.platform == ctx.platform && p.author == repo)
        .take(limit.min(100))
        .map(|p| json!({ "uri": p.id, "cid": p.cid, "value": record_json(&world, p) }))
        .collect();
    Json(json!({ "records": records })).into_response()
}

async fn get_posts(
    State(ctx): State<Ctx>,
    Caller(did): Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let uris = all_values(&query.unwrap_or_default(), "uris");
    if uris.len() > 25 {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Error: uris must not have more than 25 elements",
        );
    }
    let world = ctx.world();
    let posts: Vec<Value> = uris
        .iter()
        .filter_map(|uri| world.post(ctx.platform, uri))
        .filter(|p| world.may_read(Some(&did), &p.author))
        .map(|p| {
            let counts = world.counts(p);
            let handle = world
                .account(ctx.platform, &p.author)
                .map(|a| a.handle.clone())
                .unwrap_or_default();
            json!({
                "uri": p.id, "cid": p.cid,
                "author": { "did": p.author, "handle": handle },
                "record": record_json(&world, p),
                "likeCount": counts.likes, "replyCount": counts.comments,
                "repostCount": counts.reposts, "quoteCount": 0,
                "indexedAt": p.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            })
        })
        .collect();
    Json(json!({ "posts": posts })).into_response()
}
