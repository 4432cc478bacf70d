//! Media through the real server: uploads recognised by content (each accepted type in,
//! renamed programs, oversized files and path-like names handled), the library's limits and
//! isolation, and posts with images published to the Sandbox, to a real Bluesky server and
//! to Instagram (which fetches by public address), with the images read back from the
//! published posts.

use chrono::Utc;
use omniplug_core::{
    config::Config,
    entities::{media_asset, post_target},
};
use omniplug_platforms::{Platform, sandbox::Sandbox};
use omniplug_testkit::samples;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::{
    connections::{app_with, app_with_config, connections_of, oauth, owner},
    support::{Browser, TestApp, access_token, get_as, string_pairs},
};

/// Saves a post with `media` (id, alt) for `connection`, then publishes it now; returns its id.
async fn publish_with_media(
    browser: &Browser,
    ws: &str,
    connection: &str,
    text: &str,
    media: &[(&str, &str)],
) -> String {
    let mut form: Vec<(String, String)> = vec![
        ("workspace_id".into(), ws.into()),
        ("post[text]".into(), text.into()),
        ("post[connection_ids][0]".into(), connection.into()),
    ];
    for (i, (id, alt)) in media.iter().enumerate() {
        form.push((format!("post[media][{i}][id]"), (*id).into()));
        form.push((format!("post[media][{i}][alt]"), (*alt).into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let draft = browser.ok("save_post", &form).await;
    assert_eq!(
        draft["media"].as_array().map(Vec::len),
        Some(media.len()),
        "{draft}"
    );
    let id = draft["id"].as_str().expect("id").to_owned();
    browser
        .ok(
            "publish_post_now",
            &[("workspace_id", ws), ("post_id", &id), ("version", "0")],
        )
        .await;
    id
}

/// Steps the worker until the post has gone out (a few rounds at most); returns it.
async fn sent(worker: &omniplug_worker::Worker, browser: &Browser, ws: &str, id: &str) -> Value {
    let mut post = Value::Null;
    for _ in 0..5 {
        worker.step(Utc::now()).await.expect("step");
        post = browser
            .ok("get_post", &[("workspace_id", ws), ("post_id", id)])
            .await;
        if post["status"] != "PUBLISHING" && post["status"] != "SCHEDULED" {
            break;
        }
    }
    assert_eq!(post["status"], "PUBLISHED", "{post}");
    post
}

/// Connects `account` on the real local PDS; returns the connection's id.
async fn connect_local_bluesky(
    browser: &Browser,
    ws: &str,
    account: &omniplug_testkit::bluesky::LocalAccount,
    pds: &str,
) -> String {
    let card = browser
        .ok(
            "connect_bluesky",
            &[
                ("workspace_id", ws),
                ("handle", &account.handle),
                ("app_password", &account.app_password),
                ("server", pds),
            ],
        )
        .await;
    card["id"].as_str().expect("id").to_owned()
}

async fn published_uri(app: &TestApp, post_id: &str) -> String {
    let id = sea_orm::prelude::Uuid::parse_str(post_id).expect("uuid");
    let target = post_target::Entity::find()
        .filter(post_target::Column::PostId.eq(id))
        .one(&app.stores.db)
        .await
        .expect("query")
        .expect("a target");
    target.platform_post_id.expect("published")
}

/// The access token of the account that published `uri`.
async fn token_of(app: &TestApp, uri: &str) -> String {
    let target = post_target::Entity::find()
        .filter(post_target::Column::PlatformPostId.eq(uri))
        .one(&app.stores.db)
        .await
        .expect("query")
        .expect("the target that published it");
    access_token(app, target.connection_id).await
}

/// A blob's bytes, read back from `xrpc` as `token`'s account.
async fn blob_of(xrpc: &str, did: &str, cid: &str, token: Option<&str>) -> Vec<u8> {
    get_as(
        format!("{xrpc}/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}"),
        token,
    )
    .await
    .bytes()
    .await
    .expect("bytes")
    .to_vec()
}

/// Reads a published Bluesky-shaped post back from `xrpc` (a PDS or the Sandbox) as `token`'s
/// account: each image's alt text and bytes.
async fn images_of(xrpc: &str, uri: &str, token: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let rest = uri.strip_prefix("at://").expect("at:// uri");
    let mut parts = rest.split('/');
    let (did, collection, rkey) = (
        parts.next().expect("did"),
        parts.next().expect("collection"),
        parts.next().expect("rkey"),
    );
    let record: Value = get_as(
        format!(
            "{xrpc}/xrpc/com.atproto.repo.getRecord?repo={did}&collection={collection}&rkey={rkey}"
        ),
        token,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(
        record["value"]["embed"]["$type"], "app.bsky.embed.images",
        "{record}"
    );
    let mut images = Vec::new();
    for image in record["value"]["embed"]["images"]
        .as_array()
        .expect("images")
    {
        let cid = image["image"]["ref"]["$link"].as_str().expect("blob cid");
        let bytes = blob_of(xrpc, did, cid, token).await;
        images.push((image["alt"].as_str().unwrap_or_default().to_owned(), bytes));
    }
    images
}

#[tokio::test]
async fn uploads_are_recognised_by_content_and_refused_with_413_or_415() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;

    // Each accepted type, whatever it is called.
    let files = [
        ("photo.jpg", samples::jpeg(640, 480), "image/jpeg", 640),
        ("diagram", samples::png(300, 200), "image/png", 300),
        ("loop.gif", samples::gif(120, 80), "image/gif", 120),
        ("modern.webp", samples::webp(200, 200), "image/webp", 200),
        (
            "clip.mp4",
            samples::mp4(3_200, 1280, 720),
            "video/mp4",
            1280,
        ),
    ];
    for (name, bytes, mime, width) in &files {
        let item = ada.uploaded(&ws, name, bytes.clone()).await;
        assert_eq!(item["mime"], *mime, "{name}: {item}");
        assert_eq!(item["width"], *width, "{name}: {item}");
        assert_eq!(item["bytes"], bytes.len(), "{name}");
        let id = item["id"].as_str().expect("id");
        let original = ada.get(&format!("/media/{id}")).await;
        assert_eq!(original.status(), 200);
        assert_eq!(original.headers()["content-type"], *mime);
        assert_eq!(original.headers()["x-content-type-options"], "nosniff");
        assert_eq!(original.bytes().await.expect("bytes").to_vec(), *bytes);
        let thumb = ada.get(&format!("/media/{id}/thumb")).await;
        if mime.starts_with("image/") {
            assert_eq!(thumb.status(), 200, "{name}");
            let thumb = thumb.bytes().await.expect("thumb");
            assert_eq!(&thumb[..3], &[0xFF, 0xD8, 0xFF], "thumbnails are JPEGs");
        } else {
            assert_eq!(thumb.status(), 404, "videos have no thumbnail");
        }
    }
    let clip = media_asset::Entity::find()
        .filter(media_asset::Column::MimeType.eq("video/mp4"))
        .one(&app.stores.db)
        .await
        .expect("query")
        .expect("the clip");
    assert_eq!(clip.duration_ms, Some(3_200), "read from the movie header");

    // A program renamed to look like a picture.
    let response = ada
        .upload(&ws, "cute-cat.png", "image/png", samples::executable())
        .await;
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["kind"], "unsupported");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("recognised by their content")),
        "{body}"
    );
    // Starts like a PNG, is not one.
    let mut fake = samples::png(10, 10)[..16].to_vec();
    fake.extend_from_slice(&[0u8; 512]);
    let response = ada.upload(&ws, "broken.png", "image/png", fake).await;
    assert_eq!(response.status(), 415);

    // Bigger than any network takes.
    let mut huge = samples::png(10, 10);
    huge.resize(16 * 1024 * 1024, 0);
    let response = ada.upload(&ws, "huge.png", "image/png", huge).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["message"],
        "This PNG is 16 MB; OmniPlug takes images up to 15 MB."
    );

    // A name that looks like a path is a label, never a path.
    let item = ada
        .uploaded(&ws, "../../../etc/passwd.png", samples::png(20, 20))
        .await;
    assert_eq!(item["name"], "passwd.png");
    let stored = media_asset::Entity::find_by_id(
        sea_orm::prelude::Uuid::parse_str(item["id"].as_str().expect("id")).expect("uuid"),
    )
    .one(&app.stores.db)
    .await
    .expect("query")
    .expect("row");
    assert_eq!(stored.storage_key, format!("media/{ws}/{}", stored.id));
    let media_dir = app.data_dir().join("media");
    assert!(media_dir.join(&stored.storage_key).is_file());
    assert!(!app.data_dir().join("etc").exists());
    assert!(!media_dir.join("etc").exists());

    // The library lists them and counts this month's uploads.
    let library = ada
        .ok("list_media", &[("workspace_id", &ws), ("page", "1")])
        .await;
    assert_eq!(library["total"], 6);
    assert_eq!(library["uploads_this_month"], 6);
    assert_eq!(library["items"][0]["name"], "passwd.png", "newest first");

    // Refusals are plain 4xx answers, without a session or a workspace.
    let stranger = app.browser();
    let response = stranger
        .upload(&ws, "a.png", "image/png", samples::png(5, 5))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        ada.get(&format!("/media/{}", uuid_like())).await.status(),
        404
    );
}

