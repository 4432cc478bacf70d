//! X (Twitter) API v2 with OAuth 2.0 + PKCE.
//!
//! Shapes from the official OpenAPI document (X API v2 2.159; `platforms/tests/fixtures/`)
//! and docs.x.com: `POST /2/tweets`, `GET /2/tweets?ids=` (≤100 ids), `GET /2/users/me`,
//! `GET /2/users/{id}/tweets`, `POST /2/media/upload` (one-shot, base64), `POST
//! /2/media/metadata` (alt text), `POST /2/oauth2/token`.

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

use super::{
    Account, AuthorizeRequest, ClientConfig, Counts, Credentials, Engagement, ErrorKind, Media,
    Network, NewPost, PlatformError, PostRef, Published, RecentPost, Result, TokenSet,
    error::retry_at,
    http::{Failure, Http, first_text},
    oauth::TokenAnswer,
};
use crate::Platform;

/// Scopes the scheduler asks for: post, read counts, upload media, keep a refresh token.
pub const SCOPES: &str = "tweet.read tweet.write users.read media.write offline.access";
/// `GET /2/tweets?ids=` takes at most 100 ids.
pub const LOOKUP_BATCH: usize = 100;

/// The X client.
#[derive(Debug, Clone)]
pub struct XClient {
    config: ClientConfig,
    http: Http,
}

impl XClient {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Self {
        let http = Http::new(Platform::X, &config, classify);
        Self { config, http }
    }

