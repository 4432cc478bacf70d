//! Connecting accounts through the real server: OAuth against the Sandbox speaking X, LinkedIn
//! and Instagram, Bluesky app passwords, the one-click Sandbox network; refresh (single-flight,
//! rotation, failure), disconnect, key rotation and tampering; and no secret ever showing up in
//! an answer, a page or a log line.

use chrono::Utc;
use omniplug_core::{
    Config, Secret,
    config::OAuthApp,
    connections::{self, ConnectionError, Networks},
    entities::{oauth_state, platform_connection as pc},
    vault::{Vault, VaultError},
};
use omniplug_platforms::{
    Platform,
    sandbox::{Fault, Sandbox},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    prelude::Uuid, sea_query::Expr,
};
use serde_json::Value;

use crate::support::{Browser, TestApp, logs};

/// A server whose X, LinkedIn and Instagram apps (and default Bluesky server) are the Sandbox.
pub(crate) async fn app_with(sandbox: &Sandbox) -> TestApp {
    app_with_config(sandbox, |_| {}).await
}

/// [`app_with`], then `extra` changes the configuration further.
pub(crate) async fn app_with_config(
    sandbox: &Sandbox,
    extra: impl FnOnce(&mut Config) + Send + 'static,
) -> TestApp {
    let base = sandbox.url();
    TestApp::spawn_with(move |config: &mut Config| {
        for (slug, app) in [
            ("x", &mut config.networks.x),
            ("linkedin", &mut config.networks.linkedin),
            ("instagram", &mut config.networks.instagram),
        ] {
            *app = Some(OAuthApp {
                client_id: format!("omniplug-{slug}"),
                client_secret: Some(Secret::new(format!("{slug}-app-secret"))),
            });
            config
                .networks
                .base_urls
                .insert(slug.into(), format!("{base}/{slug}"));
        }
        config.networks.bluesky_pds = format!("{base}/bluesky");
        extra(config);
    })
    .await
}

pub(crate) async fn owner(app: &TestApp) -> (Browser, String) {
    let ada = app.browser();
    ada.sign_up(
        &format!("ada-{}@example.com", Uuid::new_v4().simple()),
        "Ada",
    )
    .await;
    let ws = ada.workspace_id().await;
    (ada, ws)
}

