//! Every operation of every client, against the Sandbox speaking that network's API.

use std::time::Duration;

use omniplug_platforms::{
    Platform,
    clients::{Counts, ErrorKind, NewPost, PostRef},
    sandbox::{Curve, Sandbox},
};

use crate::support::{NETWORKS, client, connect, image};

#[tokio::test]
async fn each_client_connects_publishes_replies_counts_and_lists() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    sandbox.set_default_curve(Curve::none());
    for platform in NETWORKS {
        let client = client(&sandbox, platform);
        let (creds, account) = connect(&sandbox, client.as_ref()).await;

        // Text post (Instagram has no text-only posts: it says so, without calling out).
        let text = format!(
            "Launch day on {} (50% off) #buildinpublic",
            platform.display_name()
        );
        let first = if platform == Platform::Instagram {
            let err = client
                .publish(&creds, &NewPost::text(&text))
                .await
                .expect_err("needs an image");
            assert_eq!(err.kind, ErrorKind::Permanent);
            assert_eq!(err.message, "Instagram posts need at least one image.");
            None
        } else {
            Some(
                client
                    .publish(&creds, &NewPost::text(&text))
                    .await
                    .expect("publish text"),
            )
        };

        // Post with an image and alt text.
        let with_image = NewPost {
            text: format!(
                "Screenshot of the new dashboard on {}",
                platform.display_name()
            ),
            media: vec![image("The OmniPlug dashboard with three scheduled posts")],
        };
        let second = client
            .publish(&creds, &with_image)
            .await
            .expect("publish with an image");
        let posts = sandbox.posts(platform);
        let stored = posts
            .iter()
            .find(|p| p.id == second.post.id)
            .expect("the network has the post");
        assert_eq!(stored.author, account.id);
        assert_eq!(stored.media.len(), 1, "{platform:?}: one image attached");
        assert_eq!(
            stored.media[0].alt.as_deref(),
            Some("The OmniPlug dashboard with three scheduled posts"),
            "{platform:?}: alt text arrives"
        );
        if let Some(first) = &first {
            let stored = posts
                .iter()
                .find(|p| p.id == first.post.id)
                .expect("text post stored");
            if platform == Platform::LinkedIn {
                // LinkedIn's "little text": reserved characters are escaped.
                assert!(
                    stored.text.contains(r"\(50% off\) \#buildinpublic"),
                    "{}",
                    stored.text
                );
            } else {
                assert_eq!(stored.text, text);
            }
            assert!(
                first
                    .url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
                "{platform:?}: {first:?}"
            );
        }

        // The auto-plug: a reply under the post.
        let plug = client
            .reply(
                &creds,
                &second.post,
                &NewPost::text("Get it at omniplug.test"),
            )
            .await
            .expect("reply");
        let reply = sandbox
            .posts(platform)
            .into_iter()
            .find(|p| p.id == plug.post.id)
            .expect("reply stored");
        assert_eq!(
            reply.reply_to.as_deref(),
            Some(second.post.id.as_str()),
            "{platform:?}"
        );
        assert_eq!(reply.text, "Get it at omniplug.test");

        // Counts: set directly, read back (the reply counts as a comment).
        sandbox.set_counts(
            &second.post.id,
            Counts {
                likes: 120,
                comments: 4,
                reposts: 9,
            },
        );
        let mut asked = vec![second.post.clone()];
        asked.extend(first.iter().map(|f| f.post.clone()));
        let counts = client.engagement(&creds, &asked).await.expect("engagement");
        let got = counts
            .iter()
            .find(|e| e.id == second.post.id)
            .expect("counts for the post")
            .counts;
        let reposts = if platform == Platform::LinkedIn || platform == Platform::Instagram {
            0
        } else {
            9
        };
        assert_eq!(
            got,
            Counts {
                likes: 120,
                comments: 5,
                reposts
            },
            "{platform:?}"
        );
        assert_eq!(
            counts.len(),
            asked.len(),
            "{platform:?}: one answer per post"
        );

        // Recent posts, newest first, find what was published.
        let recent = client.recent_posts(&creds, 10).await.expect("recent posts");
        assert!(
            recent.iter().any(|r| r.post.id == second.post.id),
            "{platform:?}: {recent:?}"
        );
        assert!(
            recent.iter().all(|r| r.created_at.is_some()),
            "{platform:?}: dates parse: {recent:?}"
        );
        if let Some(first) = &first {
            let newest = recent.iter().position(|r| r.post.id == second.post.id);
            let older = recent.iter().position(|r| r.post.id == first.post.id);
            assert!(newest < older, "{platform:?}: newest first");
        }

        // Refresh gives working tokens; the spent refresh token is refused as an auth error.
        let fresh = client.refresh(&creds).await.expect("refresh");
        assert_ne!(fresh.access, creds.tokens.access);
        let me = client.verify(&fresh).await.expect("new token works");
        assert_eq!(me.id, account.id);
        if platform != Platform::Instagram {
            // Instagram refreshes with the access token itself; the others rotate refresh tokens.
            let err = client
                .refresh(&creds)
                .await
                .expect_err("a spent refresh token");
            assert_eq!(err.kind, ErrorKind::Auth, "{platform:?}: {err}");
        }
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn audiences_grow_on_the_curve_as_time_passes() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    sandbox.set_default_curve(Curve {
        likes: 200,
        comments: 20,
        reposts: 40,
        half_life: Duration::from_secs(600),
    });
    let client = client(&sandbox, Platform::X);
    let (creds, _) = connect(&sandbox, client.as_ref()).await;
    let post = client
        .publish(&creds, &NewPost::text("Hello"))
        .await
        .expect("publish")
        .post;
    let read = async || {
        client
            .engagement(&creds, std::slice::from_ref(&post))
            .await
            .expect("counts")[0]
            .counts
    };
    assert_eq!(read().await.likes, 0, "nobody has seen it yet");
    sandbox.advance(Duration::from_secs(600));
    assert_eq!(
        read().await,
        Counts {
            likes: 100,
            comments: 10,
            reposts: 20
        },
        "half after one half-life"
    );
    sandbox.advance(Duration::from_secs(600));
    assert_eq!(
        read().await,
        Counts {
            likes: 150,
            comments: 15,
            reposts: 30
        }
    );
    sandbox.set_curve(
        &post.id,
        Curve {
            likes: 1000,
            ..Curve::none()
        },
    );
    assert!(read().await.likes > 150, "a post's own curve can be set");
    sandbox.stop().await;
}

