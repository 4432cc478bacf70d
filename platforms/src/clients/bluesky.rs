//! Bluesky over AT Protocol XRPC, logging in with a handle and an app password.
//!
//! Calls (checked against a real PDS + AppView, `platforms/tests/it/bluesky_real.rs`):
//! `com.atproto.server.createSession` / `refreshSession` / `getSession`,
//! `com.atproto.repo.uploadBlob` / `createRecord` / `getRecord` / `listRecords`,
//! `app.bsky.feed.getPosts` (≤25 URIs per call). Errors are `{"error", "message"}`.

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Account, AuthorizeRequest, ClientConfig, Counts, Credentials, Engagement, ErrorKind, Network,
    NewPost, PlatformError, PostRef, Published, RecentPost, Result, Token, TokenSet,
    http::{Failure, Http, first_text},
};
use crate::Platform;

/// `app.bsky.feed.getPosts` takes at most 25 URIs.
pub const GET_POSTS_BATCH: usize = 25;
const POST: &str = "app.bsky.feed.post";

/// The Bluesky client; `api_base` is the account's PDS (`https://bsky.social`).
#[derive(Debug, Clone)]
pub struct BlueskyClient {
    config: ClientConfig,
    http: Http,
    /// The addresses of the calls made most (publishing, reading counts), parsed once: a
    /// burst makes thousands of them, and parsing the address each time showed in profiles.
    hot: std::sync::Arc<[(&'static str, reqwest::Url)]>,
}

/// The XRPC methods whose addresses [`BlueskyClient`] keeps parsed.
const HOT: [&str; 2] = ["com.atproto.repo.createRecord", "app.bsky.feed.getPosts"];

impl BlueskyClient {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Self {
        let http = Http::new(Platform::Bluesky, &config, classify);
        let hot = HOT
            .into_iter()
            .filter_map(|method| {
                let url = reqwest::Url::parse(&format!("{}/xrpc/{method}", config.api_base));
                Some((method, url.ok()?))
            })
            .collect();
        Self { config, http, hot }
    }

    /// The main Bluesky PDS entryway.
    pub fn production() -> Self {
        Self::new(ClientConfig::at("https://bsky.social"))
    }

    fn xrpc(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.config.api_base)
    }

    /// A request to an XRPC method, from its parsed address when it is one of [`HOT`].
    fn call(&self, verb: reqwest::Method, method: &str) -> reqwest::RequestBuilder {
        match self.hot.iter().find(|(hot, _)| *hot == method) {
            Some((_, url)) => self.http.client.request(verb, url.clone()),
            None => self.http.client.request(verb, self.xrpc(method)),
        }
    }

    async fn session(&self, request: reqwest::RequestBuilder, what: &str) -> Result<TokenSet> {
        let session: Session = self.http.send(request, what).await?.json(what)?;
        let claims = jwt_claims(&session.access_jwt);
        Ok(TokenSet {
            expires_at: jwt_expiry(&session.access_jwt),
            scope: claims.and_then(|c| c["scope"].as_str().map(str::to_owned)),
            access: Token::new(session.access_jwt),
            refresh: Some(Token::new(session.refresh_jwt)),
            account_id: Some(session.did),
        })
    }

    /// Creates an account (`com.atproto.server.createAccount`) and returns its session. Used
    /// for the Sandbox network's one-click accounts and by tests.
    pub async fn create_account(
        &self,
        handle: &str,
        email: &str,
        password: &str,
    ) -> Result<TokenSet> {
        let request = self
            .http
            .client
            .post(self.xrpc("com.atproto.server.createAccount"))
            .json(&json!({ "handle": handle, "email": email, "password": password }));
        self.session(request, "creating the account").await
    }

    async fn create_post(
        &self,
        credentials: &Credentials,
        mut record: Value,
        post: &NewPost,
        what: &str,
    ) -> Result<Published> {
        if !post.media.is_empty() {
            let mut blobs = Vec::with_capacity(post.media.len());
            for media in &post.media {
                let request = self
                    .http
                    .client
                    .post(self.xrpc("com.atproto.repo.uploadBlob"))
                    .bearer_auth(credentials.tokens.access.expose())
                    .header(reqwest::header::CONTENT_TYPE, &media.mime)
                    .body(media.bytes.clone());
                let uploaded: Blob = self
                    .http
                    .send(request, "uploading media")
                    .await?
                    .json("uploading media")?;
                blobs.push((media, uploaded.blob));
            }
            record["embed"] = match blobs.as_slice() {
                // Lexicon app.bsky.embed.video: one `video/mp4` blob and its alt text.
                [(media, blob)] if media.mime.starts_with("video/") => {
                    json!({ "$type": "app.bsky.embed.video", "video": blob, "alt": media.alt })
                }
                _ => {
                    let images: Vec<Value> = blobs
                        .iter()
                        .map(|(media, blob)| json!({ "alt": media.alt, "image": blob }))
                        .collect();
                    json!({ "$type": "app.bsky.embed.images", "images": images })
                }
            };
        }
        let request = self
            .call(reqwest::Method::POST, "com.atproto.repo.createRecord")
            .bearer_auth(credentials.tokens.access.expose())
            .json(&json!({ "repo": credentials.account_id, "collection": POST, "record": record }));
        let created: StrongRef = self.http.send(request, what).await?.json(what)?;
        Ok(Published {
            url: web_url(&created.uri),
            post: PostRef {
                id: created.uri,
                cid: Some(created.cid),
            },
        })
    }

    /// The thread root of `parent`: itself, unless it is a reply.
    async fn root_of(&self, credentials: &Credentials, parent: &StrongRef) -> Result<StrongRef> {
        let what = "reading the post to reply to";
        let (repo, rkey) = split_uri(&parent.uri).ok_or_else(|| {
            PlatformError::new(
                Platform::Bluesky,
                ErrorKind::Permanent,
                format!("Not a post URI: {}", parent.uri),
            )
        })?;
        let request = self
            .http
            .client
            .get(self.xrpc("com.atproto.repo.getRecord"))
            .query(&[("repo", repo), ("collection", POST), ("rkey", rkey)])
            .bearer_auth(credentials.tokens.access.expose());
        let record: Record = self.http.send(request, what).await?.json(what)?;
        Ok(record
            .value
            .pointer("/reply/root")
            .and_then(|root| serde_json::from_value::<StrongRef>(root.clone()).ok())
            .unwrap_or_else(|| parent.clone()))
    }
}

fn new_record(text: &str) -> Value {
    json!({
        "$type": POST,
        "text": text,
        "createdAt": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

#[async_trait]
impl Network for BlueskyClient {
    fn platform(&self) -> Platform {
        Platform::Bluesky
    }

    fn authorize_url(&self, _request: &AuthorizeRequest<'_>) -> Option<String> {
        None
    }

    async fn exchange_code(
        &self,
        _code: &str,
        _verifier: &str,
        _redirect_uri: &str,
    ) -> Result<TokenSet> {
        Err(PlatformError::unsupported(
            Platform::Bluesky,
            "OAuth codes; connect with an app password",
        ))
    }

    async fn log_in(&self, identifier: &str, password: &str) -> Result<TokenSet> {
        let request = self
            .http
            .client
            .post(self.xrpc("com.atproto.server.createSession"))
            .json(&json!({ "identifier": identifier.trim().trim_start_matches('@'), "password": password }));
        self.session(request, "logging in").await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet> {
        let Some(refresh) = &credentials.tokens.refresh else {
            return Err(PlatformError::new(
                Platform::Bluesky,
                ErrorKind::Auth,
                "No refresh token; log in again.",
            ));
        };
        let request = self
            .http
            .client
            .post(self.xrpc("com.atproto.server.refreshSession"))
            .bearer_auth(refresh.expose());
        self.session(request, "refreshing the session").await
    }

    async fn verify(&self, tokens: &TokenSet) -> Result<Account> {
        let what = "checking the account";
        let request = self
            .http
            .client
            .get(self.xrpc("com.atproto.server.getSession"))
            .bearer_auth(tokens.access.expose());
        let session: SessionInfo = self.http.send(request, what).await?.json(what)?;
        // Name and picture live in the profile (served by the AppView through the PDS); an
        // account without one, or a server without an AppView, simply has none.
        let request = self
            .http
            .client
            .get(self.xrpc("app.bsky.actor.getProfile"))
            .query(&[("actor", session.did.as_str())])
            .bearer_auth(tokens.access.expose());
        let profile = match self.http.send(request, "reading the profile").await {
            Ok(answer) => answer
                .json::<Value>("reading the profile")
                .unwrap_or_default(),
            Err(_) => Value::Null,
        };
        let text = |key: &str| {
            profile[key]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Account {
            id: session.did,
            handle: format!("@{}", session.handle),
            name: text("displayName"),
            avatar_url: text("avatar"),
        })
    }

    async fn publish(&self, credentials: &Credentials, post: &NewPost) -> Result<Published> {
        self.create_post(
            credentials,
            new_record(&post.text),
            post,
            "publishing a post",
        )
        .await
    }

    async fn reply(
        &self,
        credentials: &Credentials,
        parent: &PostRef,
        reply: &NewPost,
    ) -> Result<Published> {
        let Some(cid) = &parent.cid else {
            return Err(PlatformError::new(
                Platform::Bluesky,
                ErrorKind::Permanent,
                "Bluesky replies need the parent post's CID.",
            ));
        };
        let parent = StrongRef {
            uri: parent.id.clone(),
            cid: cid.clone(),
        };
        let root = self.root_of(credentials, &parent).await?;
        let mut record = new_record(&reply.text);
        record["reply"] = json!({ "root": root, "parent": parent });
        self.create_post(credentials, record, reply, "publishing a reply")
            .await
    }

    async fn engagement(
        &self,
        credentials: &Credentials,
        posts: &[PostRef],
    ) -> Result<Vec<Engagement>> {
        let what = "reading engagement";
        let mut out = Vec::with_capacity(posts.len());
        for batch in posts.chunks(GET_POSTS_BATCH) {
            let query: Vec<(&str, &str)> = batch.iter().map(|p| ("uris", p.id.as_str())).collect();
            let request = self
                .call(reqwest::Method::GET, "app.bsky.feed.getPosts")
                .query(&query)
                .bearer_auth(credentials.tokens.access.expose());
            let page: Posts = self.http.send(request, what).await?.json(what)?;
            out.extend(page.posts.into_iter().map(|p| Engagement {
                id: p.uri,
                counts: Counts {
                    likes: p.like_count,
                    comments: p.reply_count,
                    reposts: p.repost_count + p.quote_count,
                },
            }));
        }
        Ok(out)
    }

    async fn recent_posts(
        &self,
        credentials: &Credentials,
        limit: usize,
    ) -> Result<Vec<RecentPost>> {
        // The PDS's own list (not the AppView's feed): it is consistent the moment a write
        // returns, which is what settling an unknown outcome needs.
        let what = "listing recent posts";
        let limit_text = limit.clamp(1, 100).to_string();
        let request = self
            .http
            .client
            .get(self.xrpc("com.atproto.repo.listRecords"))
            .query(&[
                ("repo", credentials.account_id.as_str()),
                ("collection", POST),
                ("limit", limit_text.as_str()),
            ])
            .bearer_auth(credentials.tokens.access.expose());
        let list: Records = self.http.send(request, what).await?.json(what)?;
        Ok(list
            .records
            .into_iter()
            .map(|r| RecentPost {
                text: r.value["text"].as_str().unwrap_or_default().to_owned(),
                created_at: r.value["createdAt"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc)),
                post: PostRef {
                    id: r.uri,
                    cid: Some(r.cid),
                },
            })
            .collect())
    }
}

/// `at://did/app.bsky.feed.post/rkey` → (did, rkey).
fn split_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.splitn(3, '/');
    let repo = parts.next()?;
    let collection = parts.next()?;
    let rkey = parts.next()?;
    (collection == POST).then_some((repo, rkey))
}

/// The bsky.app page of a post.
fn web_url(uri: &str) -> Option<String> {
    let (repo, rkey) = split_uri(uri)?;
    Some(format!("https://bsky.app/profile/{repo}/post/{rkey}"))
}

/// The claims of a JWT, read without checking the signature: only to know when to refresh
/// (`exp`) and what kind of session it is (`scope`); the server decides validity.
fn jwt_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `exp` claim of a JWT.
fn jwt_expiry(jwt: &str) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(jwt_claims(jwt)?["exp"].as_i64()?, 0)
        .single()
}

/// The session scope of an app password (`com.atproto.appPass`); a main-password session has
/// `com.atproto.access` instead.
pub const APP_PASSWORD_SCOPE: &str = "com.atproto.appPass";

/// XRPC errors: `{"error":"ExpiredToken","message":"Token has expired"}`. A bad or expired
/// token is a 400 (`InvalidToken`/`ExpiredToken`), not a 401, on the reference PDS.
fn classify(failure: &Failure<'_>) -> (ErrorKind, String) {
    let body = failure.json();
    let name = body["error"].as_str().unwrap_or_default();
    let message =
        first_text(&body, &["/message", "/error"]).unwrap_or_else(|| failure.fallback_message());
    let kind = match name {
        "ExpiredToken"
        | "InvalidToken"
        | "AuthMissing"
        | "AuthenticationRequired"
        | "AccountTakedown" => ErrorKind::Auth,
        "RateLimitExceeded" => ErrorKind::RateLimited {
            retry_at: super::error::retry_at(failure.headers, Utc::now()),
        },
        _ => failure.default_kind(),
    };
    (kind, message)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    access_jwt: String,
    refresh_jwt: String,
    did: String,
}

#[derive(Debug, Deserialize)]
struct SessionInfo {
    did: String,
    handle: String,
}

#[derive(Debug, Deserialize)]
struct Blob {
    blob: Value,
}

#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct StrongRef {
    uri: String,
    cid: String,
}

#[derive(Debug, Deserialize)]
struct Record {
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Records {
    #[serde(default)]
    records: Vec<ListedRecord>,
}

#[derive(Debug, Deserialize)]
struct ListedRecord {
    uri: String,
    cid: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Posts {
    #[serde(default)]
    posts: Vec<PostView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    #[serde(default)]
    like_count: u64,
    #[serde(default)]
    reply_count: u64,
    #[serde(default)]
    repost_count: u64,
    #[serde(default)]
    quote_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_uris_split_and_link_to_the_web() {
        let uri = "at://did:plc:abc/app.bsky.feed.post/3n2u";
        assert_eq!(split_uri(uri), Some(("did:plc:abc", "3n2u")));
        assert_eq!(
            web_url(uri).as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3n2u")
        );
        assert_eq!(split_uri("at://did:plc:abc/app.bsky.feed.like/3n2u"), None);
        assert_eq!(split_uri("https://bsky.app"), None);
    }

    #[test]
    fn jwt_expiry_reads_the_exp_claim() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1795000000,"sub":"did:plc:x"}"#);
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
        assert_eq!(jwt_expiry(&jwt).map(|d| d.timestamp()), Some(1_795_000_000));
        assert_eq!(jwt_expiry("not-a-jwt"), None);
    }
}