/// Starts an OAuth connect and passes the consent page (the Sandbox approves at once):
/// returns where the network sends the browser back.
async fn consent(browser: &Browser, ws: &str, platform: &str) -> String {
    let consent_url: String = serde_json::from_value(
        browser
            .ok(
                "begin_connect",
                &[("workspace_id", ws), ("platform", platform)],
            )
            .await,
    )
    .expect("a consent URL");
    let consent = browser
        .client
        .get(&consent_url)
        .send()
        .await
        .expect("consent page");
    assert_eq!(
        consent.status(),
        303,
        "the Sandbox's consent redirects back"
    );
    consent.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// A whole OAuth connect, ending on our callback: (callback URL, its status, its page).
pub(crate) async fn oauth(browser: &Browser, ws: &str, platform: &str) -> (String, u16, String) {
    let callback = consent(browser, ws, platform).await;
    let (status, page) = follow(browser, &callback).await;
    (callback, status, page)
}

async fn follow(browser: &Browser, url: &str) -> (u16, String) {
    let response = browser.client.get(url).send().await.expect("callback");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page"))
}

pub(crate) fn connections_of(view: &Value) -> Vec<Value> {
    view["connections"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn oauth_connects_x_linkedin_and_instagram_and_refuses_bad_expired_replayed_or_foreign_state()
{
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with(&sandbox).await;
    let (ada, ws) = owner(&app).await;

    for (slug, name) in [
        ("x", "X"),
        ("linkedin", "LinkedIn"),
        ("instagram", "Instagram"),
    ] {
        let (callback, status, page) = oauth(&ada, &ws, slug).await;
        assert!(
            callback.starts_with(&app.url(&format!("/connections/callback/{slug}?"))),
            "{callback}"
        );
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(&format!("on {name}.")), "{page}");
        assert!(
            page.contains("omniplug:connected"),
            "the popup tells its opener"
        );

        // Replaying the same redirect does nothing and says why.
        let (status, page) = follow(&ada, &callback).await;
        assert_eq!(status, 400);
        assert!(page.contains("already completed"), "{page}");
    }
    let view = ada.ok("list_connections", &[("workspace_id", &ws)]).await;
    let cards = connections_of(&view);
    assert_eq!(cards.len(), 3, "{view}");
    for card in &cards {
        assert_eq!(card["status"], "active");
        assert_eq!(card["status_text"], "Active");
        assert_eq!(card["history"][0]["text"], "Connected — Ada", "{card}");
    }
    assert_eq!(view["can_manage"], true);
    let x = cards.iter().find(|c| c["platform"] == "x").expect("x card");
    let avatar = x["avatar_url"]
        .as_str()
        .expect("X gives a profile picture")
        .to_owned();
    let picture = reqwest::get(&avatar).await.expect("the Sandbox serves it");
    assert_eq!(
        picture.headers()["content-type"],
        "image/svg+xml",
        "{avatar}"
    );

    // A made-up state.
    let (status, page) = follow(
        &ada,
        &app.url("/connections/callback/x?code=abc&state=made-up"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid"), "{page}");

    // Someone else's state: bound to the person who started connecting.
    let callback = consent(&ada, &ws, "x").await;
    let (mallory, _) = owner(&app).await;
    let (status, page) = follow(&mallory, &callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid"), "{page}");
    // The same state for another network is not valid either.
    let (status, _) = follow(
        &ada,
        &callback.replace("/callback/x?", "/callback/linkedin?"),
    )
    .await;
    assert_eq!(status, 400);

    // Older than ten minutes.
    let callback = consent(&ada, &ws, "x").await;
    oauth_state::Entity::update_many()
        .col_expr(
            oauth_state::Column::ExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(oauth_state::Column::UsedAt.is_null())
        .exec(&app.stores.db)
        .await
        .expect("age the state");
    let (status, page) = follow(&ada, &callback).await;
    assert_eq!(status, 400);
    assert!(page.contains("expired"), "{page}");

    // Cancelled at the network.
    let consent_url: String = serde_json::from_value(
        ada.ok(
            "begin_connect",
            &[("workspace_id", &ws), ("platform", "linkedin")],
        )
        .await,
    )
    .expect("url");
    let state = reqwest::Url::parse(&consent_url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let (status, page) = follow(
        &ada,
        &app.url(&format!(
            "/connections/callback/linkedin?error=user_cancelled_authorize&state={state}"
        )),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("You cancelled connecting LinkedIn."),
        "{page}"
    );

    assert_eq!(
        connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await).len(),
        3,
        "nothing more was connected"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn networks_without_an_app_say_which_variables_to_set() {
    let app = TestApp::spawn().await;
    let (ada, ws) = owner(&app).await;
    let view = ada.ok("list_connections", &[("workspace_id", &ws)]).await;
    let x = view["networks"]
        .as_array()
        .expect("networks")
        .iter()
        .find(|n| n["platform"] == "x")
        .expect("x")
        .clone();
    assert_eq!(x["available"], false);
    assert_eq!(
        x["missing"],
        serde_json::json!(["OMNIPLUG_X_CLIENT_ID", "OMNIPLUG_X_CLIENT_SECRET"])
    );
    let (status, message) = ada
        .err("begin_connect", &[("workspace_id", &ws), ("platform", "x")])
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        message,
        "X is not set up on this server yet: set OMNIPLUG_X_CLIENT_ID and OMNIPLUG_X_CLIENT_SECRET and restart."
    );
    let page = ada.get("/connections").await.text().await.expect("page");
    assert!(
        page.contains("Set OMNIPLUG_X_CLIENT_ID and OMNIPLUG_X_CLIENT_SECRET"),
        "the card says what to set"
    );
}

#[tokio::test]
async fn bluesky_connects_with_an_app_password_and_the_sandbox_in_one_click() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with(&sandbox).await;
    let (ada, ws) = owner(&app).await;
    let account = sandbox.add_account(Platform::Bluesky, "ada.test");

    let bad = [
        (
            ("", "pw"),
            "Enter your Bluesky handle, like you.bsky.social.",
        ),
        (
            ("ada.test", " "),
            "Enter an app password (Bluesky → Settings → Privacy and security → App passwords).",
        ),
        (
            ("ada.test", "wrong-password"),
            "Bluesky did not accept the credentials: Invalid identifier or password",
        ),
    ];
    for ((handle, password), message) in bad {
        let (status, got) = ada
            .err(
                "connect_bluesky",
                &[
                    ("workspace_id", &ws),
                    ("handle", handle),
                    ("app_password", password),
                    ("server", ""),
                ],
            )
            .await;
        assert_eq!((status, got.as_str()), (400, message));
    }
    let (status, got) = ada
        .err(
            "connect_bluesky",
            &[
                ("workspace_id", &ws),
                ("handle", "ada.test"),
                ("app_password", "x"),
                ("server", "ftp://pds"),
            ],
        )
        .await;
    assert_eq!(
        (status, got.as_str()),
        (
            400,
            "Enter the server as a web address, like https://pds.example.com."
        )
    );
    assert!(
        connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await).is_empty(),
        "nothing saved"
    );

    let card = ada
        .ok(
            "connect_bluesky",
            &[
                ("workspace_id", &ws),
                ("handle", "@ada.test"),
                ("app_password", &account.password),
                ("server", ""),
            ],
        )
        .await;
    assert_eq!(card["handle"], "@ada.test");
    assert_eq!(card["platform"], "bluesky");

    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    assert_eq!(card["platform"], "sandbox");
    assert!(
        card["handle"]
            .as_str()
            .is_some_and(|h| h.starts_with("@you-") && h.ends_with(".sandbox")),
        "{card}"
    );
    let id = card["id"].as_str().expect("id").to_owned();
    // The Sandbox connection really works: "Check now" asks the simulated network.
    let checked = ada
        .ok(
            "check_connection",
            &[("workspace_id", &ws), ("connection_id", &id)],
        )
        .await;
    assert_eq!(checked["status"], "active");
    assert_eq!(checked["history"][0]["text"], "Checked — Ada");

    // Rename, then disconnect.
    let renamed = ada
        .ok(
            "rename_connection",
            &[
                ("workspace_id", &ws),
                ("connection_id", &id),
                ("label", "Launch tests"),
            ],
        )
        .await;
    assert_eq!(renamed["name"], "Launch tests");
    let (status, message) = ada
        .err(
            "rename_connection",
            &[
                ("workspace_id", &ws),
                ("connection_id", &id),
                ("label", &"x".repeat(101)),
            ],
        )
        .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "Use at most 100 characters for the name.")
    );
    ada.ok(
        "disconnect_connection",
        &[("workspace_id", &ws), ("connection_id", &id)],
    )
    .await;
    let left = connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["platform"], "bluesky");
    let row = pc::Entity::find_by_id(id.parse::<Uuid>().expect("uuid"))
        .one(&app.stores.db)
        .await
        .expect("db")
        .expect("row kept");
    assert_eq!(
        (
            row.access_token_enc.as_str(),
            row.refresh_token_enc.as_deref(),
            row.secret_enc.as_deref()
        ),
        ("", None, None),
        "secrets wiped"
    );
    assert!(row.disconnected_at.is_some());
    let (status, _) = ada
        .err(
            "check_connection",
            &[("workspace_id", &ws), ("connection_id", &id)],
        )
        .await;
    assert_eq!(
        status, 404,
        "a disconnected account is gone from the workspace"
    );
    sandbox.stop().await;
}

/// Sets a connection's tokens to expire in a minute (inside the refresh margin).
async fn expire_soon(app: &TestApp, id: Uuid) {
    pc::Entity::update_many()
        .col_expr(
            pc::Column::TokenExpiresAt,
            Expr::value(Some(Utc::now() + chrono::Duration::minutes(1))),
        )
        .filter(pc::Column::Id.eq(id))
        .exec(&app.stores.db)
        .await
        .expect("age the tokens");
}

async fn row(app: &TestApp, id: Uuid) -> pc::Model {
    pc::Entity::find_by_id(id)
        .one(&app.stores.db)
        .await
        .expect("db")
        .expect("row")
}

#[tokio::test]
async fn tokens_refresh_once_when_due_keep_an_unrotated_refresh_token_and_failed_refreshes_ask_for_a_reconnect()
 {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with(&sandbox).await;
    let (ada, ws) = owner(&app).await;
    oauth(&ada, &ws, "x").await;
    oauth(&ada, &ws, "instagram").await;
    let cards = connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await);
    let id_of = |slug: &str| {
        cards
            .iter()
            .find(|c| c["platform"] == slug)
            .and_then(|c| c["id"].as_str())
            .expect("card")
            .parse::<Uuid>()
            .expect("uuid")
    };
    let (x, instagram) = (id_of("x"), id_of("instagram"));
    let networks = Networks::from_config(&app.stores.config);
    let (db, vault) = (&app.stores.db, app.stores.vault.as_ref());

    // Not due: no refresh.
    let refreshes = || {
        sandbox
            .requests()
            .iter()
            .filter(|r| {
                r.path == "/2/oauth2/token"
                    && String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token")
            })
            .count()
    };
    connections::credentials(db, vault, &networks, x)
        .await
        .expect("credentials");
    assert_eq!(refreshes(), 0);

    // Due, and asked for by four callers at once: one refresh; X rotates refresh tokens, so a
    // second refresh with the spent one would have failed and marked the account.
    expire_soon(&app, x).await;
    let before = row(&app, x).await;
    let calls = (0..4).map(|_| connections::credentials(db, vault, &networks, x));
    let results = futures::future::join_all(calls).await;
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| {
            r.expect("fresh credentials")
                .1
                .tokens
                .access
                .expose()
                .to_owned()
        })
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "everyone got the one new token"
    );
    assert_eq!(refreshes(), 1, "exactly one refresh reached X");
    let after = row(&app, x).await;
    assert_ne!(
        after.refresh_token_enc, before.refresh_token_enc,
        "the rotated refresh token was stored"
    );
    assert!(
        after
            .token_expires_at
            .is_some_and(|at| at > Utc::now() + chrono::Duration::minutes(60))
    );
    assert!(after.refresh_lease_until.is_none(), "the lease is released");
    assert_eq!(connections::view(&after).history[0].event, "refreshed");

    // Instagram refreshes without a new refresh token: the old one is kept.
    expire_soon(&app, instagram).await;
    let before = row(&app, instagram).await;
    connections::credentials(db, vault, &networks, instagram)
        .await
        .expect("refreshed");
    let after = row(&app, instagram).await;
    assert_ne!(after.access_token_enc, before.access_token_enc);
    assert_eq!(after.refresh_token_enc, before.refresh_token_enc);

    // The network refuses the refresh: the card says "Needs reconnect" with its reason.
    expire_soon(&app, x).await;
    sandbox.fail(Platform::X, "POST /2/oauth2/token", Fault::Status(401), 1);
    let err = connections::credentials(db, vault, &networks, x)
        .await
        .expect_err("refresh refused");
    assert!(
        matches!(err, ConnectionError::Network(ref e) if e.kind == omniplug_platforms::clients::ErrorKind::Auth),
        "{err}"
    );
    let card = connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await)
        .into_iter()
        .find(|c| c["platform"] == "x")
        .expect("x");
    assert_eq!(card["status"], "needs_reconnect");
    assert_eq!(card["status_text"], "Needs reconnect");
    assert_eq!(card["problem"], "Unauthorized");
    assert_eq!(card["history"][0]["text"], "Refresh failed: Unauthorized");

    // Reconnecting the same account brings it back, with its history.
    oauth(&ada, &ws, "x").await;
    let card = connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await)
        .into_iter()
        .find(|c| c["platform"] == "x")
        .expect("x");
    assert_eq!(card["status"], "active");
    assert_eq!(card["history"][0]["text"], "Reconnected — Ada");
    sandbox.stop().await;
}

