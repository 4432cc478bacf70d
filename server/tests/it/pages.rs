//! Server-rendered pages and the server function behind the dashboard.

use crate::support::TestApp;
use serde_json::Value;

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
async fn app_pages_send_logged_out_visitors_to_login_and_back() {
    let app = TestApp::spawn().await;
    for path in ["/dashboard", "/settings/members", "/compose?draft=1"] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"].to_str().expect("ascii");
        let expected = format!(
            "/login?next={}",
            path.replace('?', "%3F").replace('=', "%3D")
        );
        assert_eq!(location, expected, "{path}");
    }
    for path in ["/", "/login", "/signup", "/invite/whatever"] {
        assert_eq!(app.get_page(path).await.status(), 200, "{path} is public");
    }
    app.sign_up("ada@example.com", "Ada").await;
    for path in ["/login", "/signup"] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/dashboard");
    }
}

#[tokio::test]
async fn app_pages_render_the_navigation() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada Lovelace").await;
    for (path, title) in [
        ("/dashboard", "Dashboard"),
        ("/compose", "Compose"),
        ("/schedule", "Schedule"),
        ("/analytics", "Analytics"),
        ("/settings", "Settings"),
        ("/settings/workspace", "Settings"),
        ("/settings/members", "Settings"),
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
        assert!(
            html.contains("Ada&#x27;s workspace") || html.contains("Ada's workspace"),
            "{path}: the workspace switcher shows the current workspace"
        );
    }
    let members = app
        .get_page("/settings/members")
        .await
        .text()
        .await
        .expect("html");
    assert!(members.contains("ada@example.com"), "{members}");
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