/// A workspace's library has a quota (`OMNIPLUG_MEDIA_QUOTA_MB`): a file that would pass it is
/// refused while it arrives, saying what is left; a full library is refused before anything is
/// read; deleting a file makes room again. Another workspace has its own.
#[tokio::test]
async fn a_full_media_library_refuses_uploads_and_says_what_is_left() {
    let picture = samples::png(200, 200);
    let quota = picture.len() as u64;
    let app = TestApp::spawn_with(|config: &mut Config| config.media.quota_bytes = quota).await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let first = ada.uploaded(&ws, "first.png", picture.clone()).await;
    let message = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.expect("json");
        body["message"].as_str().expect("message").to_owned()
    };

    // Exactly full: the next upload is refused before anything of it is read.
    let refused = message(
        ada.upload(&ws, "more.png", "image/png", samples::png(5, 5))
            .await,
    )
    .await;
    assert!(
        refused.starts_with("This workspace's media library is full: its files take ")
            && refused.ends_with("Delete files you no longer need under Media, then upload again."),
        "{refused}"
    );

    // Deleting makes room; a file larger than the room is refused while it arrives (by its
    // bytes, before anything looks at its content), and nothing of it is kept.
    ada.ok(
        "delete_media",
        &[
            ("workspace_id", &ws),
            ("media_id", first["id"].as_str().expect("id")),
        ],
    )
    .await;
    let too_big = vec![0u8; picture.len() + 1];
    let refused = message(ada.upload(&ws, "big.bin", "image/png", too_big).await).await;
    assert!(
        refused.starts_with("This file does not fit in the workspace's media library: ")
            && refused.contains(" are left."),
        "{refused}"
    );
    let library = ada
        .ok("list_media", &[("workspace_id", &ws), ("page", "1")])
        .await;
    assert_eq!(library["total"], 0);
    ada.uploaded(&ws, "again.png", picture.clone()).await;

    // Another workspace's library has its own room.
    let other = ada
        .ok("create_workspace", &[("name", "Side project")])
        .await;
    let other_ws = other["id"].as_str().expect("id").to_owned();
    ada.uploaded(&other_ws, "elsewhere.png", picture).await;
}