#[tokio::test]
async fn a_new_key_reseals_everything_and_tampered_or_moved_ciphertexts_do_not_open() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with(&sandbox).await;
    let (ada, ws) = owner(&app).await;
    oauth(&ada, &ws, "x").await;
    oauth(&ada, &ws, "linkedin").await;
    let networks = Networks::from_config(&app.stores.config);
    let db = &app.stores.db;
    let rows = pc::Entity::find().all(db).await.expect("rows");
    let (x, linkedin) = (rows[0].clone(), rows[1].clone());
    let old_key = app.stores.config.token_key.clone().expect("test key");
    assert!(x.access_token_enc.starts_with("k1:"));

    // Rotate: k2 seals, k1 still opens; reseal moves everything to k2.
    let new_key = Vault::generate_encoded().expose().replacen("k1:", "k2:", 1);
    let both = Vault::from_encoded(&Secret::new(format!("{new_key},{}", old_key.expose())))
        .expect("keyring");
    connections::credentials(db, &both, &networks, x.id)
        .await
        .expect("old values open with the keyring");
    let changed = connections::reseal_all(db, &both).await.expect("reseal");
    assert!(
        changed >= 4,
        "access and refresh tokens of both connections: {changed}"
    );
    for r in pc::Entity::find().all(db).await.expect("rows") {
        assert!(
            r.access_token_enc.starts_with("k2:"),
            "{}",
            r.access_token_enc
        );
        assert!(
            r.refresh_token_enc
                .as_deref()
                .is_some_and(|v| v.starts_with("k2:"))
        );
    }
    assert_eq!(
        connections::reseal_all(db, &both).await.expect("again"),
        0,
        "nothing left to move"
    );
    let only_new = Vault::from_encoded(&Secret::new(new_key.clone())).expect("new key alone");
    connections::credentials(db, &only_new, &networks, x.id)
        .await
        .expect("the old key can now be dropped");
    let only_old = Vault::from_encoded(&old_key).expect("old key alone");
    assert!(matches!(
        connections::credentials(db, &only_old, &networks, x.id).await.err(),
        Some(ConnectionError::Vault(VaultError::UnknownKey(id))) if id == "k2"
    ));

    // Tampered: one character changed.
    let x_row = row(&app, x.id).await;
    let mut tampered = x_row.access_token_enc.clone();
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let mut active = x_row.clone().into_active_model();
    active.access_token_enc = Set(tampered);
    active.update(db).await.expect("tamper");
    assert!(matches!(
        connections::credentials(db, &only_new, &networks, x.id)
            .await
            .err(),
        Some(ConnectionError::Vault(VaultError::Corrupt))
    ));

    // Moved: LinkedIn's valid ciphertext copied into X's row does not open there.
    let li_row = row(&app, linkedin.id).await;
    let mut active = x_row.into_active_model();
    active.access_token_enc = Set(li_row.access_token_enc.clone());
    active.update(db).await.expect("copy");
    assert!(matches!(
        connections::credentials(db, &only_new, &networks, x.id)
            .await
            .err(),
        Some(ConnectionError::Vault(VaultError::Corrupt))
    ));
    connections::credentials(db, &only_new, &networks, linkedin.id)
        .await
        .expect("its own row still opens");
    sandbox.stop().await;
}

