//! Plain HTTP routes beside the Leptos app: `/health`, `/metrics`, and the networks' OAuth
//! redirect back to `/connections/callback/{platform}`.

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use omniplug_core::{Stores, connections, health};
use omniplug_platforms::Platform;
use serde::Deserialize;

use crate::{AppState, security::CspNonce};

/// Every path this module serves (the isolation test walks them).
pub const PATHS: [&str; 3] = ["/health", "/metrics", "/connections/callback/{platform}"];

/// The routes this module serves.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATHS[0], get(health_check))
        .route(PATHS[1], get(metrics))
        .route(PATHS[2], get(oauth_callback))
}

/// What a network's redirect brings back.
#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /connections/callback/{platform}`: the network sends the person back here after they
/// approved (or refused) OmniPlug. The state must be theirs, for this network, unused and under
/// ten minutes old. The answer is a small page that tells the Connections page (in the popup's
/// opener) what happened and closes itself, or, without a popup, sends the person there.
#[tracing::instrument(skip_all, fields(platform = %platform))]
async fn oauth_callback(
    State(stores): State<Stores>,
    Path(platform): Path<String>,
    Query(query): Query<Callback>,
    nonce: Option<Extension<CspNonce>>,
    headers: HeaderMap,
) -> Response {
    let outcome = finish_callback(&stores, &platform, query, &headers).await;
    if let Err(message) = &outcome {
        tracing::info!(%message, "connect did not complete");
    }
    callback_page(&outcome, nonce.as_ref().map_or("", |n| &n.0.0))
}

async fn finish_callback(
    stores: &Stores,
    platform: &str,
    query: Callback,
    headers: &HeaderMap,
) -> Result<String, String> {
    let platform = Platform::from_slug(platform).ok_or("Unknown network.")?;
    let (user, _) = app::auth::ssr::session_from_headers(stores, headers)
        .await
        .map_err(|err| {
            tracing::error!(%err, "session lookup failed");
            "Something went wrong on our side. Try again in a moment.".to_owned()
        })?
        .ok_or("Log in to OmniPlug, then connect again.")?;
    let state = query
        .state
        .ok_or("The network sent no state; start connecting again.")?;
    if let Some(error) = query.error {
        // Spend the state so the same link cannot be replayed, then say what happened.
        connections::claim_state(&stores.db, user.id, platform, &state)
            .await
            .map_err(|err| err.to_string())?;
        return Err(
            if error == "access_denied" || error == "user_cancelled_authorize" {
                format!("You cancelled connecting {}.", platform.display_name())
            } else {
                format!(
                    "{} did not connect: {}",
                    platform.display_name(),
                    query.error_description.unwrap_or(error)
                )
            },
        );
    }
    let code = query
        .code
        .ok_or("The network sent no code; start connecting again.")?;
    let networks = &stores.networks;
    let (_, view) = connections::finish_oauth(
        &stores.db,
        &stores.vault,
        networks,
        user.id,
        platform,
        &state,
        &code,
    )
    .await
    .map_err(|err| match err {
        connections::ConnectionError::Database(cause) => {
            tracing::error!(%cause, "connect failed");
            "Something went wrong on our side. Try again in a moment.".to_owned()
        }
        other => other.to_string(),
    })?;
    Ok(format!(
        "Connected {} on {}.",
        view.handle,
        platform.display_name()
    ))
}

/// The page the popup shows for a moment. The message travels as JSON to the opener (same
/// origin only) and in the fallback link's query.
fn callback_page(outcome: &Result<String, String>, nonce: &str) -> Response {
    let (ok, message) = match outcome {
        Ok(m) => (true, m.as_str()),
        Err(m) => (false, m.as_str()),
    };
    let payload = serde_json::json!({ "type": "omniplug:connected", "ok": ok, "message": message });
    let key = if ok { "connected" } else { "error" };
    let fallback = format!("/connections?{key}={}", percent_encode(message));
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    // `</` cannot appear inside the JSON (serde escapes nothing there), so escape it by hand.
    let script_payload = payload.to_string().replace("</", "<\\/");
    let body = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OmniPlug</title></head>
<body><p id="message">{text}</p><p><a id="continue" href="{fallback}">Back to Connections</a></p>
<script nonce="{nonce}">
const payload = {script_payload};
let sameOrigin = false;
try {{ sameOrigin = !!window.opener && window.opener.location.origin === window.location.origin; }} catch (e) {{}}
if (sameOrigin) {{
  window.opener.postMessage(payload, window.location.origin);
  window.close();
}} else {{
  window.location.replace(document.getElementById("continue").getAttribute("href"));
}}
</script></body></html>"#,
        text = html_escape(message),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /health`: 200 when the database and Redis both answer, 503 naming the one that does not.
#[tracing::instrument(skip_all)]
async fn health_check(State(stores): State<Stores>) -> impl IntoResponse {
    let report = health::check(&stores.db, &stores.redis).await;
    let status = if report.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(report))
}

/// `GET /metrics`: Prometheus text exposition, for the bearer of `OMNIPLUG_METRICS_TOKEN`.
/// Without a token it is open in development and absent (404) in production, so a public
/// server does not show its traffic to strangers.
async fn metrics(State(stores): State<Stores>, headers: HeaderMap) -> Response {
    let config = &stores.config;
    let allowed = match &config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                // Digests are compared, not the tokens, so the time taken says nothing about
                // how much of a guess was right.
                let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
                digest(given).as_ref() == digest(token.expose()).as_ref()
            }),
        None => config.environment == omniplug_core::config::Environment::Development,
    };
    if !allowed {
        return if config.metrics_token.is_some() {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "Send the metrics token as a bearer token.",
            )
                .into_response()
        } else {
            StatusCode::NOT_FOUND.into_response()
        };
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        omniplug_core::telemetry::prometheus().render(),
    )
        .into_response()
}