/// Deleting a workspace deletes its files from the store; another workspace's stay.
#[tokio::test]
async fn deleting_a_workspace_removes_its_files_from_the_store() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let personal = ada.workspace_id().await;
    let created = ada.ok("create_workspace", &[("name", "Short lived")]).await;
    let doomed = created["id"].as_str().expect("id").to_owned();
    let kept = ada
        .uploaded(&personal, "keep.png", samples::png(30, 30))
        .await;
    let gone = ada
        .uploaded(&doomed, "gone.png", samples::png(30, 30))
        .await;
    // Larger than one request: stored in parts, and read back whole.
    let clip = clip_of(20 * 1024 * 1024);
    let long = ada.uploaded(&doomed, "long.mp4", clip.clone()).await;
    let served = ada
        .get(&format!("/media/{}", long["id"].as_str().expect("id")))
        .await;
    assert!(
        served.bytes().await.expect("bytes").to_vec() == clip,
        "same bytes"
    );
    let media_dir = app.data_dir().join("media").join("media");
    assert!(
        media_dir
            .join(&doomed)
            .join(gone["id"].as_str().expect("id"))
            .is_file()
    );
    assert!(
        media_dir
            .join(&doomed)
            .join(format!("{}.thumb.jpg", gone["id"].as_str().expect("id")))
            .is_file()
    );

    ada.ok(
        "delete_workspace",
        &[("workspace_id", &doomed), ("confirm", "Short lived")],
    )
    .await;
    let left: Vec<_> = std::fs::read_dir(media_dir.join(&doomed))
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left behind: {left:?}");
    assert!(
        media_dir
            .join(&personal)
            .join(kept["id"].as_str().expect("id"))
            .is_file()
    );
}

