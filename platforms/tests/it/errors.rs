//! Every error class, for every client, from faults injected into the Sandbox: what the
//! publishing engine will be told to do.

use std::time::Duration;

use chrono::Utc;
use omniplug_platforms::{
    Platform,
    clients::{ClientConfig, ErrorKind, NewPost, PostRef, next_utc_midnight},
    sandbox::{Fault, Sandbox, client_for},
};

use crate::support::{NETWORKS, client, connect, image};

/// The request that does the publishing on each network (prefix match).
fn publish_route(platform: Platform) -> &'static str {
    match platform {
        Platform::X => "POST /2/tweets",
        Platform::LinkedIn => "POST /rest/posts",
        Platform::Instagram => "POST /v25.0/",
        Platform::Bluesky | Platform::Sandbox => "POST /xrpc/com.atproto.repo.createRecord",
    }
}

fn post_for(platform: Platform) -> NewPost {
    NewPost {
        text: "Launch!".into(),
        media: if platform == Platform::Instagram {
            vec![image("alt")]
        } else {
            vec![]
        },
    }
}

#[tokio::test]
async fn rate_limits_carry_the_reset_time_each_network_announces() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for platform in NETWORKS {
        let client = client(&sandbox, platform);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;
        sandbox.fail(
            platform,
            publish_route(platform),
            Fault::RateLimited(Duration::from_secs(900)),
            1,
        );
        let before = Utc::now();
        let err = client
            .publish(&creds, &post_for(platform))
            .await
            .expect_err("rate limited");
        let ErrorKind::RateLimited { retry_at: Some(at) } = err.kind else {
            panic!("{platform:?}: expected a rate limit with a reset time, got {err:?}");
        };
        let expected = if platform == Platform::LinkedIn {
            // No headers: LinkedIn's daily throttle resets at midnight UTC.
            next_utc_midnight(before)
        } else {
            before + chrono::Duration::seconds(900)
        };
        let off = (at - expected).num_seconds().abs();
        assert!(off <= 61, "{platform:?}: reset {at} vs expected {expected}");
        assert!(err.is_retryable());
        // Honoured: after the window the same call goes through.
        sandbox.advance(Duration::from_secs(901));
        client
            .publish(&creds, &post_for(platform))
            .await
            .expect("after the reset");
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn timeouts_and_dropped_connections_are_transient_with_unknown_outcome() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for platform in NETWORKS {
        let config = sandbox
            .config(platform)
            .with_app(
                "omniplug-test",
                Some(omniplug_platforms::clients::Token::new("secret")),
            )
            .with_timeout(Duration::from_millis(1000));
        let client = client_for(platform, config);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;

        sandbox.fail(platform, publish_route(platform), Fault::Hang, 1);
        let started = std::time::Instant::now();
        let err = client
            .publish(&creds, &post_for(platform))
            .await
            .expect_err("times out");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{platform:?}: the timeout fired"
        );
        assert_eq!(
            err.kind,
            ErrorKind::Transient {
                outcome_unknown: true
            },
            "{platform:?}: {err}"
        );
        assert!(err.message.starts_with("Timed out"), "{platform:?}: {err}");

        sandbox.fail(platform, publish_route(platform), Fault::Drop, 1);
        let err = client
            .publish(&creds, &post_for(platform))
            .await
            .expect_err("dropped");
        assert_eq!(
            err.kind,
            ErrorKind::Transient {
                outcome_unknown: true
            },
            "{platform:?}: {err}"
        );

        // Latency below the timeout (1 s) is only slower.
        sandbox.fail(
            platform,
            publish_route(platform),
            Fault::Latency(Duration::from_millis(100)),
            1,
        );
        client
            .publish(&creds, &post_for(platform))
            .await
            .expect("slow but fine");
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn server_errors_are_transient_and_say_whether_the_call_may_have_happened() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for platform in NETWORKS {
        let client = client(&sandbox, platform);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;
        sandbox.fail(platform, publish_route(platform), Fault::Status(503), 1);
        let err = client
            .publish(&creds, &post_for(platform))
            .await
            .expect_err("503");
        assert_eq!(err.status, Some(503));
        // A POST that failed with a 5xx may have been carried out.
        assert_eq!(
            err.kind,
            ErrorKind::Transient {
                outcome_unknown: true
            },
            "{platform:?}: {err}"
        );

        let reading = match platform {
            Platform::X => "GET /2/tweets",
            Platform::LinkedIn => "GET /rest/socialMetadata",
            Platform::Instagram => "GET /v25.0/",
            _ => "GET /xrpc/app.bsky.feed.getPosts",
        };
        sandbox.fail(platform, reading, Fault::Status(500), 1);
        let err = client
            .engagement(&creds, &[PostRef::id("1")])
            .await
            .expect_err("500");
        assert_eq!(
            err.kind,
            ErrorKind::Transient {
                outcome_unknown: false
            },
            "{platform:?}: a read changes nothing"
        );
    }
    // Nothing listening: the request never left.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let nowhere = client_for(
        Platform::X,
        ClientConfig::at(format!("http://127.0.0.1:{port}")),
    );
    let (creds, _) = connect(&sandbox, client(&sandbox, Platform::X).as_ref()).await;
    let err = nowhere
        .publish(&creds, &NewPost::text("hi"))
        .await
        .expect_err("refused");
    assert_eq!(
        err.kind,
        ErrorKind::Transient {
            outcome_unknown: false
        }
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_auth_errors_without_the_token_in_them() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for platform in NETWORKS {
        let client = client(&sandbox, platform);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;

        sandbox.fail(platform, publish_route(platform), Fault::ExpiredToken, 1);
        let err = client
            .publish(&creds, &post_for(platform))
            .await
            .expect_err("expired");
        assert_eq!(err.kind, ErrorKind::Auth, "{platform:?}: {err}");

        sandbox.expire_tokens(platform);
        let err = client
            .verify(&creds.tokens)
            .await
            .expect_err("expired by time");
        assert_eq!(err.kind, ErrorKind::Auth, "{platform:?}: {err}");
        let shown = format!("{err} {err:?} {creds:?}");
        assert!(
            !shown.contains(creds.tokens.access.expose()),
            "{platform:?}: the token leaked: {shown}"
        );
        if let Some(refresh) = &creds.tokens.refresh {
            assert!(!shown.contains(refresh.expose()));
        }
        // A refresh brings the account back.
        if platform != Platform::Instagram {
            let fresh = client.refresh(&creds).await.expect("refresh after expiry");
            client.verify(&fresh).await.expect("works again");
        }
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn refusals_are_permanent_and_keep_the_networks_own_words() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let too_long = |n: usize| NewPost::text("a".repeat(n));
    let cases = [
        (
            Platform::X,
            too_long(281),
            403,
            "You are not permitted to create a Tweet with text longer than 280 characters.",
        ),
        (
            Platform::Bluesky,
            too_long(301),
            400,
            "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes (maximum 300, got 301) at $.record.text",
        ),
        (
            Platform::LinkedIn,
            too_long(3001),
            422,
            "ERROR :: /commentary :: length exceeds 3000",
        ),
        (
            Platform::Instagram,
            NewPost {
                text: "a".repeat(2201),
                media: vec![image("alt")],
            },
            400,
            "The caption is longer than 2,200 characters.",
        ),
    ];
    for (platform, post, status, message) in cases {
        let client = client(&sandbox, platform);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;
        let err = client.publish(&creds, &post).await.expect_err("refused");
        assert_eq!(
            (err.kind, err.status),
            (ErrorKind::Permanent, Some(status)),
            "{platform:?}: {err}"
        );
        assert_eq!(err.message, message, "{platform:?}");
        assert!(!err.is_retryable());
    }
    // Bluesky: a wrong app password is an auth problem with the server's message.
    let bluesky = client(&sandbox, Platform::Bluesky);
    let account = sandbox.add_account(Platform::Bluesky, "someone.test");
    let err = bluesky
        .log_in(&account.handle, "wrong-pass-word")
        .await
        .expect_err("wrong password");
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::Auth, "Invalid identifier or password")
    );
    sandbox.stop().await;
}