    /// The real X: API at `https://api.x.com`, consent at `https://x.com`.
    pub fn production(client_id: impl Into<String>, secret: Option<super::Token>) -> Self {
        let mut config = ClientConfig::at("https://api.x.com").with_app(client_id, secret);
        config.auth_base = "https://x.com".into();
        Self::new(config)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base)
    }

    async fn token_request(&self, form: &[(&str, &str)], what: &str) -> Result<TokenSet> {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut request = self
            .http
            .client
            .post(format!("{}/2/oauth2/token", self.config.token_base));
        // Confidential clients authenticate with Basic; public ones name themselves in the body.
        match &self.config.client_secret {
            Some(secret) => {
                request = request.basic_auth(&self.config.client_id, Some(secret.expose()));
            }
            None => form.push(("client_id", &self.config.client_id)),
        }
        let answer = self.http.send(request.form(&form), what).await?;
        Ok(answer.json::<TokenAnswer>(what)?.into_tokens())
    }

    /// Videos and GIFs go up in chunks: initialize, append each segment, finalize, then wait
    /// while X processes them (`/2/media/upload/initialize|{id}/append|{id}/finalize`, then
    /// `GET /2/media/upload?media_id=…&command=STATUS`; twitter-openapi.json). The one-shot
    /// upload only takes images up to 5 MB (`MediaCategoryOneShot` has no GIF category).
    async fn upload_chunked(
        &self,
        credentials: &Credentials,
        media: &Media,
        category: &str,
    ) -> Result<String> {
        let token = credentials.tokens.access.expose();
        let what = "uploading media";
        let request = self
            .http
            .client
            .post(self.url("/2/media/upload/initialize"))
            .bearer_auth(token)
            .json(&json!({
                "media_type": media.mime,
                "total_bytes": media.bytes.len(),
                "media_category": category,
            }));
        let id = self
            .http
            .send(request, what)
            .await?
            .json::<Envelope<MediaData>>(what)?
            .data
            .id;
        for (index, chunk) in media.bytes.chunks(VIDEO_CHUNK).enumerate() {
            let request = self
                .http
                .client
                .post(self.url(&format!("/2/media/upload/{id}/append")))
                .bearer_auth(token)
                .json(&json!({ "media": STANDARD.encode(chunk), "segment_index": index }));
            self.http.send(request, what).await?;
        }
        let request = self
            .http
            .client
            .post(self.url(&format!("/2/media/upload/{id}/finalize")))
            .bearer_auth(token);
        let mut state = self
            .http
            .send(request, what)
            .await?
            .json::<Envelope<MediaData>>(what)?
            .data
            .processing_info;
        for _ in 0..VIDEO_STATUS_CHECKS {
            match state.as_ref().and_then(|p| p.state.as_deref()) {
                None | Some("succeeded") => {
                    self.describe(credentials, &id, &media.alt).await?;
                    return Ok(id);
                }
                Some("failed") => {
                    return Err(PlatformError::new(
                        Platform::X,
                        ErrorKind::Permanent,
                        "X could not process the file.",
                    ));
                }
                _ => {}
            }
            let wait = state
                .as_ref()
                .and_then(|p| p.check_after_secs)
                .map_or(self.config.poll_interval, |secs| {
                    std::time::Duration::from_secs(secs).min(self.config.poll_interval * 10)
                });
            tokio::time::sleep(wait.max(self.config.poll_interval)).await;
            let request = self
                .http
                .client
                .get(self.url("/2/media/upload"))
                .query(&[("media_id", id.as_str()), ("command", "STATUS")])
                .bearer_auth(token);
            state = self
                .http
                .send(request, "checking the media's processing")
                .await?
                .json::<Envelope<MediaData>>("checking the media's processing")?
                .data
                .processing_info;
        }
        Err(PlatformError::new(
            Platform::X,
            ErrorKind::Transient {
                outcome_unknown: false,
            },
            "X is still processing the file.",
        ))
    }

    /// Sets the alt text of an uploaded file (`POST /2/media/metadata`).
    async fn describe(&self, credentials: &Credentials, id: &str, alt: &str) -> Result<()> {
        if alt.trim().is_empty() {
            return Ok(());
        }
        let request = self
            .http
            .client
            .post(self.url("/2/media/metadata"))
            .bearer_auth(credentials.tokens.access.expose())
            .json(&json!({ "id": id, "metadata": { "alt_text": { "text": alt } } }));
        self.http.send(request, "adding alt text").await?;
        Ok(())
    }

    async fn upload(&self, credentials: &Credentials, media: &Media) -> Result<String> {
        if media.mime.starts_with("video/") {
            return self.upload_chunked(credentials, media, "tweet_video").await;
        }
        if media.mime == "image/gif" {
            return self.upload_chunked(credentials, media, "tweet_gif").await;
        }
        let what = "uploading an image";
        let body = json!({
            "media": STANDARD.encode(&media.bytes),
            "media_category": "tweet_image",
            "media_type": media.mime,
        });
        let request = self
            .http
            .client
            .post(self.url("/2/media/upload"))
            .bearer_auth(credentials.tokens.access.expose())
            .json(&body);
        let answer: Envelope<MediaData> = self.http.send(request, what).await?.json(what)?;
        let id = answer.data.id;
        self.describe(credentials, &id, &media.alt).await?;
        Ok(id)
    }

    async fn create(
        &self,
        credentials: &Credentials,
        body: serde_json::Value,
        what: &str,
    ) -> Result<Published> {
        let request = self
            .http
            .client
            .post(self.url("/2/tweets"))
            .bearer_auth(credentials.tokens.access.expose())
            .json(&body);
        let created: Envelope<TweetData> = self.http.send(request, what).await?.json(what)?;
        Ok(Published {
            url: Some(format!("https://x.com/i/web/status/{}", created.data.id)),
            post: PostRef::id(created.data.id),
        })
    }

    async fn tweet_body(
        &self,
        credentials: &Credentials,
        post: &NewPost,
    ) -> Result<serde_json::Value> {
        let mut body = json!({ "text": post.text });
        if !post.media.is_empty() {
            let mut ids = Vec::with_capacity(post.media.len());
            for media in &post.media {
                ids.push(self.upload(credentials, media).await?);
            }
            body["media"] = json!({ "media_ids": ids });
        }
        Ok(body)
    }
}

#[async_trait]
impl Network for XClient {
    fn platform(&self) -> Platform {
        Platform::X
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let url = Url::parse_with_params(
            &format!("{}/i/oauth2/authorize", self.config.auth_base),
            [
                ("response_type", "code"),
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", request.redirect_uri),
                ("scope", SCOPES),
                ("state", request.state),
                ("code_challenge", request.pkce.challenge()),
                ("code_challenge_method", "S256"),
            ],
        )
        .ok()?;
        Some(url.into())
    }

