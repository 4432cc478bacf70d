//! `/health`, `/metrics` and the request span, through the real server.

use crate::support::TestApp;
use omniplug_core::Stores;
use omniplug_testkit as testing;
use serde_json::Value;

#[tokio::test]
async fn health_is_ok_when_database_and_redis_answer() {
    let app = TestApp::spawn().await;
    let response = app.get_health().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");
    assert_eq!(body["redis"]["status"], "up");
    assert_eq!(body["workers"], 0, "no worker has started yet: {body}");
    app.stop().await;
}

#[tokio::test]
async fn health_is_503_naming_redis_when_redis_is_down() {
    // Nothing listens on port 1 on loopback.
    let app = TestApp::spawn_with(|c| {
        c.redis_url = omniplug_core::Secret::new("redis://127.0.0.1:1".into())
    })
    .await;
    let response = app.get_health().await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"]["status"], "up");
    assert_eq!(body["redis"]["status"], "down");
    assert!(
        body["redis"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(body.get("workers").is_none(), "{body}");
}

#[tokio::test]
async fn health_is_503_naming_the_database_when_it_is_down() {
    let db = testing::fresh_database().await;
    let config = testing::test_config(&db);
    let mut stores = Stores::open(config).await.expect("stores");
    // A pool that can no longer reach its database.
    stores.db = sea_orm::DatabaseConnection::Disconnected;
    let app = TestApp::spawn_with_stores(db, stores).await;
    let response = app.get_health().await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["database"]["status"], "down");
    assert_eq!(body["redis"]["status"], "up");
}

#[tokio::test]
async fn a_stepping_worker_is_counted_until_it_stops() {
    let app = TestApp::spawn().await;
    let worker = app.worker().await;
    let report = worker.step(chrono::Utc::now()).await.expect("step");
    assert!(report.heartbeat);
    let body: Value = app.get_health().await.json().await.expect("json");
    assert_eq!(body["workers"], 1, "{body}");

    worker.stop().await.expect("stop");
    let body: Value = app.get_health().await.json().await.expect("json");
    assert_eq!(body["workers"], 0, "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get_health().await.status(), 200);
    let response = app.get_metrics().await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("text");
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("omniplug_http_requests_total")
                && l.contains("route=\"/health\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /health counter in:\n{text}"));
    let count: f64 = line
        .rsplit(' ')
        .next()
        .expect("value")
        .parse()
        .expect("number");
    assert!(count >= 1.0, "{line}");
    assert!(
        text.contains("omniplug_http_request_duration_seconds"),
        "latency histogram missing"
    );
    assert!(text.contains("omniplug_build_info"), "build info missing");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get_health().await;
    let id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header");
    assert_eq!(id.to_str().expect("ascii").len(), 36, "a UUID");
}