/// A person has an hourly upload allowance (`OMNIPLUG_MEDIA_UPLOADS_PER_HOUR`): past it, a
/// 429 that says when uploads open again; refused files count; teammates keep their own.
#[tokio::test]
async fn uploads_past_the_hourly_allowance_are_refused_with_429_until_the_hour_turns() {
    let app = TestApp::spawn_with(|config: &mut Config| config.media.uploads_per_hour = 3).await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    ada.uploaded(&ws, "one.png", samples::png(20, 20)).await;
    let refused = ada
        .upload(&ws, "two.png", "image/png", samples::executable())
        .await;
    assert_eq!(refused.status(), 415, "a refused file still counts");
    ada.uploaded(&ws, "three.png", samples::png(20, 20)).await;

    let response = ada
        .upload(&ws, "four.png", "image/png", samples::png(20, 20))
        .await;
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&wait), "until the hour turns: {wait}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["kind"], "rate_limited");
    assert_eq!(body["retry_after_secs"], wait);
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("3 files this hour") && message.contains("min"),
        "{message}"
    );
    let stored = media_asset::Entity::find()
        .count(&app.stores.db)
        .await
        .expect("count");
    assert_eq!(stored, 2, "the refused uploads stored nothing");

    // A teammate has an allowance of their own.
    let grace = app.browser();
    grace.sign_up("grace@example.com", "Grace").await;
    let own = grace.workspace_id().await;
    grace.uploaded(&own, "hers.png", samples::png(20, 20)).await;
}

fn uuid_like() -> String {
    sea_orm::prelude::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn a_post_carries_four_images_at_most_and_only_its_own_workspaces_files() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let connection = card["id"].as_str().expect("id").to_owned();
    let mut ids = Vec::new();
    for n in 0..5 {
        let item = ada
            .uploaded(&ws, &format!("{n}.png"), samples::png(40 + n, 40))
            .await;
        ids.push(item["id"].as_str().expect("id").to_owned());
    }
    let mut form = vec![
        ("workspace_id".to_owned(), ws.clone()),
        ("post[text]".to_owned(), "Five".to_owned()),
        ("post[connection_ids][0]".to_owned(), connection.clone()),
    ];
    for (i, id) in ids.iter().enumerate() {
        form.push((format!("post[media][{i}][id]"), id.clone()));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = ada.call("save_post", &fields).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["fields"][0]["field"], "media");
    assert_eq!(
        body["fields"][0]["message"],
        "A post carries at most 4 images; remove 1."
    );

    // Someone else's files can be neither attached, read nor deleted.
    let bea = app.browser();
    bea.sign_up("bea@example.com", "Bea").await;
    let bea_ws = bea.workspace_id().await;
    let (status, message) = bea
        .err(
            "save_post",
            &[
                ("workspace_id", &bea_ws),
                ("post[text]", "Borrowed"),
                ("post[media][0][id]", &ids[0]),
            ],
        )
        .await;
    assert_eq!(
        (status, message.contains("media library")),
        (400, true),
        "{message}"
    );
    assert_eq!(bea.get(&format!("/media/{}", ids[0])).await.status(), 404);
    assert_eq!(
        bea.get(&format!("/media/{}/thumb", ids[0])).await.status(),
        404
    );
    let (status, _) = bea
        .err(
            "delete_media",
            &[("workspace_id", &bea_ws), ("media_id", &ids[0])],
        )
        .await;
    assert_eq!(status, 404);
    let theirs = bea
        .ok("list_media", &[("workspace_id", &bea_ws), ("page", "1")])
        .await;
    assert_eq!(theirs["total"], 0);

    // Viewers see the library but cannot add to it or delete from it.
    let val = app.browser();
    val.sign_up("val@example.com", "Val").await;
    let token = ada.invite(&ws, "val@example.com", "viewer").await;
    val.ok("accept_invitation", &[("token", &token)]).await;
    let seen = val
        .ok("list_media", &[("workspace_id", &ws), ("page", "1")])
        .await;
    assert_eq!(seen["total"], 5);
    let response = val
        .upload(&ws, "v.png", "image/png", samples::png(5, 5))
        .await;
    assert_eq!(response.status(), 403);
    let (status, _) = val
        .err(
            "delete_media",
            &[("workspace_id", &ws), ("media_id", &ids[1])],
        )
        .await;
    assert_eq!(status, 403);

    // A file on a draft stays until the draft lets go of it.
    let draft = ada
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "One picture"),
                ("post[media][0][id]", &ids[0]),
                ("post[media][0][alt]", "A square"),
            ],
        )
        .await;
    assert_eq!(draft["media"][0]["alt"], "A square");
    assert_eq!(draft["media"][0]["mime"], "image/png");
    let (status, message) = ada
        .err(
            "delete_media",
            &[("workspace_id", &ws), ("media_id", &ids[0])],
        )
        .await;
    assert_eq!(status, 409);
    assert!(message.contains("attached to 1 post"), "{message}");
    ada.ok(
        "delete_media",
        &[("workspace_id", &ws), ("media_id", &ids[4])],
    )
    .await;
    assert_eq!(ada.get(&format!("/media/{}", ids[4])).await.status(), 404);
    let library = ada
        .ok("list_media", &[("workspace_id", &ws), ("page", "1")])
        .await;
    assert_eq!(
        (
            library["total"].as_u64(),
            library["uploads_this_month"].as_i64()
        ),
        (Some(4), Some(5)),
        "deleting does not give an upload back"
    );
    // The file remembers the alt text it was saved with, for the next post that takes it.
    let alts = string_pairs(&library["items"], "id", "alt");
    for (id, alt) in &alts {
        let expected = if *id == ids[0] { "A square" } else { "" };
        assert_eq!(alt, expected, "{id}");
    }
}

