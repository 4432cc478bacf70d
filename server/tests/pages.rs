//! Server-rendered pages and the server function behind the dashboard.

mod support;

use serde_json::Value;
use support::TestApp;

#[tokio::test]
async fn landing_page_explains_the_product_and_loads_the_app_bundle() {
    let app = TestApp::spawn().await;
    let response = app.get_page("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("Plug your product every time a post takes off."),
        "{html}"
    );
    assert!(html.contains("<title>OmniPlug</title>"), "{html}");
    // Hydration needs the WASM bundle and stylesheet links.
    assert!(html.contains("/pkg/omniplug.js"), "{html}");
    assert!(html.contains("/pkg/omniplug.css"), "{html}");
    assert!(html.contains("Likes needed"), "the plug demo is rendered");
}

#[tokio::test]
async fn app_pages_render_the_navigation() {
    let app = TestApp::spawn().await;
    for (path, title) in [
        ("/dashboard", "Dashboard"),
        ("/compose", "Compose"),
        ("/schedule", "Schedule"),
        ("/analytics", "Analytics"),
        ("/settings", "Settings"),
    ] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.expect("html");
        assert!(
            html.contains(&format!("<title>{title} · OmniPlug</title>")),
            "{path}: {html}"
        );
        for link in [
            "/dashboard",
            "/compose",
            "/schedule",
            "/analytics",
            "/settings",
        ] {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{path} lacks a link to {link}"
            );
        }
        assert!(
            html.contains("aria-current=\"page\""),
            "{path}: the current section is marked"
        );
    }
}

#[tokio::test]
async fn unknown_paths_get_a_404_page() {
    let app = TestApp::spawn().await;
    let response = app.get_page("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("html");
    assert!(html.contains("This page does not exist"), "{html}");
}

#[tokio::test]
async fn system_status_server_function_reports_stores_and_workers() {
    let app = TestApp::spawn().await;
    let response = app.call_system_status().await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["database_up"], true);
    assert_eq!(body["redis_up"], true);
    assert_eq!(body["workers"], 0);

    let worker = app.worker().await;
    worker.step(chrono::Utc::now()).await.expect("step");
    let body: Value = app.call_system_status().await.json().await.expect("json");
    assert_eq!(body["workers"], 1);
}
