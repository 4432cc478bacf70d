//! The real local Bluesky network that `make test` starts (`scripts/bluesky-local`), for tests
//! that talk to an actual PDS.

use serde_json::{Value, json};

/// The PDS address from `ATPROTO_PDS_URL`. Without it: `None` (the caller skips, saying so),
/// unless `OMNIPLUG_REQUIRE_BLUESKY=1` — set by `make test` — demands the stack.
///
/// # Panics
/// When the stack is required but not configured.
pub fn pds_url() -> Option<String> {
    match std::env::var("ATPROTO_PDS_URL") {
        Ok(url) => Some(url.trim_end_matches('/').to_owned()),
        Err(_) if std::env::var("OMNIPLUG_REQUIRE_BLUESKY").is_ok_and(|v| v == "1") => {
            panic!(
                "OMNIPLUG_REQUIRE_BLUESKY=1 but ATPROTO_PDS_URL is not set: start scripts/bluesky-local/start.sh"
            )
        }
        Err(_) => {
            eprintln!(
                "skipped: no local Bluesky stack (ATPROTO_PDS_URL unset); `make test` starts one"
            );
            None
        }
    }
}

/// An account on the local PDS, made the way a person makes one.
#[derive(Debug, Clone)]
pub struct LocalAccount {
    /// `op1a2b3c4d.test`
    pub handle: String,
    /// `did:plc:…`
    pub did: String,
    /// The account's main password.
    pub password: String,
    /// An app password created for OmniPlug.
    pub app_password: String,
    /// A session of the main password.
    pub access_jwt: String,
}

/// Creates an account (unique handle) and an app password for it.
///
/// # Panics
/// When the PDS refuses; the message carries its answer.
#[allow(clippy::expect_used)]
pub async fn create_account(pds: &str) -> LocalAccount {
    let http = reqwest::Client::new();
    // First label 3–18 characters (the PDS's rule).
    let handle = format!(
        "op{}.test",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let password = "main-password-123".to_owned();
    let created: Value = http
        .post(format!("{pds}/xrpc/com.atproto.server.createAccount"))
        .json(&json!({ "handle": handle, "email": format!("{handle}@example.com"), "password": password }))
        .send()
        .await
        .expect("createAccount")
        .json()
        .await
        .expect("json");
    let access_jwt = created["accessJwt"]
        .as_str()
        .unwrap_or_else(|| panic!("account created: {created}"))
        .to_owned();
    let did = created["did"].as_str().expect("did").to_owned();
    let app: Value = http
        .post(format!("{pds}/xrpc/com.atproto.server.createAppPassword"))
        .bearer_auth(&access_jwt)
        .json(&json!({ "name": "omniplug" }))
        .send()
        .await
        .expect("createAppPassword")
        .json()
        .await
        .expect("json");
    let app_password = app["password"]
        .as_str()
        .unwrap_or_else(|| panic!("app password: {app}"))
        .to_owned();
    LocalAccount {
        handle,
        did,
        password,
        app_password,
        access_jwt,
    }
}