#[tokio::test]
async fn two_images_reach_the_sandbox_with_their_alt_text_and_read_back_identical() {
    let app = TestApp::spawn().await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let connection = card["id"].as_str().expect("id").to_owned();
    let (first, second) = (samples::png(64, 48), samples::jpeg(80, 60));
    let a = ada.uploaded(&ws, "a.png", first.clone()).await;
    let b = ada.uploaded(&ws, "b.jpg", second.clone()).await;
    let worker = app.worker().await;
    let id = publish_with_media(
        &ada,
        &ws,
        &connection,
        "Two pictures",
        &[
            (a["id"].as_str().expect("id"), "The first"),
            (b["id"].as_str().expect("id"), "The second"),
        ],
    )
    .await;
    sent(&worker, &ada, &ws, &id).await;
    let uri = published_uri(&app, &id).await;
    let xrpc = format!(
        "{}{}",
        app.url(omniplug_core::connections::SANDBOX_MOUNT),
        omniplug_platforms::sandbox::prefix(Platform::Sandbox)
    );
    assert_eq!(
        images_of(&xrpc, &uri, Some(&token_of(&app, &uri).await)).await,
        vec![
            ("The first".to_owned(), first),
            ("The second".to_owned(), second)
        ]
    );
}

#[tokio::test]
async fn two_images_reach_a_real_bluesky_server_and_read_back_identical() {
    let Some(pds) = omniplug_testkit::bluesky::pds_url() else {
        return;
    };
    let account = omniplug_testkit::bluesky::create_account(&pds).await;
    let app = TestApp::spawn_with(crate::support::allow_local_servers).await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let connection = connect_local_bluesky(&ada, &ws, &account, &pds).await;
    let (first, second) = (samples::png(120, 90), samples::webp(90, 120));
    let a = ada.uploaded(&ws, "a.png", first.clone()).await;
    let b = ada.uploaded(&ws, "b.webp", second.clone()).await;
    let worker = app.worker().await;
    let id = publish_with_media(
        &ada,
        &ws,
        &connection,
        "Two pictures on a real PDS",
        &[
            (a["id"].as_str().expect("id"), "Landscape"),
            (b["id"].as_str().expect("id"), "Portrait"),
        ],
    )
    .await;
    sent(&worker, &ada, &ws, &id).await;
    let uri = published_uri(&app, &id).await;
    assert!(uri.starts_with(&format!("at://{}/", account.did)), "{uri}");
    assert_eq!(
        images_of(&pds, &uri, None).await,
        vec![
            ("Landscape".to_owned(), first),
            ("Portrait".to_owned(), second)
        ]
    );
}

