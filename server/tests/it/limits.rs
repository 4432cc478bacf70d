//! Abuse limits through the real server and Redis: wrong passwords counted per account and
//! address (atomically, so parallel guesses cannot slip past), sign-ups per address, password
//! changes and invitations, and the client address read from `X-Forwarded-For` only when a
//! trusted proxy sent it.

use futures::future::join_all;
use omniplug_core::{Config, config::AddressList};

use crate::support::{PASSWORD, TestApp, error_of};

/// This server sits behind a reverse proxy on loopback (as the tests' requests all come from
/// 127.0.0.1, each request's `X-Forwarded-For` says which client it stands for).
fn behind_a_proxy(config: &mut Config) {
    config.trusted_proxies = AddressList::parse("127.0.0.0/8").expect("list");
}

/// A fresh client (no cookies) calling `endpoint` as the proxy would for `client`.
async fn call_from(
    app: &TestApp,
    client: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        .header("origin", app.url(""))
        .header("x-forwarded-for", client)
        .form(form)
        .send()
        .await
        .expect("POST server function")
}

async fn log_in_from(app: &TestApp, client: &str, email: &str, password: &str) -> u16 {
    call_from(
        app,
        client,
        "log_in",
        &[("email", email), ("password", password)],
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn the_owner_logs_in_from_their_own_address_while_the_attackers_is_limited() {
    let app = TestApp::spawn_with(behind_a_proxy).await;
    app.sign_up("ada@example.com", "Ada").await;
    app.sign_up("bob@example.com", "Bob").await;
    let attacker = "198.51.100.66";
    for guess in 0..10 {
        let status =
            log_in_from(&app, attacker, "ada@example.com", &format!("guess {guess}")).await;
        assert_eq!(status, 401, "guess {guess} is checked");
    }
    // The eleventh waits, and so does the right password from the attacker's address.
    let refused = call_from(
        &app,
        attacker,
        "log_in",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    )
    .await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(
        error_of(refused).await,
        (429, "Too many attempts. Try again in 15 min.".to_owned())
    );
    // Ada, from home, is not held up by the attacker; nor is another account from that address.
    assert_eq!(
        log_in_from(&app, "203.0.113.10", "ada@example.com", PASSWORD).await,
        200
    );
    assert_eq!(
        log_in_from(&app, attacker, "bob@example.com", "a guess at bob").await,
        401
    );
}

#[tokio::test]
async fn guesses_at_one_account_from_many_addresses_stop_but_not_the_owner_at_home() {
    let app = TestApp::spawn_with(behind_a_proxy).await;
    app.sign_up("ada@example.com", "Ada").await;
    let home = "203.0.113.10";
    assert_eq!(
        log_in_from(&app, home, "ada@example.com", PASSWORD).await,
        200
    );
    // A hundred addresses, one guess each: every one is checked...
    for n in 0..100 {
        let address = format!("198.51.100.{n}");
        let status = log_in_from(&app, &address, "ada@example.com", "a guess").await;
        assert_eq!(status, 401, "guess from {address}");
    }
    // ...then the account stops taking guesses from anywhere new,
    assert_eq!(
        log_in_from(&app, "198.51.100.200", "ada@example.com", "a guess").await,
        429
    );
    // while Ada, at home where she logged in before, gets in.
    assert_eq!(
        log_in_from(&app, home, "ada@example.com", PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn thirty_two_parallel_guesses_let_exactly_the_limit_through() {
    let app = TestApp::spawn_with(behind_a_proxy).await;
    app.sign_up("ada@example.com", "Ada").await;
    let statuses = join_all((0..32).map(|guess| {
        let app = &app;
        async move {
            log_in_from(
                app,
                "198.51.100.66",
                "ada@example.com",
                &format!("guess {guess}"),
            )
            .await
        }
    }))
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, refused),
        (10, 22),
        "ten passwords checked, the rest refused: {statuses:?}"
    );
}

#[tokio::test]
async fn a_made_up_forwarded_for_changes_nothing_without_a_trusted_proxy() {
    // The default: no proxy is trusted, so the peer address counts whatever the header says.
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    for guess in 0..10 {
        let status = log_in_from(
            &app,
            &format!("203.0.113.{guess}"),
            "ada@example.com",
            "a guess",
        )
        .await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        log_in_from(&app, "203.0.113.99", "ada@example.com", "a guess").await,
        429
    );
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_per_hour() {
    let app = TestApp::spawn_with(|config| {
        behind_a_proxy(config);
        config.sign_ups_per_hour = 3;
    })
    .await;
    let sign_up = |n: usize, client: &'static str| {
        let app = &app;
        async move {
            let email = format!("person{n}@example.com");
            let response = call_from(
                app,
                client,
                "sign_up",
                &[
                    ("email", email.as_str()),
                    ("password", PASSWORD),
                    ("name", "Someone"),
                    ("timezone", "UTC"),
                ],
            )
            .await;
            error_of(response).await
        }
    };
    // Forms to correct do not use up the allowance.
    for _ in 0..5 {
        let response = call_from(
            &app,
            "198.51.100.20",
            "sign_up",
            &[
                ("email", "typo@example.com"),
                ("password", "short"),
                ("name", "Someone"),
                ("timezone", "UTC"),
            ],
        )
        .await;
        assert_eq!(response.status(), 400);
    }
    for n in 0..3 {
        let (status, _) = sign_up(n, "198.51.100.20").await;
        assert_eq!(status, 200, "sign-up {n}");
    }
    let (status, message) = sign_up(3, "198.51.100.20").await;
    assert_eq!(status, 429);
    assert_eq!(message, "Too many attempts. Try again in 1 h.");
    let (status, _) = sign_up(4, "198.51.100.21").await;
    assert_eq!(status, 200, "another address signs up");
}

#[tokio::test]
async fn creating_workspaces_is_limited_per_person_per_day() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    assert_eq!(
        error_of(app.call("create_workspace", &[("name", "   ")]).await)
            .await
            .0,
        400,
        "a name to correct does not count"
    );
    for n in 0..20 {
        let name = format!("Project {n}");
        let response = app
            .call("create_workspace", &[("name", name.as_str())])
            .await;
        assert_eq!(response.status(), 200, "workspace {n}");
    }
    let (status, message) = error_of(
        app.call("create_workspace", &[("name", "One too many")])
            .await,
    )
    .await;
    assert_eq!(status, 429);
    assert!(
        message.starts_with("Too many attempts. Try again in "),
        "{message}"
    );
}

#[tokio::test]
async fn password_changes_and_invitations_have_limits_too() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "Ada").await;
    for _ in 0..10 {
        let response = app
            .call(
                "change_password",
                &[
                    ("current_password", "a guess"),
                    ("new_password", "a brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(response.status(), 400, "the current password is checked");
    }
    let response = app
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(response.status(), 429, "even the right one waits now");

    let me = app.current_user().await;
    let workspace = me["workspace"]["id"]
        .as_str()
        .expect("workspace")
        .to_owned();
    let invite = |n: usize| {
        let (app, workspace) = (&app, &workspace);
        async move {
            let email = format!("guest{n}@example.com");
            app.call(
                "invite_member",
                &[
                    ("workspace_id", workspace.as_str()),
                    ("email", email.as_str()),
                    ("role", "editor"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    };
    for n in 0..50 {
        assert_eq!(invite(n).await, 200, "invitation {n}");
    }
    assert_eq!(invite(50).await, 429, "the 51st in an hour waits");
}
