//! What a stranger on the internet can try against a public OmniPlug, and the safe answer each
//! gets: the hosted Sandbox network, its consent pages, `/metrics`.

use chrono::Utc;
use omniplug_core::{config::Secret, entities::post_target};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::support::{Browser, TestApp, access_token, get_as};

/// Signs `name` up, connects a Sandbox account and publishes one post from it; returns the
/// browser, workspace id, connection id and the post's `at://` URI.
async fn published_on_sandbox(
    app: &TestApp,
    email: &str,
    name: &str,
) -> (Browser, String, String, String) {
    let (person, ws) = signed_up(app, email, name).await;
    let card = person.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let connection = card["id"].as_str().expect("connection").to_owned();
    let draft = person
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", &format!("Hello from {name}")),
                ("post[connection_ids][0]", &connection),
            ],
        )
        .await;
    let id = draft["id"].as_str().expect("id").to_owned();
    person
        .ok(
            "publish_post_now",
            &[("workspace_id", &ws), ("post_id", &id), ("version", "0")],
        )
        .await;
    app.worker().await.step(Utc::now()).await.expect("step");
    let target = post_target::Entity::find()
        .filter(
            post_target::Column::PostId.eq(sea_orm::prelude::Uuid::parse_str(&id).expect("uuid")),
        )
        .one(&app.stores.db)
        .await
        .expect("query")
        .expect("target");
    let uri = target.platform_post_id.expect("published");
    (person, ws, connection, uri)
}

/// A new person signed up on `app`, and their workspace's id.
async fn signed_up(app: &TestApp, email: &str, name: &str) -> (Browser, String) {
    let person = app.browser();
    person.sign_up(email, name).await;
    let ws = person.workspace_id().await;
    (person, ws)
}

/// `GET` below the Sandbox network, with `token` as the bearer when given.
async fn xrpc_get(app: &TestApp, query: &str, token: Option<&str>) -> reqwest::Response {
    get_as(
        app.url(&format!("/sandbox-network/sandbox/xrpc/{query}")),
        token,
    )
    .await
}

/// The access token of a connection's account.
async fn token_of(app: &TestApp, connection: &str) -> String {
    access_token(
        app,
        sea_orm::prelude::Uuid::parse_str(connection).expect("uuid"),
    )
    .await
}

fn did_of(uri: &str) -> &str {
    uri.strip_prefix("at://")
        .and_then(|rest| rest.split('/').next())
        .expect("at:// uri")
}