#[tokio::test]
async fn the_audience_endpoint_sets_a_posts_counts_by_its_link_or_id() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    // Bluesky's shapes (which the Sandbox network speaks too): links end in the record key.
    let client = client(&sandbox, Platform::Bluesky);
    let (creds, _) = connect(&sandbox, client.as_ref()).await;
    let published = client
        .publish(&creds, &NewPost::text("Like me"))
        .await
        .expect("publish");
    let link = published.url.clone().expect("a link");
    let http = reqwest::Client::new();
    let set = |post: String, likes: u64| {
        http.post(format!("{}/_audience", sandbox.url()))
            .json(&serde_json::json!({ "post": post, "likes": likes }))
            .send()
    };
    assert_eq!(set(link, 42).await.expect("send").status(), 204);
    let read = client
        .engagement(&creds, std::slice::from_ref(&published.post))
        .await
        .expect("counts");
    assert_eq!(read[0].counts.likes, 42);
    assert_eq!(
        set(published.post.id.clone(), 7)
            .await
            .expect("send")
            .status(),
        204
    );
    let read = client
        .engagement(&creds, std::slice::from_ref(&published.post))
        .await
        .expect("counts");
    assert_eq!(read[0].counts.likes, 7);
    assert_eq!(
        set("no-such-post".into(), 1).await.expect("send").status(),
        404
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn engagement_for_many_posts_takes_one_call_per_batch_the_network_allows() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    // X: 100 ids per lookup; Bluesky: 25 URIs per getPosts.
    for (platform, route, batch) in [
        (Platform::X, "/2/tweets", 100),
        (Platform::Bluesky, "/xrpc/app.bsky.feed.getPosts", 25),
    ] {
        let client = client(&sandbox, platform);
        let (creds, _) = connect(&sandbox, client.as_ref()).await;
        let mut posts: Vec<PostRef> = Vec::new();
        for n in 0..(batch + 5) {
            posts.push(
                client
                    .publish(&creds, &NewPost::text(format!("post {n}")))
                    .await
                    .expect("publish")
                    .post,
            );
        }
        let before = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == route)
            .count();
        let counts = client.engagement(&creds, &posts).await.expect("engagement");
        let after = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == route)
            .count();
        assert_eq!(counts.len(), batch + 5, "{platform:?}");
        assert_eq!(
            after - before,
            2,
            "{platform:?}: {} posts in two calls",
            batch + 5
        );
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn instagram_waits_for_media_processing_and_publishes_carousels() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let client = client(&sandbox, Platform::Instagram);
    let (creds, _) = connect(&sandbox, client.as_ref()).await;
    sandbox.set_container_polls(3);
    let post = NewPost {
        text: "Three screenshots".into(),
        media: vec![image("one"), image("two"), image("three")],
    };
    let published = client
        .publish(&creds, &post)
        .await
        .expect("carousel publishes after processing");
    let stored = sandbox
        .posts(Platform::Instagram)
        .into_iter()
        .find(|p| p.id == published.post.id)
        .expect("stored");
    assert_eq!(
        stored
            .media
            .iter()
            .map(|m| m.alt.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    assert!(
        published
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://www.instagram.com/p/"))
    );
    let polls = sandbox
        .requests()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.query
                    .as_deref()
                    .is_some_and(|q| q.contains("status_code"))
        })
        .count();
    assert!(
        polls >= 4,
        "the status was checked until FINISHED ({polls} checks)"
    );

    let too_many = NewPost {
        text: "eleven".into(),
        media: (0..11).map(|n| image(&n.to_string())).collect(),
    };
    let err = client
        .publish(&creds, &too_many)
        .await
        .expect_err("carousel limit");
    assert_eq!(
        err.message,
        "An Instagram carousel holds at most 10 images."
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn linkedin_sends_its_version_headers_and_bluesky_replies_thread_to_the_root() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let linkedin = client(&sandbox, Platform::LinkedIn);
    let (creds, _) = connect(&sandbox, linkedin.as_ref()).await;
    linkedin
        .publish(&creds, &NewPost::text("hello"))
        .await
        .expect("publish");
    let post = sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/rest/posts")
        .expect("sent");
    assert_eq!(
        post.headers["linkedin-version"],
        omniplug_platforms::clients::linkedin::DEFAULT_VERSION
    );
    assert_eq!(post.headers["x-restli-protocol-version"], "2.0.0");

    let old = omniplug_platforms::clients::linkedin::LinkedInClient::new(
        sandbox.config(Platform::LinkedIn).with_app(
            "omniplug-test",
            Some(omniplug_platforms::clients::Token::new("s")),
        ),
    )
    .with_version("202301");
    let err = omniplug_platforms::clients::Network::publish(&old, &creds, &NewPost::text("hello"))
        .await
        .expect_err("sunset version");
    assert_eq!((err.status, err.kind), (Some(426), ErrorKind::Permanent));
    assert_eq!(err.message, "Requested version 202301 is not active");

    let bluesky = client(&sandbox, Platform::Bluesky);
    let (creds, _) = connect(&sandbox, bluesky.as_ref()).await;
    let root = bluesky
        .publish(&creds, &NewPost::text("root"))
        .await
        .expect("root")
        .post;
    let child = bluesky
        .reply(&creds, &root, &NewPost::text("child"))
        .await
        .expect("child")
        .post;
    let grandchild = bluesky
        .reply(&creds, &child, &NewPost::text("grandchild"))
        .await
        .expect("grandchild")
        .post;
    let stored = sandbox
        .posts(Platform::Bluesky)
        .into_iter()
        .find(|p| p.id == grandchild.id)
        .expect("stored");
    assert_eq!(stored.reply_to.as_deref(), Some(child.id.as_str()));
    assert_eq!(
        stored.root.as_deref(),
        Some(root.id.as_str()),
        "root stays the thread's first post"
    );
    sandbox.stop().await;
}

/// A server that answers every request with `size` bytes, declaring the length or streaming.
async fn oversized_server(size: usize, declared: bool) -> String {
    use axum::{body::Body, response::Response};
    let app = axum::Router::new().fallback(move || async move {
        let body = if declared {
            Body::from(vec![b' '; size])
        } else {
            let chunks = (0..size / 65_536)
                .map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 65_536])));
            Body::from_stream(futures::stream::iter(chunks))
        };
        Response::builder()
            .header("content-type", "application/json")
            .body(body)
            .expect("response")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_answer_past_the_size_limit_is_refused_not_read() {
    use omniplug_platforms::clients::{ClientConfig, Network, bluesky::BlueskyClient};
    for declared in [true, false] {
        let base = oversized_server(3 * 1024 * 1024, declared).await;
        let client = BlueskyClient::new(ClientConfig::at(base));
        let err = client
            .log_in("someone.example", "app-password")
            .await
            .expect_err("too large");
        assert_eq!(
            err.message,
            "Bluesky answered logging in with more than 2 MB; OmniPlug did not read it.",
            "declared length: {declared}"
        );
    }
}