#[tokio::test]
async fn no_token_or_app_password_appears_in_answers_pages_or_logs() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let app = app_with(&sandbox).await;
    let (ada, ws) = owner(&app).await;
    let mut seen = String::new();

    for slug in ["x", "linkedin", "instagram"] {
        let (_, _, page) = oauth(&ada, &ws, slug).await;
        seen.push_str(&page);
    }
    let bluesky = sandbox.add_account(Platform::Bluesky, "leak.test");
    seen.push_str(
        &ada.ok(
            "connect_bluesky",
            &[
                ("workspace_id", &ws),
                ("handle", "leak.test"),
                ("app_password", &bluesky.password),
                ("server", ""),
            ],
        )
        .await
        .to_string(),
    );
    seen.push_str(
        &ada.ok("connect_sandbox", &[("workspace_id", &ws)])
            .await
            .to_string(),
    );
    let view = ada.ok("list_connections", &[("workspace_id", &ws)]).await;
    seen.push_str(&view.to_string());
    let networks = Networks::from_config(&app.stores.config);
    for card in connections_of(&view) {
        let id = card["id"].as_str().expect("id").to_owned();
        // Refresh everything once so refresh answers pass through the logs too.
        expire_soon(&app, id.parse().expect("uuid")).await;
        connections::credentials(
            &app.stores.db,
            &app.stores.vault,
            &networks,
            id.parse().expect("uuid"),
        )
        .await
        .expect("refresh");
        seen.push_str(
            &ada.ok(
                "check_connection",
                &[("workspace_id", &ws), ("connection_id", &id)],
            )
            .await
            .to_string(),
        );
        seen.push_str(
            &ada.ok(
                "rename_connection",
                &[
                    ("workspace_id", &ws),
                    ("connection_id", &id),
                    ("label", "renamed"),
                ],
            )
            .await
            .to_string(),
        );
    }
    seen.push_str(&ada.get("/connections").await.text().await.expect("page"));
    seen.push_str(&ada.get("/dashboard").await.text().await.expect("page"));

    // Every secret that exists: what the networks issued (the Sandbox's records) and the app
    // password typed in, plus each stored token opened with the vault.
    let mut secrets: Vec<String> = vec![bluesky.password.clone()];
    for r in pc::Entity::find().all(&app.stores.db).await.expect("rows") {
        let creds = connections::credentials(&app.stores.db, &app.stores.vault, &networks, r.id)
            .await
            .expect("credentials")
            .1;
        secrets.push(creds.tokens.access.expose().to_owned());
        secrets.extend(creds.tokens.refresh.map(|t| t.expose().to_owned()));
    }
    for request in sandbox.requests() {
        if let Some(auth) = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            secrets.push(auth.to_owned());
        }
    }
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 10, "collected {} secrets", secrets.len());
    let logs = logs::captured();
    assert!(logs.contains("account connected"), "the capture works");
    for secret in &secrets {
        assert!(
            !seen.contains(secret.as_str()),
            "a secret appeared in an answer or page"
        );
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appeared in the logs"
        );
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn bluesky_on_a_real_server_takes_app_passwords_and_refuses_the_main_one() {
    let Some(pds) = omniplug_testkit::bluesky::pds_url() else {
        return;
    };
    let account = omniplug_testkit::bluesky::create_account(&pds).await;
    // The default server is elsewhere: the form's "server" field points at the real PDS,
    // on loopback, which the operator allows here.
    let app = TestApp::spawn_with(crate::support::allow_local_servers).await;
    let (ada, ws) = owner(&app).await;
    let form = |password: &'_ str| {
        [
            ("workspace_id", ws.clone()),
            ("handle", account.handle.clone()),
            ("app_password", password.to_owned()),
            ("server", pds.clone()),
        ]
    };
    let main = form(&account.password);
    let main: Vec<(&str, &str)> = main.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, message) = ada.err("connect_bluesky", &main).await;
    assert_eq!(status, 400);
    assert!(
        message.starts_with("That is your account password. Create an app password instead"),
        "{message}"
    );
    assert!(connections_of(&ada.ok("list_connections", &[("workspace_id", &ws)]).await).is_empty());

    let app_password = form(&account.app_password);
    let app_password: Vec<(&str, &str)> =
        app_password.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let card = ada.ok("connect_bluesky", &app_password).await;
    assert_eq!(card["handle"], format!("@{}", account.handle));
    assert_eq!(card["server"], pds.as_str());
    let id = card["id"].as_str().expect("id").to_owned();
    let checked = ada
        .ok(
            "check_connection",
            &[("workspace_id", &ws), ("connection_id", &id)],
        )
        .await;
    assert_eq!(checked["status"], "active");
}

