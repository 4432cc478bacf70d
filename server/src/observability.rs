//! One tracing span per request (with a request id) and request metrics.

use std::time::Instant;

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, Request},
    middleware::{self, Next},
    response::Response,
};
use http::{HeaderName, Method};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps every route: request id (outermost) → span → metrics → the id echoed on the response.
pub fn instrument(router: Router<AppState>) -> Router<AppState> {
    // `Router::layer` wraps routes after matching, so `MatchedPath` is available to metrics.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

async fn record_metrics(request: Request, next: Next) -> Response {
    // The route pattern, not the raw path, keeps label cardinality bounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A fixed set: a made-up method must not add series for ever.
    let method = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "omniplug_http_requests_total",
        "method" => method, "route" => route.clone(), "status" => status
    )
    .increment(1);
    metrics::histogram!("omniplug_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