#[tokio::test]
async fn instagram_gets_a_public_address_for_each_image_and_is_refused_without_one() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let photo = samples::jpeg(600, 600);

    // Without a public address, scheduling media to Instagram says what to set.
    let private = app_with(&sandbox).await;
    let (ada, ws) = owner(&private).await;
    oauth(&ada, &ws, "instagram").await;
    let ig = connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await)
        .into_iter()
        .find(|c| c["platform"] == "instagram")
        .expect("instagram connected");
    let connection = ig["id"].as_str().expect("id").to_owned();
    let item = ada.uploaded(&ws, "square.jpg", photo.clone()).await;
    let media_id = item["id"].as_str().expect("id").to_owned();
    let response = ada
        .call(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "Square"),
                ("post[connection_ids][0]", &connection),
                ("post[media][0][id]", &media_id),
                ("post[schedule]", "2099-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["fields"][0]["field"], "media.instagram", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("OMNIPLUG_MEDIA_PUBLIC_URL")),
        "{body}"
    );

    // A draft may hold it; moving it onto the calendar or publishing it now is refused alike.
    let draft = ada
        .ok(
            "save_post",
            &[
                ("workspace_id", &ws),
                ("post[text]", "Square"),
                ("post[connection_ids][0]", &connection),
                ("post[media][0][id]", &media_id),
            ],
        )
        .await;
    let draft_id = draft["id"].as_str().expect("id").to_owned();
    for (endpoint, extra) in [
        ("reschedule_post", Some(("schedule", "2099-01-01T10:00"))),
        ("publish_post_now", None),
    ] {
        let mut form = vec![
            ("workspace_id", ws.as_str()),
            ("post_id", draft_id.as_str()),
            ("version", "0"),
        ];
        form.extend(extra);
        let (status, message) = ada.err(endpoint, &form).await;
        assert_eq!(status, 400, "{endpoint}");
        assert!(
            message.contains("OMNIPLUG_MEDIA_PUBLIC_URL"),
            "{endpoint}: {message}"
        );
    }

    // With one, Instagram is told where to fetch each image, and that address serves it.
    let public = app_with_config(&sandbox, |config| {
        config.media.public_url = Some("https://media.example.test".into());
    })
    .await;
    let (bea, ws) = owner(&public).await;
    oauth(&bea, &ws, "instagram").await;
    let ig = connections_of(&bea.ok("list_connections", &[("workspace_id", &ws)]).await)
        .into_iter()
        .find(|c| c["platform"] == "instagram")
        .expect("instagram connected");
    let connection = ig["id"].as_str().expect("id").to_owned();
    let item = bea.uploaded(&ws, "square.jpg", photo.clone()).await;
    let media_id = item["id"].as_str().expect("id").to_owned();
    let worker = public.worker().await;
    let id = publish_with_media(
        &bea,
        &ws,
        &connection,
        "Square",
        &[(&media_id, "A gradient")],
    )
    .await;
    sent(&worker, &bea, &ws, &id).await;
    let posted = sandbox
        .posts(Platform::Instagram)
        .into_iter()
        .find(|p| p.text == "Square")
        .expect("on Instagram");
    let url = posted.media[0].url.clone().expect("fetched by address");
    assert_eq!(posted.media[0].alt.as_deref(), Some("A gradient"));
    let path = url
        .strip_prefix("https://media.example.test")
        .expect("under the public base");
    assert!(
        path.starts_with(&format!("/media/public/{media_id}/")),
        "{url}"
    );
    let anyone = reqwest::Client::new();
    let fetched = anyone.get(public.url(path)).send().await.expect("GET");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), photo);
    let guessed = anyone
        .get(public.url(&format!("/media/public/{media_id}/not-the-token")))
        .send()
        .await
        .expect("GET");
    assert_eq!(guessed.status(), 404);
}

