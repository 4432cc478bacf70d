//! Sign-up, login, logout and the session cookie, through the real server and its server
//! functions, with the messages and statuses a person would get.

use crate::support::{PASSWORD, TestApp, error_of};
use serde_json::Value;

#[tokio::test]
async fn sign_up_sets_a_secure_session_cookie_and_lands_in_the_personal_workspace() {
    let app = TestApp::spawn().await;
    let response = app
        .call(
            "sign_up",
            &[
                ("email", " Ada@Example.com"),
                ("password", PASSWORD),
                ("name", "Ada Lovelace"),
                ("timezone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("omniplug_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["workspace"]["name"], "Ada's workspace");
    assert_eq!(user["workspace"]["role"], "owner");
    assert!(user.get("password_hash").is_none());

    let me = app.current_user().await;
    assert_eq!(
        me["email"], "ada@example.com",
        "the cookie logs the browser in"
    );
}

#[tokio::test]
async fn bad_sign_up_input_gets_a_400_with_the_message_to_show() {
    let app = TestApp::spawn().await;
    let cases = [
        (["", PASSWORD, "Ada"], "Enter your e-mail address."),
        (
            ["not-an-email", PASSWORD, "Ada"],
            "Enter a valid e-mail address, like name@example.com.",
        ),
        (
            ["ada@example.com", "short", "Ada"],
            "Use at least 10 characters for your password.",
        ),
        (
            ["ada@example.com", "1234567890", "Ada"],
            "That password is too common. Pick something only you would use.",
        ),
        (["ada@example.com", PASSWORD, ""], "Enter your name."),
        (
            [&format!("{}@example.com", "a".repeat(320)), PASSWORD, "Ada"],
            "That e-mail address is too long (at most 320 characters).",
        ),
        (
            ["ada@example.com", &"x1".repeat(129), "Ada"],
            "Use at most 256 characters for your password.",
        ),
        (
            ["ada@example.com", PASSWORD, &"A".repeat(101)],
            "Use at most 100 characters for your name.",
        ),
    ];
    for ([email, password, name], message) in cases {
        let response = app
            .call(
                "sign_up",
                &[
                    ("email", email),
                    ("password", password),
                    ("name", name),
                    ("timezone", "UTC"),
                ],
            )
            .await;
        assert_eq!(
            error_of(response).await,
            (400, message.to_owned()),
            "{email} / {password} / {name}"
        );
    }
    app.sign_up("ada@example.com", "Ada").await;
    let again = app
        .call(
            "sign_up",
            &[
                ("email", "ADA@example.com"),
                ("password", PASSWORD),
                ("name", "Ada"),
                ("timezone", "UTC"),
            ],
        )
        .await;
    assert_eq!(
        error_of(again).await,
        (
            400,
            "An account with this e-mail already exists. Log in instead.".to_owned()
        )
    );
}

#[tokio::test]
async fn log_out_ends_the_session_and_log_in_starts_a_new_one() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;

    let response = app.log_out().await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let me = app.current_user().await;
    assert_eq!(me, Value::Null, "logged out");

    let response = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.expect("json");
    assert_eq!(
        user["workspace"]["name"], "Ada's workspace",
        "back in the personal workspace"
    );
    let me = app.current_user().await;
    assert_eq!(me["email"], "ada@example.com");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    let wrong = error_of(app.log_in("ada@example.com", "not the password").await).await;
    let unknown = error_of(app.log_in("nobody@example.com", PASSWORD).await).await;
    assert_eq!(
        wrong,
        (
            401,
            "That e-mail and password do not match an account.".to_owned()
        )
    );
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_with_a_wait_time() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    for _ in 0..10 {
        let (status, _) = error_of(app.log_in("ada@example.com", "guess guess guess").await).await;
        assert_eq!(status, 401);
    }
    // Now even the right password waits, and the answer says for how long.
    let refused = app.log_in("ada@example.com", PASSWORD).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((841..=900).contains(&retry_after), "{retry_after}");
    let (status, message) = error_of(refused).await;
    assert_eq!(status, 429);
    assert_eq!(message, "Too many attempts. Try again in 15 min.");
}

#[tokio::test]
async fn over_https_the_session_cookie_is_a_secure_host_only_one() {
    let app =
        TestApp::spawn_with(|config| config.public_url = "https://omniplug.example".into()).await;
    let response = app
        .call(
            "sign_up",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("name", "Ada"),
                ("timezone", "UTC"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    // What browsers require of a `__Host-` cookie: Secure, Path=/, no Domain.
    assert!(cookie.starts_with("__Host-omniplug_session="), "{cookie}");
    for attribute in ["; Secure", "; Path=/", "; HttpOnly", "Max-Age=7776000"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let token = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, token)| token.to_owned())
        .expect("token");
    // The same token under the unprefixed name (as a sibling subdomain could plant it) is not
    // a session here.
    let as_named = |name: &str| {
        let cookie = format!("{name}={token}");
        let url = app.url("/api/current_user");
        let origin = app.url("");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("accept", "application/json")
                .header("origin", origin)
                .header("cookie", cookie)
                .send()
                .await
                .expect("current_user");
            response.json::<Value>().await.expect("json")
        }
    };
    assert_eq!(
        as_named("__Host-omniplug_session").await["email"],
        "ada@example.com"
    );
    assert_eq!(as_named("omniplug_session").await, Value::Null);
}

#[tokio::test]
async fn log_out_everywhere_ends_other_browsers_too() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    // A second browser: its own cookie jar.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let login = other
        .post(app.url("/api/log_in"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("log in");
    assert_eq!(login.status(), 200);

    let ended: Value = app
        .call("log_out_everywhere", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ended, 2);
    let me: Value = other
        .post(app.url("/api/current_user"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me, Value::Null, "the other browser is logged out");
}

#[tokio::test]
async fn state_changing_requests_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/sign_up"))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("name", "Ada"),
            ("timezone", "UTC"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
    let me = app.current_user().await;
    assert_eq!(me, Value::Null, "no account was created");
    // Reads are not affected.
    assert_eq!(
        app.client
            .get(app.url("/health"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
}

#[tokio::test]
async fn logging_in_still_works_while_redis_is_down() {
    // Only the rate limit depends on Redis; it must degrade, not hang.
    let app = TestApp::spawn_with(|c| {
        c.redis_url = omniplug_core::Secret::new("redis://127.0.0.1:1".into())
    })
    .await;
    app.sign_up("ada@example.com", "Ada").await;
    let started = std::time::Instant::now();
    let response = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn log_out_everywhere_needs_a_session() {
    let app = TestApp::spawn().await;
    let (status, message) = error_of(app.call("log_out_everywhere", &[]).await).await;
    assert_eq!((status, message.as_str()), (401, "Log in to continue."));
}

#[tokio::test]
async fn malformed_server_function_arguments_get_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let (status, message) = error_of(app.call("sign_up", &[("email", "a@b.co")]).await).await;
    assert_eq!(status, 400, "{message}");
    assert!(
        message.starts_with("The request is missing a field or has one in the wrong format")
            && message.contains("password"),
        "{message}"
    );
}