#[tokio::test]
async fn the_hosted_sandbox_keeps_each_workspaces_posts_to_itself() {
    let app = TestApp::spawn().await;
    let (ada, ada_ws, ada_connection, uri) =
        published_on_sandbox(&app, "ada@example.com", "Ada").await;
    let (bob_browser, bob_ws, bob_connection, _) =
        published_on_sandbox(&app, "bob@example.com", "Bob").await;
    let did = did_of(&uri);
    let rkey = uri.rsplit('/').next().expect("rkey");
    let reads = [
        format!("com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post"),
        format!("com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}"),
        format!("app.bsky.feed.getPosts?uris={uri}"),
        format!("com.atproto.sync.getBlob?did={did}&cid=bafkrei0"),
    ];

    // Nobody without a token reads anything.
    for read in &reads {
        let response = xrpc_get(&app, read, None).await;
        assert_eq!(response.status(), 401, "anonymous {read}");
    }
    // Nor writes: a large anonymous upload is refused before its body is read, and the
    // audience endpoint the test Sandbox has does not exist on the hosted one.
    let upload = reqwest::Client::new()
        .post(app.url("/sandbox-network/sandbox/xrpc/com.atproto.repo.uploadBlob"))
        .header("content-type", "video/mp4")
        .body(vec![0u8; 8 * 1024 * 1024])
        .send()
        .await
        .expect("POST");
    assert_eq!(upload.status(), 401);
    let audience = reqwest::Client::new()
        .post(app.url("/sandbox-network/_audience"))
        .json(&serde_json::json!({ "post": uri, "likes": 500 }))
        .send()
        .await
        .expect("POST");
    assert_eq!(audience.status(), 404);

    // Bob's own account cannot read Ada's posts either.
    let bob = token_of(&app, &bob_connection).await;
    let listed = xrpc_get(&app, &reads[0], Some(&bob)).await;
    assert_eq!(listed.status(), 400, "Ada's repo is not Bob's to list");
    let got = xrpc_get(&app, &reads[1], Some(&bob)).await;
    assert_eq!(got.status(), 400, "Ada's record is not Bob's to read");
    let posts: Value = xrpc_get(&app, &reads[2], Some(&bob))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(posts["posts"], serde_json::json!([]), "{posts}");

    // Ada reads her own.
    let mine = token_of(&app, &ada_connection).await;
    let record: Value = xrpc_get(&app, &reads[1], Some(&mine))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(record["value"]["text"], "Hello from Ada", "{record}");

    // Bob cannot set Ada's audience through the server function: for him her post does not exist.
    let (status, _) = bob_browser
        .err(
            "sandbox_audience",
            &[("workspace_id", &bob_ws), ("post", &uri), ("likes", "500")],
        )
        .await;
    assert_eq!(status, 404);
    // Nor through Ada's workspace, which he is not in.
    let (status, _) = bob_browser
        .err(
            "sandbox_audience",
            &[("workspace_id", &ada_ws), ("post", &uri), ("likes", "500")],
        )
        .await;
    assert_eq!(status, 404);
    let likes = |posts: &Value| posts["posts"][0]["likeCount"].as_u64();
    let before: Value = xrpc_get(&app, &reads[2], Some(&mine))
        .await
        .json()
        .await
        .expect("json");
    assert_ne!(likes(&before), Some(500), "{before}");

    // Ada can.
    ada.ok(
        "sandbox_audience",
        &[
            ("workspace_id", &ada_ws),
            ("post", &uri),
            ("likes", "12"),
            ("comments", "3"),
        ],
    )
    .await;
    let after: Value = xrpc_get(&app, &reads[2], Some(&mine))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(likes(&after), Some(12), "{after}");
    assert_eq!(after["posts"][0]["replyCount"].as_u64(), Some(3), "{after}");

    // Disconnecting forgets the simulated account: its token no longer opens anything.
    ada.ok(
        "disconnect_connection",
        &[
            ("workspace_id", &ada_ws),
            ("connection_id", &ada_connection),
        ],
    )
    .await;
    // (Bluesky answers an unknown token with 400 InvalidToken.)
    let gone = xrpc_get(&app, &reads[1], Some(&mine)).await;
    assert_eq!(gone.status(), 400);
    let body: Value = gone.json().await.expect("json");
    assert_eq!(body["error"], "InvalidToken", "{body}");
}