#[tokio::test]
async fn a_bucket_on_a_real_s3_compatible_server_stores_serves_publishes_and_deletes() {
    let Some(s3) = omniplug_testkit::s3::s3_url() else {
        return;
    };
    let settings = omniplug_testkit::s3::fresh_bucket(&s3).await;
    // Our own view of the bucket, with the same (signed) access the server has.
    let bucket = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&settings.bucket)
        .with_region(&settings.region)
        .with_endpoint(&s3)
        .with_allow_http(true)
        .with_access_key_id("omniplug-test")
        .with_secret_access_key("omniplug-test-secret")
        .build()
        .expect("bucket client");
    let app =
        TestApp::spawn_with(move |config: &mut Config| config.media.s3 = Some(settings)).await;
    assert_eq!(app.stores.media.backend(), "s3");
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let connection = card["id"].as_str().expect("id").to_owned();
    let picture = samples::png(50, 50);
    let item = ada
        .uploaded(&ws, "in-the-bucket.png", picture.clone())
        .await;
    let id = item["id"].as_str().expect("id").to_owned();

    // The object is in the bucket under ids only, and nothing was written locally.
    use object_store::{ObjectStore, path::Path};
    let key = Path::from(format!("media/{ws}/{id}"));
    let object = bucket.get(&key).await.expect("the object is there");
    assert_eq!(object.bytes().await.expect("bytes").to_vec(), picture);
    let thumb = Path::from(format!("media/{ws}/{id}.thumb.jpg"));
    bucket.head(&thumb).await.expect("the thumbnail is there");
    assert!(!app.data_dir().join("media").join("media").exists());

    // Served from the bucket, and published from it.
    let served = ada.get(&format!("/media/{id}")).await;
    assert_eq!(served.bytes().await.expect("bytes").to_vec(), picture);
    let worker = app.worker().await;
    let post_id =
        publish_with_media(&ada, &ws, &connection, "From a bucket", &[(&id, "Square")]).await;
    worker.step(Utc::now()).await.expect("step");
    let uri = published_uri(&app, &post_id).await;
    let xrpc = format!(
        "{}{}",
        app.url(omniplug_core::connections::SANDBOX_MOUNT),
        omniplug_platforms::sandbox::prefix(Platform::Sandbox)
    );
    assert_eq!(
        images_of(&xrpc, &uri, Some(&token_of(&app, &uri).await)).await,
        vec![("Square".to_owned(), picture)]
    );

    // Deleting (the post is out, so the file may go) removes the objects.
    ada.ok("delete_media", &[("workspace_id", &ws), ("media_id", &id)])
        .await;
    assert!(matches!(
        bucket.head(&key).await,
        Err(object_store::Error::NotFound { .. })
    ));
    assert!(matches!(
        bucket.head(&thumb).await,
        Err(object_store::Error::NotFound { .. })
    ));

    // A video larger than one request goes up in parts and reads back whole; deleting its
    // workspace empties that workspace's part of the bucket.
    let created = ada.ok("create_workspace", &[("name", "Videos")]).await;
    let videos = created["id"].as_str().expect("id").to_owned();
    let clip = clip_of(20 * 1024 * 1024);
    let item = ada.uploaded(&videos, "long.mp4", clip.clone()).await;
    let key = Path::from(format!(
        "media/{videos}/{}",
        item["id"].as_str().expect("id")
    ));
    let stored = bucket.get(&key).await.expect("the object is there");
    assert!(
        stored.bytes().await.expect("bytes").to_vec() == clip,
        "same bytes"
    );
    ada.ok(
        "delete_workspace",
        &[("workspace_id", &videos), ("confirm", "Videos")],
    )
    .await;
    assert!(matches!(
        bucket.head(&key).await,
        Err(object_store::Error::NotFound { .. })
    ));
}

/// An MP4 of about `size` bytes: the header skeleton, then a `free` box of padding.
fn clip_of(size: usize) -> Vec<u8> {
    let mut clip = samples::mp4(4_000, 640, 360);
    let padding = size.saturating_sub(clip.len() + 8);
    clip.extend_from_slice(&u32::try_from(padding + 8).expect("small").to_be_bytes());
    clip.extend_from_slice(b"free");
    clip.resize(clip.len() + padding, 0);
    clip
}

/// A Bluesky-shaped post's video: its alt text and bytes.
async fn video_of(xrpc: &str, uri: &str, token: Option<&str>) -> (String, Vec<u8>) {
    let rest = uri.strip_prefix("at://").expect("at:// uri");
    let parts: Vec<&str> = rest.split('/').collect();
    let record: Value = get_as(
        format!(
            "{xrpc}/xrpc/com.atproto.repo.getRecord?repo={}&collection={}&rkey={}",
            parts[0], parts[1], parts[2]
        ),
        token,
    )
    .await
    .json()
    .await
    .expect("json");
    let embed = &record["value"]["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.video", "{record}");
    assert_eq!(embed["video"]["mimeType"], "video/mp4", "{record}");
    let cid = embed["video"]["ref"]["$link"].as_str().expect("blob cid");
    let bytes = blob_of(xrpc, parts[0], cid, token).await;
    (embed["alt"].as_str().unwrap_or_default().to_owned(), bytes)
}

