//! The Bluesky client against a real AT Protocol stack (reference PDS + AppView from
//! `@atproto/dev-env`), which `make test` starts on loopback with rate limits on and names in
//! `ATPROTO_PDS_URL`. Without it these tests say so and pass, unless
//! `OMNIPLUG_REQUIRE_BLUESKY=1` (set by `make test`) demands the stack.

use std::time::Duration;

use omniplug_platforms::clients::{
    ClientConfig, Credentials, ErrorKind, Network, NewPost, Token, TokenSet, bluesky::BlueskyClient,
};
use serde_json::{Value, json};

use omniplug_testkit::bluesky::{create_account, pds_url as pds};

use crate::support::image;

/// (handle, did, app password, main-password session) of a fresh account.
async fn account(pds: &str) -> (String, String, String, String) {
    let a = create_account(pds).await;
    (a.handle, a.did, a.app_password, a.access_jwt)
}

async fn record(http: &reqwest::Client, pds: &str, uri: &str) -> Value {
    let rest = uri.trim_start_matches("at://");
    let parts: Vec<&str> = rest.splitn(3, '/').collect();
    http.get(format!("{pds}/xrpc/com.atproto.repo.getRecord"))
        .query(&[
            ("repo", parts[0]),
            ("collection", parts[1]),
            ("rkey", parts[2]),
        ])
        .send()
        .await
        .expect("getRecord")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn publishes_with_alt_text_replies_in_thread_and_sees_likes_on_a_real_pds() {
    let Some(pds) = pds() else { return };
    let http = reqwest::Client::new();
    let client = BlueskyClient::new(ClientConfig::at(&pds));
    let (handle, did, app_password, _) = account(&pds).await;

    // Log in with the app password, as the connect form does.
    let tokens = client
        .log_in(&format!("@{handle}"), &app_password)
        .await
        .expect("log in with an app password");
    assert_eq!(tokens.account_id.as_deref(), Some(did.as_str()));
    assert!(
        tokens.expires_at.is_some_and(|at| at > chrono::Utc::now()),
        "expiry read from the JWT"
    );
    let me = client.verify(&tokens).await.expect("getSession");
    assert_eq!(
        (me.id.as_str(), me.handle.as_str()),
        (did.as_str(), format!("@{handle}").as_str())
    );
    let creds = Credentials {
        account_id: did.clone(),
        tokens,
    };

    // A post with an image and alt text.
    let post = NewPost {
        text: "Launch day 🚀 with a screenshot".into(),
        media: vec![image("The OmniPlug calendar, one week")],
    };
    let published = client
        .publish(&creds, &post)
        .await
        .expect("publish with an image");
    let stored = record(&http, &pds, &published.post.id).await;
    assert_eq!(stored["value"]["text"], "Launch day 🚀 with a screenshot");
    assert_eq!(
        stored["value"]["embed"]["images"][0]["alt"],
        "The OmniPlug calendar, one week"
    );
    assert_eq!(
        stored["value"]["embed"]["images"][0]["image"]["mimeType"],
        "image/png"
    );
    assert!(
        published
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://bsky.app/profile/did:plc:"))
    );

    // The plug, and a reply to the plug: root stays the first post.
    let plug = client
        .reply(
            &creds,
            &published.post,
            &NewPost::text("Get it at omniplug.test"),
        )
        .await
        .expect("reply");
    let second = client
        .reply(&creds, &plug.post, &NewPost::text("Thanks for reading!"))
        .await
        .expect("reply to reply");
    let plug_record = record(&http, &pds, &plug.post.id).await;
    assert_eq!(
        plug_record["value"]["reply"]["root"]["uri"],
        json!(published.post.id)
    );
    assert_eq!(
        plug_record["value"]["reply"]["parent"]["uri"],
        json!(published.post.id)
    );
    let second_record = record(&http, &pds, &second.post.id).await;
    assert_eq!(
        second_record["value"]["reply"]["root"]["uri"],
        json!(published.post.id)
    );
    assert_eq!(
        second_record["value"]["reply"]["parent"]["uri"],
        json!(plug.post.id)
    );

    // The account's own list finds them at once (what settling an unknown outcome relies on).
    let recent = client.recent_posts(&creds, 10).await.expect("listRecords");
    assert_eq!(
        recent.first().map(|r| r.post.id.as_str()),
        Some(second.post.id.as_str()),
        "newest first"
    );
    assert!(recent.iter().any(|r| r.post.id == published.post.id));

    // A second account likes the post; the AppView indexes it and the count rises.
    let (_, fan_did, _, fan_jwt) = account(&pds).await;
    let like = http
        .post(format!("{pds}/xrpc/com.atproto.repo.createRecord"))
        .bearer_auth(&fan_jwt)
        .json(
            &json!({ "repo": fan_did, "collection": "app.bsky.feed.like", "record": {
                "$type": "app.bsky.feed.like",
                "subject": { "uri": published.post.id, "cid": published.post.cid },
                "createdAt": chrono::Utc::now().to_rfc3339(),
            }}),
        )
        .send()
        .await
        .expect("like");
    assert!(
        like.status().is_success(),
        "like: {}",
        like.text().await.unwrap_or_default()
    );
    // The AppView indexes the like and the reply separately, in either order: wait for both.
    let mut counts = None;
    for _ in 0..50 {
        let found = client
            .engagement(&creds, std::slice::from_ref(&published.post))
            .await
            .expect("getPosts");
        if let Some(e) = found.first() {
            counts = Some(e.counts);
            if e.counts.likes >= 1 && e.counts.comments >= 1 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counts = counts.expect("the post reached the AppView within 10 s");
    assert_eq!(
        (counts.likes, counts.comments),
        (1, 1),
        "one like, one direct reply"
    );

    // Refresh rotates the session. (The reference PDS still accepts the just-spent refresh
    // token for a grace period, so reuse is not asserted here; the Sandbox refuses it. A new
    // access JWT minted in the same second can equal the old one byte for byte.)
    let fresh = client.refresh(&creds).await.expect("refreshSession");
    assert_ne!(fresh.refresh, creds.tokens.refresh, "a new refresh token");
    client.verify(&fresh).await.expect("new session works");
}

#[tokio::test]
async fn maps_the_real_servers_bad_token_and_rate_limit_answers() {
    let Some(pds) = pds() else { return };
    let client = BlueskyClient::new(ClientConfig::at(&pds));

    let garbage = TokenSet {
        access: Token::new("not-a-real-token"),
        refresh: None,
        expires_at: None,
        account_id: None,
        scope: None,
    };
    let err = client.verify(&garbage).await.expect_err("garbage token");
    assert_eq!(
        (err.kind, err.status),
        (ErrorKind::Auth, Some(400)),
        "{err}"
    );
    assert_eq!(err.message, "Token could not be verified");
    assert!(!format!("{err:?}").contains("not-a-real-token"));

    let (handle, _, _, _) = account(&pds).await;
    let err = client
        .log_in(&handle, "wrong-password")
        .await
        .expect_err("wrong password");
    assert_eq!((err.kind, err.status), (ErrorKind::Auth, Some(401)));
    assert_eq!(err.message, "Invalid identifier or password");

    // createSession is limited per handle (30 per 5 minutes with RATE_LIMITS=1).
    let mut limited = None;
    for _ in 0..40 {
        match client.log_in(&handle, "wrong-password").await {
            Err(err) if matches!(err.kind, ErrorKind::RateLimited { .. }) => {
                limited = Some(err);
                break;
            }
            _ => {}
        }
    }
    let err = limited
        .expect("the PDS rate-limits repeated logins (is the stack running with RATE_LIMITS=1?)");
    assert_eq!(err.status, Some(429));
    let ErrorKind::RateLimited { retry_at: Some(at) } = err.kind else {
        panic!("no reset time: {err:?}")
    };
    let wait = at - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::zero() && wait <= chrono::Duration::minutes(5),
        "RateLimit-Reset read: wait {wait}"
    );
}