    async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet> {
        self.token_request(
            &[
                ("code", code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ],
            "exchanging the authorization code",
        )
        .await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet> {
        let Some(refresh) = &credentials.tokens.refresh else {
            return Err(PlatformError::new(
                Platform::X,
                ErrorKind::Auth,
                "X gave no refresh token (offline.access was not granted); reconnect the account.",
            ));
        };
        self.token_request(
            &[
                ("refresh_token", refresh.expose()),
                ("grant_type", "refresh_token"),
            ],
            "refreshing the token",
        )
        .await
    }

    async fn verify(&self, tokens: &TokenSet) -> Result<Account> {
        let what = "checking the account";
        let request = self
            .http
            .client
            .get(self.url("/2/users/me"))
            .query(&[("user.fields", "profile_image_url")])
            .bearer_auth(tokens.access.expose());
        let me: Envelope<UserData> = self.http.send(request, what).await?.json(what)?;
        Ok(Account {
            id: me.data.id,
            handle: format!("@{}", me.data.username),
            name: Some(me.data.name),
            avatar_url: me.data.profile_image_url,
        })
    }

    async fn publish(&self, credentials: &Credentials, post: &NewPost) -> Result<Published> {
        let body = self.tweet_body(credentials, post).await?;
        self.create(credentials, body, "publishing a post").await
    }

    async fn reply(
        &self,
        credentials: &Credentials,
        parent: &PostRef,
        reply: &NewPost,
    ) -> Result<Published> {
        let mut body = self.tweet_body(credentials, reply).await?;
        body["reply"] = json!({ "in_reply_to_tweet_id": parent.id });
        self.create(credentials, body, "publishing a reply").await
    }

    async fn engagement(
        &self,
        credentials: &Credentials,
        posts: &[PostRef],
    ) -> Result<Vec<Engagement>> {
        let what = "reading engagement";
        let mut out = Vec::with_capacity(posts.len());
        for batch in posts.chunks(LOOKUP_BATCH) {
            let ids = batch
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let request = self
                .http
                .client
                .get(self.url("/2/tweets"))
                .query(&[("ids", ids.as_str()), ("tweet.fields", "public_metrics")])
                .bearer_auth(credentials.tokens.access.expose());
            // Deleted or unknown ids come back in `errors` beside the found ones (HTTP 200).
            let page: Lookup = self.http.send(request, what).await?.json(what)?;
            out.extend(page.data.into_iter().map(|tweet| {
                Engagement {
                    counts: tweet
                        .public_metrics
                        .map(Metrics::counts)
                        .unwrap_or_default(),
                    id: tweet.id,
                }
            }));
        }
        Ok(out)
    }

    async fn recent_posts(
        &self,
        credentials: &Credentials,
        limit: usize,
    ) -> Result<Vec<RecentPost>> {
        let what = "listing recent posts";
        // The endpoint takes 5..=100.
        let max = limit.clamp(5, 100).to_string();
        let request = self
            .http
            .client
            .get(self.url(&format!("/2/users/{}/tweets", credentials.account_id)))
            .query(&[
                ("max_results", max.as_str()),
                ("tweet.fields", "created_at"),
            ])
            .bearer_auth(credentials.tokens.access.expose());
        let page: Lookup = self.http.send(request, what).await?.json(what)?;
        Ok(page
            .data
            .into_iter()
            .take(limit)
            .map(|tweet| RecentPost {
                created_at: tweet
                    .created_at
                    .as_deref()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc)),
                post: PostRef::id(tweet.id),
                text: tweet.text,
            })
            .collect())
    }
}

/// `{"data": …}`, the v2 envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub data: T,
}

/// `data` of `POST /2/tweets`.
#[derive(Debug, Deserialize)]
pub struct TweetData {
    /// The new post's id.
    pub id: String,
    /// Its text.
    #[serde(default)]
    pub text: String,
}

/// `data` of `GET /2/users/me`.
#[derive(Debug, Deserialize)]
pub struct UserData {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Handle without the `@`.
    pub username: String,
    /// Profile picture, when asked for with `user.fields=profile_image_url`.
    #[serde(default)]
    pub profile_image_url: Option<String>,
}

/// `data` of `POST /2/media/upload`.
#[derive(Debug, Deserialize)]
pub struct MediaData {
    /// The id to put in `media.media_ids`.
    pub id: String,
    /// For video: where X's processing is (`ProcessingInfo`).
    #[serde(default)]
    pub processing_info: Option<ProcessingInfo>,
}

/// `ProcessingInfo`: `state` is `pending`, `in_progress`, `succeeded` or `failed`.
#[derive(Debug, Deserialize)]
pub struct ProcessingInfo {
    /// Where processing is.
    #[serde(default)]
    pub state: Option<String>,
    /// When to ask again.
    #[serde(default)]
    pub check_after_secs: Option<u64>,
}

