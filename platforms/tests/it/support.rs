//! Connecting an account the way a person would: through the network's own login.

use omniplug_platforms::{
    Platform,
    clients::{AuthorizeRequest, Credentials, Media, Network, Pkce},
    sandbox::{Sandbox, SimAccount},
};

pub const REDIRECT: &str = "https://app.omniplug.test/connections/callback";

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub fn image(alt: &str) -> Media {
    Media {
        bytes: PNG.to_vec().into(),
        mime: "image/png".into(),
        alt: alt.into(),
        public_url: Some("https://media.omniplug.test/launch.png".into()),
    }
}

pub const NETWORKS: [Platform; 4] = [
    Platform::X,
    Platform::LinkedIn,
    Platform::Instagram,
    Platform::Bluesky,
];

/// Connects an account: OAuth (authorize URL → consent redirect → code exchange) or, for
/// Bluesky, handle + app password; then checks who it is.
pub async fn connect(sandbox: &Sandbox, client: &dyn Network) -> (Credentials, SimAccount) {
    let platform = client.platform();
    let account = sandbox.add_account(platform, "creator.test");
    let tokens = if platform == Platform::Bluesky || platform == Platform::Sandbox {
        client
            .log_in(&account.handle, &account.password)
            .await
            .expect("log in")
    } else {
        let pkce = Pkce::generate();
        let url = client
            .authorize_url(&AuthorizeRequest {
                redirect_uri: REDIRECT,
                state: "st4te",
                pkce: &pkce,
            })
            .expect("an OAuth network has an authorize URL");
        let consent = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(&url)
            .send()
            .await
            .expect("consent screen");
        assert_eq!(consent.status(), 303, "{platform:?} consent redirects back");
        let location = consent.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        let back = reqwest::Url::parse(&location).expect("redirect URL");
        let param = |k: &str| {
            back.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(param("state").as_deref(), Some("st4te"));
        let code = param("code").expect("code in the redirect");
        client
            .exchange_code(&code, pkce.verifier(), REDIRECT)
            .await
            .expect("exchange the code")
    };
    let me = client.verify(&tokens).await.expect("verify");
    assert_eq!(
        me.id, account.id,
        "{platform:?}: verify names the account that consented"
    );
    assert!(me.handle.contains(&account.handle) || me.name.is_some());
    (
        Credentials {
            account_id: me.id,
            tokens,
        },
        account,
    )
}

/// A client for `platform` whose app has a client secret (LinkedIn and Instagram need one).
pub fn client(sandbox: &Sandbox, platform: Platform) -> Box<dyn Network> {
    let config = sandbox.config(platform).with_app(
        "omniplug-test",
        Some(omniplug_platforms::clients::Token::new("app-secret")),
    );
    omniplug_platforms::sandbox::client_for(platform, config)
}