/// The hosted Sandbox's accounts, tokens and posts are kept in Redis: after a restart the
/// connection made before it still reads its posts and publishes new ones.
#[tokio::test]
async fn the_hosted_sandbox_survives_a_restart_and_its_connections_keep_working() {
    let app = TestApp::spawn().await;
    let (_, ws, connection, uri) = published_on_sandbox(&app, "ada@example.com", "Ada").await;
    let token = token_of(&app, &connection).await;
    let did = did_of(&uri).to_owned();
    let rkey = uri.rsplit('/').next().expect("rkey").to_owned();
    let read =
        format!("com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}");
    // The state is saved within half a second of changing.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let app = app.restart().await;

    // Restored once the new server reaches Redis (at once here; give it a moment).
    let mut status = 0;
    for _ in 0..50 {
        status = xrpc_get(&app, &read, Some(&token)).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "the post and its account's token survived the restart"
    );
    let record: Value = xrpc_get(&app, &read, Some(&token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(record["value"]["text"], "Hello from Ada", "{record}");

    // The connection publishes again without being reconnected.
    let ada = app.browser();
    let login = ada
        .call(
            "log_in",
            &[
                ("email", "ada@example.com"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(login.status(), 200);
    let draft = ada
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "After the restart"),
                ("post[connection_ids][0]", &connection),
            ],
        )
        .await;
    let id = draft["id"].as_str().expect("id").to_owned();
    ada.ok(
        "publish_post_now",
        &[("workspace_id", &ws), ("post_id", &id), ("version", "0")],
    )
    .await;
    app.worker().await.step(Utc::now()).await.expect("step");
    let sent = ada
        .ok("get_post", &[("workspace_id", &ws), ("post_id", &id)])
        .await;
    assert_eq!(sent["status"], "PUBLISHED", "{sent}");
}

#[tokio::test]
async fn sandbox_consent_pages_send_people_back_only_to_this_server() {
    let app = TestApp::spawn().await;
    let consent = |redirect: &str| {
        app.url(&format!(
            "/sandbox-network/linkedin/oauth/v2/authorization?response_type=code&client_id=app&state=s1&redirect_uri={redirect}"
        ))
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let evil = http
        .get(consent("https%3A%2F%2Fevil.example%2F"))
        .send()
        .await
        .expect("GET");
    assert_eq!(evil.status(), 400);
    assert!(evil.headers().get("location").is_none());
    let own = format!(
        "{}/connections/callback/linkedin",
        app.stores.config.public_url
    );
    let ours = http
        .get(consent(&own.replace(':', "%3A").replace('/', "%2F")))
        .send()
        .await
        .expect("GET");
    assert_eq!(ours.status(), 303);
    let location = ours.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with(&own), "{location}");
}

#[tokio::test]
async fn an_operator_can_turn_the_sandbox_off() {
    let app = TestApp::spawn_with(|config| config.sandbox = false).await;
    let response = xrpc_get(&app, "com.atproto.server.getSession", None).await;
    assert_eq!(response.status(), 404);
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let (status, message) = ada.err("connect_sandbox", &[("workspace_id", &ws)]).await;
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("OMNIPLUG_SANDBOX=on"), "{message}");
    let view = ada.ok("list_connections", &[("workspace_id", &ws)]).await;
    let sandbox = view["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .find(|n| n["platform"] == "sandbox")
        .expect("sandbox listed")
        .clone();
    assert_eq!(sandbox["available"], false, "{sandbox}");
}

#[tokio::test]
async fn made_up_methods_add_no_metric_series() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for junk in ["FROB", "XYZZY", "PLUGH"] {
        http.request(
            reqwest::Method::from_bytes(junk.as_bytes()).expect("method"),
            app.url("/health"),
        )
        .send()
        .await
        .expect("request");
    }
    let text = app.get_metrics().await.text().await.expect("text");
    for junk in ["FROB", "XYZZY", "PLUGH"] {
        assert!(!text.contains(junk), "{junk} became a label");
    }
    assert!(text.contains("method=\"OTHER\""), "{text}");
}

#[tokio::test]
async fn metrics_are_closed_in_production_and_open_to_the_token() {
    let production = TestApp::spawn_with(|config| {
        config.environment = omniplug_core::config::Environment::Production;
    })
    .await;
    assert_eq!(production.get_metrics().await.status(), 404);

    let app = TestApp::spawn_with(|config| {
        config.metrics_token = Some(Secret::new("scrape-me-please".to_owned()));
    })
    .await;
    let http = reqwest::Client::new();
    let metrics = |token: Option<&'static str>| {
        let request = http.get(app.url("/metrics"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    assert_eq!(metrics(None).await.expect("GET").status(), 401);
    assert_eq!(metrics(Some("guess")).await.expect("GET").status(), 401);
    let open = metrics(Some("scrape-me-please")).await.expect("GET");
    assert_eq!(open.status(), 200);
    assert!(
        open.text()
            .await
            .expect("text")
            .contains("omniplug_http_requests_total")
    );
}

#[tokio::test]
async fn days_at_the_edge_of_the_calendar_are_a_400_not_a_dropped_connection() {
    let app = TestApp::spawn().await;
    let (person, ws) = signed_up(&app, "edge@example.com", "Edge").await;
    let far = "Pick a day between the years 1970 and 9999.";
    let unreadable = "Use a day like 2026-12-01.";
    for (day, why) in [
        ("%2B262142-12-31", far),
        ("-262143-01-01", far),
        ("1969-12-31", far),
        ("10000-01-01", unreadable),
    ] {
        let page = person.get(&format!("/schedule?view=month&day={day}")).await;
        let status = page.status();
        let shown = page.text().await.expect("page");
        assert_eq!(status, 400, "the schedule page for {day}: {shown}");
        assert!(shown.contains(why), "{day}: the page says why");
        let day = day.replace("%2B", "+");
        for view in ["week", "month"] {
            let (status, message) = person
                .err(
                    "get_calendar",
                    &[("workspace_id", &ws), ("view", view), ("day", &day)],
                )
                .await;
            assert_eq!((status, message.as_str()), (400, why), "{view} {day}");
        }
        let (status, _) = person
            .err(
                "list_posts",
                &[
                    ("workspace_id", &ws),
                    ("filter[from_day]", &day),
                    ("filter[days]", "7"),
                ],
            )
            .await;
        assert_eq!(status, 400, "list_posts from {day}");
    }
    let (status, message) = person
        .err("check_time", &[("schedule", "+262142-12-31T09:00")])
        .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "Pick a time within the next year.")
    );
    // The calendar still works for ordinary days, up to the last one.
    let last = person
        .ok(
            "get_calendar",
            &[
                ("workspace_id", &ws),
                ("view", "month"),
                ("day", "9999-12-31"),
            ],
        )
        .await;
    assert_eq!(last["title"], "December 9999");
}

#[tokio::test]
async fn drafts_keep_to_the_limits_too() {
    let app = TestApp::spawn().await;
    let (person, ws) = signed_up(&app, "drafts@example.com", "Drafts").await;
    let long = "a".repeat(20_001);
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "overrides.x",
            vec![
                ("post[overrides][0][platform]", "x"),
                ("post[overrides][0][text]", &long),
            ],
        ),
        (
            "overrides.x",
            vec![
                ("post[overrides][0][platform]", "x"),
                ("post[overrides][0][text]", "one"),
                ("post[overrides][1][platform]", "x"),
                ("post[overrides][1][text]", "two"),
            ],
        ),
        (
            "plugs.bluesky",
            vec![
                ("post[plugs][0][platform]", "bluesky"),
                ("post[plugs][0][text]", "Buy it"),
                ("post[plugs][0][trigger]", "likes"),
                ("post[plugs][0][value]", "10"),
                ("post[plugs][1][platform]", "bluesky"),
                ("post[plugs][1][text]", "Buy it again"),
                ("post[plugs][1][trigger]", "likes"),
                ("post[plugs][1][value]", "20"),
            ],
        ),
        (
            "plugs.bluesky.text",
            vec![
                ("post[plugs][0][platform]", "bluesky"),
                ("post[plugs][0][text]", &long),
                ("post[plugs][0][trigger]", "likes"),
                ("post[plugs][0][value]", "10"),
            ],
        ),
    ];
    for (field, extra) in cases {
        let mut form = vec![("workspace_id", ws.as_str()), ("post[text]", "A draft")];
        form.extend(extra);
        let response = person.call("save_post", &form).await;
        assert_eq!(response.status(), 400, "{field}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["fields"][0]["field"], field, "{body}");
    }
    let drafts = person.ok("list_posts", &[("workspace_id", &ws)]).await;
    assert_eq!(
        drafts["posts"].as_array().map(Vec::len),
        Some(0),
        "nothing was saved"
    );
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_a_413_with_a_message() {
    let app = TestApp::spawn().await;
    let (person, ws) = signed_up(&app, "big@example.com", "Big").await;
    let huge = "a".repeat(3 * 1024 * 1024);
    let (status, message) = person
        .err("save_post", &[("workspace_id", &ws), ("post[text]", &huge)])
        .await;
    assert_eq!(status, 413);
    assert!(message.contains("larger than the 2 MB"), "{message}");
    // Without a length up front (chunked), the limit holds while the body is read.
    let chunks =
        futures::stream::iter((0..48).map(|_| Ok::<_, std::io::Error>(bytes_of(64 * 1024))));
    let response = person
        .client
        .post(app.url("/api/save_post"))
        .header("origin", app.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("send");
    let (status, message) = crate::support::error_of(response).await;
    assert_eq!(status, 413, "{message}");
    assert!(message.contains("larger than the 2 MB"), "{message}");
}

fn bytes_of(n: usize) -> Vec<u8> {
    let mut out = b"post[text]=".to_vec();
    out.resize(n, b'a');
    out
}

#[tokio::test]
async fn every_page_carries_the_protective_headers_and_its_scripts_the_nonce() {
    let app = TestApp::spawn().await;
    let person = app.browser();
    person.sign_up("headers@example.com", "Headers").await;
    let mut nonces = Vec::new();
    for path in ["/", "/login", "/dashboard", "/schedule", "/no-such-page"] {
        let page = if path == "/login" {
            app.get_page(path).await
        } else {
            person.get(path).await
        };
        let headers = page.headers().clone();
        let csp = headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("'unsafe-inline'; ") || csp.contains("style-src-attr 'unsafe-inline'"),
            "{csp}"
        );
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce")
            .to_owned();
        let body = page.text().await.expect("body");
        let tags: Vec<&str> = body
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or_default())
            .collect();
        assert!(!tags.is_empty(), "{path} hydrates through a script");
        for tag in tags {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: <script{tag}> lacks the nonce"
            );
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "a fresh nonce per page");
    // JSON answers get the headers that matter outside a page, too.
    let health = app.get_health().await;
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn hsts_is_sent_when_the_server_is_reached_over_https() {
    let app =
        TestApp::spawn_with(|config| config.public_url = "https://omniplug.example".into()).await;
    let health = app.get_health().await;
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn a_bluesky_server_on_a_private_address_is_refused_before_anything_is_sent() {
    let app = TestApp::spawn().await;
    let (person, ws) = signed_up(&app, "ssrf@example.com", "Ssrf").await;
    // An open port on loopback that counts who knocks, and one that is closed.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let open_port = open.local_addr().expect("addr").port();
    let knocks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = knocks.clone();
    tokio::spawn(async move {
        while open.accept().await.is_ok() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let server_port = app.url("").rsplit(':').next().expect("port").to_owned();
    let mut answers = Vec::new();
    for server in [
        format!("http://127.0.0.1:{server_port}"),
        format!("http://127.0.0.1:{open_port}"),
        format!("http://127.0.0.1:{closed_port}"),
        "http://10.0.0.1".to_owned(),
        "http://169.254.169.254".to_owned(),
        format!("http://[::1]:{open_port}"),
        format!("http://localhost:{open_port}"),
        // 127.0.0.1 written as one number: the URL parser reads it as the address it is.
        format!("http://2130706433:{open_port}"),
    ] {
        let (status, message) = person
            .err(
                "connect_bluesky",
                &[
                    ("workspace_id", &ws),
                    ("handle", "someone.example"),
                    ("app_password", "abcd-efgh-ijkl-mnop"),
                    ("server", &server),
                ],
            )
            .await;
        assert_eq!(status, 400, "{server}: {message}");
        assert!(
            message.contains("OmniPlug only calls servers on the public internet"),
            "{server}: {message}"
        );
        answers.push(message);
    }
    assert_eq!(
        knocks.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached loopback"
    );
    // Open and closed ports get the same answer: the refusal tells nothing about either.
    assert_eq!(
        answers[1].replace(&open_port.to_string(), "PORT"),
        answers[2].replace(&closed_port.to_string(), "PORT")
    );
    // A path with a query (`…/health?`) is not a server address at all.
    let (status, message) = person
        .err(
            "connect_bluesky",
            &[
                ("workspace_id", &ws),
                ("handle", "someone.example"),
                ("app_password", "abcd-efgh-ijkl-mnop"),
                ("server", &format!("http://127.0.0.1:{server_port}/health?")),
            ],
        )
        .await;
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Enter the server as a web address, like https://pds.example.com."
        )
    );
}