#[tokio::test]
async fn the_dashboard_invites_a_first_connection_and_flags_one_that_needs_reconnecting() {
    let app = TestApp::spawn().await;
    let (ada, ws) = owner(&app).await;
    let page = ada.get("/dashboard").await.text().await.expect("page");
    assert!(
        page.contains("Connect an account to start posting"),
        "no accounts yet"
    );

    let card = ada.ok("connect_sandbox", &[("workspace_id", &ws)]).await;
    let handle = card["handle"].as_str().expect("handle").to_owned();
    let page = ada.get("/dashboard").await.text().await.expect("page");
    assert!(!page.contains("Connect an account to start posting"));
    assert!(!page.contains("needs reconnecting"), "all is well");

    pc::Entity::update_many()
        .col_expr(pc::Column::IsValid, Expr::value(false))
        .col_expr(
            pc::Column::LastError,
            Expr::value(Some("Token has been revoked".to_owned())),
        )
        .exec(&app.stores.db)
        .await
        .expect("revoke");
    let page = ada.get("/dashboard").await.text().await.expect("page");
    assert!(
        page.contains(&format!(
            "Sandbox account {handle} needs reconnecting: Token has been revoked."
        )),
        "the dashboard says which account and why"
    );
    assert!(page.contains(&format!(
        "/connections#connection-{}",
        card["id"].as_str().expect("id")
    )));
}