#[tokio::test]
async fn one_video_reaches_every_network_the_way_each_takes_it() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with_config(&sandbox, |config| {
        config.media.public_url = Some("https://media.example.test".into());
    })
    .await;
    let (ada, ws) = owner(&app).await;
    for network in ["x", "linkedin", "instagram"] {
        oauth(&ada, &ws, network).await;
    }
    let bsky = sandbox.add_account(Platform::Bluesky, "ada.test");
    ada.ok(
        "connect_bluesky",
        &[
            ("workspace_id", &ws),
            ("handle", "ada.test"),
            ("app_password", &bsky.password),
            ("server", ""),
        ],
    )
    .await;
    ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let accounts: Vec<String> =
        connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await)
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect();
    assert_eq!(accounts.len(), 5);

    // Big enough for X's and LinkedIn's uploads to come in several parts (4 MiB each).
    let clip = clip_of(9 * 1024 * 1024);
    let item = ada.uploaded(&ws, "launch.mp4", clip.clone()).await;
    assert_eq!(item["duration_ms"], 4_000);
    let media_id = item["id"].as_str().expect("id").to_owned();
    let mut form: Vec<(String, String)> = vec![
        ("workspace_id".into(), ws.clone()),
        ("post[text]".into(), "Launch video".into()),
        ("post[media][0][id]".into(), media_id.clone()),
        (
            "post[media][0][alt]".into(),
            "Thirty seconds of launch".into(),
        ),
    ];
    for (i, id) in accounts.iter().enumerate() {
        form.push((format!("post[connection_ids][{i}]"), id.clone()));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let draft = ada.ok("save_post", &fields).await;
    let id = draft["id"].as_str().expect("id").to_owned();
    ada.ok(
        "publish_post_now",
        &[("workspace_id", &ws), ("post_id", &id), ("version", "0")],
    )
    .await;
    let worker = app.worker().await;
    let sent = sent(&worker, &ada, &ws, &id).await;

    // X and LinkedIn received it in parts and reassembled it exactly.
    for platform in [Platform::X, Platform::LinkedIn, Platform::Bluesky] {
        let posted = sandbox
            .posts(platform)
            .into_iter()
            .find(|p| p.text == "Launch video")
            .unwrap_or_else(|| panic!("on {platform:?}"));
        assert_eq!(posted.media.len(), 1, "{platform:?}");
        assert_eq!(posted.media[0].mime, "video/mp4", "{platform:?}");
        assert!(
            posted.media[0].bytes == clip,
            "{platform:?} got other bytes"
        );
    }
    let chunks = sandbox
        .requests()
        .iter()
        .filter(|r| r.path.contains("/append") || r.path.contains("/dms-uploads/video/"))
        .count();
    assert_eq!(chunks, 6, "three 4 MiB parts each on X and LinkedIn");
    // Instagram fetched it from the public address, as a reel.
    let reel = sandbox
        .posts(Platform::Instagram)
        .into_iter()
        .find(|p| p.text == "Launch video")
        .expect("on Instagram");
    let url = reel.media[0].url.clone().expect("by address");
    let path = url
        .strip_prefix("https://media.example.test")
        .expect("public base");
    let fetched = reqwest::get(app.url(path)).await.expect("GET");
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), clip);
    // The in-app Sandbox network (Bluesky's shapes) embeds it as a video with its alt text.
    let sandbox_target = sent["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["platform"] == "sandbox")
        .expect("sandbox target")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let uri = post_target::Entity::find_by_id(
        sea_orm::prelude::Uuid::parse_str(&sandbox_target).expect("uuid"),
    )
    .one(&app.stores.db)
    .await
    .expect("query")
    .expect("row")
    .platform_post_id
    .expect("published");
    let xrpc = format!(
        "{}{}",
        app.url(omniplug_core::connections::SANDBOX_MOUNT),
        omniplug_platforms::sandbox::prefix(Platform::Sandbox)
    );
    assert_eq!(
        video_of(&xrpc, &uri, Some(&token_of(&app, &uri).await)).await,
        ("Thirty seconds of launch".to_owned(), clip)
    );
}

#[tokio::test]
async fn a_video_reaches_a_real_bluesky_server_as_a_video_embed() {
    let Some(pds) = omniplug_testkit::bluesky::pds_url() else {
        return;
    };
    let account = omniplug_testkit::bluesky::create_account(&pds).await;
    let app = TestApp::spawn_with(crate::support::allow_local_servers).await;
    let ada = app.browser();
    ada.sign_up("ada@example.com", "Ada").await;
    let ws = ada.workspace_id().await;
    let connection = connect_local_bluesky(&ada, &ws, &account, &pds).await;
    let clip = clip_of(300 * 1024);
    let item = ada.uploaded(&ws, "clip.mp4", clip.clone()).await;
    let worker = app.worker().await;
    let id = publish_with_media(
        &ada,
        &ws,
        &connection,
        "A clip on a real PDS",
        &[(item["id"].as_str().expect("id"), "A short clip")],
    )
    .await;
    sent(&worker, &ada, &ws, &id).await;
    let uri = published_uri(&app, &id).await;
    assert_eq!(
        video_of(&pds, &uri, None).await,
        ("A short clip".to_owned(), clip)
    );
}
