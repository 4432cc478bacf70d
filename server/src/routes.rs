//! Plain HTTP routes beside the Leptos app: `/health` and `/metrics`.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use omniplug_core::{Stores, health};

use crate::AppState;

/// Every path this module serves (the isolation test walks them).
pub const PATHS: [&str; 2] = ["/health", "/metrics"];

/// The routes this module serves.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATHS[0], get(health_check))
        .route(PATHS[1], get(metrics))
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

/// `GET /metrics`: Prometheus text exposition.
async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        omniplug_core::telemetry::prometheus().render(),
    )
}