/// Bytes per `append` segment (X takes up to 5 MB per segment; 1,000 segments at most).
const VIDEO_CHUNK: usize = 4 * 1024 * 1024;
/// How many times to ask whether a video is processed before trying again later.
const VIDEO_STATUS_CHECKS: usize = 30;

/// `GET /2/tweets` and `GET /2/users/{id}/tweets`: `data` may be missing when nothing matched.
#[derive(Debug, Deserialize)]
pub struct Lookup {
    /// The posts found.
    #[serde(default)]
    pub data: Vec<Tweet>,
}

/// A post as lookups return it.
#[derive(Debug, Deserialize)]
pub struct Tweet {
    /// Its id.
    pub id: String,
    /// Its text.
    #[serde(default)]
    pub text: String,
    /// RFC 3339 when asked for with `tweet.fields=created_at` (anything else is ignored).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Counts when asked for with `tweet.fields=public_metrics`.
    #[serde(default)]
    pub public_metrics: Option<Metrics>,
}

/// `public_metrics`; the docs' own examples omit some fields, so all default to 0.
#[derive(Debug, Deserialize, Default)]
pub struct Metrics {
    /// Likes.
    #[serde(default)]
    pub like_count: u64,
    /// Replies.
    #[serde(default)]
    pub reply_count: u64,
    /// Retweets.
    #[serde(default)]
    pub retweet_count: u64,
    /// Quotes.
    #[serde(default)]
    pub quote_count: u64,
}

impl Metrics {
    fn counts(self) -> Counts {
        Counts {
            likes: self.like_count,
            comments: self.reply_count,
            reposts: self.retweet_count + self.quote_count,
        }
    }
}

/// X's errors: RFC 7807 problems (`title`/`detail`/`type`), the legacy `errors[].message`,
/// and OAuth's `error_description`. A 429 is either a rate limit or a usage cap; both wait
/// for the reset the headers give. 403 `client-forbidden`/`usage-capped` are permanent for
/// the app, not the post, but nothing retries them.
fn classify(failure: &Failure<'_>) -> (ErrorKind, String) {
    let body = failure.json();
    let message = first_text(
        &body,
        &[
            "/detail",
            "/title",
            "/errors/0/message",
            "/errors/0/detail",
            "/error_description",
            "/error",
        ],
    )
    .unwrap_or_else(|| failure.fallback_message());
    let kind = match failure.status.as_u16() {
        429 => ErrorKind::RateLimited {
            retry_at: retry_at(failure.headers, Utc::now()),
        },
        // The token endpoint answers a spent or revoked refresh token with 400 invalid_grant.
        400 if body["error"] == "invalid_grant" => ErrorKind::Auth,
        _ => failure.default_kind(),
    };
    (kind, message)
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, StatusCode, header::HeaderMap};

    use super::*;

    fn read(status: u16, body: &str, headers: &HeaderMap) -> (ErrorKind, String) {
        let status = StatusCode::from_u16(status).expect("status");
        classify(&Failure {
            status,
            headers,
            body,
            method: &Method::POST,
        })
    }

    /// Bodies from docs.x.com (fundamentals/response-codes-and-errors, rate-limits).
    #[test]
    fn problems_legacy_errors_and_oauth_errors_are_read() {
        let none = HeaderMap::new();
        let (kind, message) = read(
            400,
            r#"{"title":"Invalid Request","detail":"The 'query' parameter is required.","type":"https://api.x.com/2/problems/invalid-request"}"#,
            &none,
        );
        assert_eq!(
            (kind, message.as_str()),
            (ErrorKind::Permanent, "The 'query' parameter is required.")
        );
        let (kind, _) = read(
            401,
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
            &none,
        );
        assert_eq!(kind, ErrorKind::Auth);
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", "1795000000".parse().expect("header"));
        let (kind, message) = read(
            429,
            r#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#,
            &headers,
        );
        assert_eq!(message, "Rate limit exceeded");
        assert_eq!(
            kind,
            ErrorKind::RateLimited {
                retry_at: chrono::TimeZone::timestamp_opt(&Utc, 1_795_000_000, 0).single()
            }
        );
        let (kind, message) = read(
            400,
            r#"{"error":"invalid_grant","error_description":"Value passed for the token was invalid."}"#,
            &none,
        );
        assert_eq!(
            (kind, message.as_str()),
            (ErrorKind::Auth, "Value passed for the token was invalid.")
        );
    }
}
