//! LinkedIn: the versioned REST Posts API for posts, images and counts; comments through
//! `socialActions`.
//!
//! Shapes from learn.microsoft.com (posts-api, images-api, social-metadata-api,
//! authorization-code-flow), summarised in `../shared/reference/linkedin.md`. Comments go to
//! the legacy `/v2/socialActions`: with only `w_member_social` the versioned
//! `/rest/socialActions` may answer 403, the `/v2` one accepts member posts.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use reqwest::{RequestBuilder, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Account, AuthorizeRequest, ClientConfig, Counts, Credentials, Engagement, ErrorKind, Media,
    Network, NewPost, PlatformError, PostRef, Published, RecentPost, Result, TokenSet,
    error::next_utc_midnight,
    http::{Failure, Http, first_text},
    oauth::TokenAnswer,
};
use crate::{Platform, text::escape_little_text};

/// Scopes: sign-in (to learn the member id) and posting as the member.
pub const SCOPES: &str = "openid profile w_member_social";
/// The `LinkedIn-Version` sent by default (YYYYMM). LinkedIn retires a version after about a
/// year, so this must be moved forward at least yearly.
pub const DEFAULT_VERSION: &str = "202608";

/// The LinkedIn client.
#[derive(Debug, Clone)]
pub struct LinkedInClient {
    config: ClientConfig,
    http: Http,
    version: String,
}

impl LinkedInClient {
    /// A client for `config`, sending [`DEFAULT_VERSION`].
    pub fn new(config: ClientConfig) -> Self {
        let http = Http::new(Platform::LinkedIn, &config, classify);
        Self {
            config,
            http,
            version: DEFAULT_VERSION.into(),
        }
    }

    /// The real LinkedIn: API at `api.linkedin.com`, OAuth at `www.linkedin.com`.
    pub fn production(client_id: impl Into<String>, secret: super::Token) -> Self {
        let mut config =
            ClientConfig::at("https://api.linkedin.com").with_app(client_id, Some(secret));
        config.auth_base = "https://www.linkedin.com".into();
        config.token_base = "https://www.linkedin.com".into();
        Self::new(config)
    }

    /// The same client sending another `LinkedIn-Version`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// A call to the versioned REST API, with the headers every such call needs.
    fn rest(&self, request: RequestBuilder, credentials: &Credentials) -> RequestBuilder {
        request
            .bearer_auth(credentials.tokens.access.expose())
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    async fn token_request(&self, form: &[(&str, &str)], what: &str) -> Result<TokenSet> {
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        let mut form = form.to_vec();
        form.extend([
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", secret),
        ]);
        let request = self
            .http
            .client
            .post(format!("{}/oauth/v2/accessToken", self.config.token_base))
            .form(&form);
        Ok(self
            .http
            .send(request, what)
            .await?
            .json::<TokenAnswer>(what)?
            .into_tokens())
    }

    /// Videos API (learn.microsoft.com/linkedin/marketing/community-management/shares/
    /// videos-api): `initializeUpload` declares the size and answers with one upload URL per
    /// part; each part is PUT and its `ETag` kept; `finalizeUpload` names them in order.
    async fn upload_video(&self, credentials: &Credentials, media: &Media) -> Result<String> {
        let what = "uploading a video";
        let request = self.rest(
            self.http
                .client
                .post(format!(
                    "{}/rest/videos?action=initializeUpload",
                    self.config.api_base
                ))
                .json(&json!({ "initializeUploadRequest": {
                    "owner": credentials.account_id,
                    "fileSizeBytes": media.bytes.len(),
                    "uploadCaptions": false,
                    "uploadThumbnail": false,
                } })),
            credentials,
        );
        let init: VideoInit = self.http.send(request, what).await?.json(what)?;
        let mut parts = Vec::with_capacity(init.value.upload_instructions.len());
        for part in &init.value.upload_instructions {
            let bytes = usize::try_from(part.first_byte)
                .ok()
                .zip(usize::try_from(part.last_byte).ok())
                .filter(|(first, last)| first <= last && *last < media.bytes.len())
                .map(|(first, last)| media.bytes.slice(first..=last))
                .ok_or_else(|| {
                    PlatformError::unreadable(Platform::LinkedIn, what, "a part outside the file")
                })?;
            let put = self
                .http
                .client
                .put(&part.upload_url)
                .bearer_auth(credentials.tokens.access.expose())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes);
            let answer = self.http.send(put, what).await?;
            parts.push(
                answer.header("etag").map(str::to_owned).ok_or_else(|| {
                    PlatformError::unreadable(Platform::LinkedIn, what, "no ETag")
                })?,
            );
        }
        let request = self.rest(
            self.http
                .client
                .post(format!(
                    "{}/rest/videos?action=finalizeUpload",
                    self.config.api_base
                ))
                .json(&json!({ "finalizeUploadRequest": {
                    "video": init.value.video,
                    "uploadToken": init.value.upload_token,
                    "uploadedPartIds": parts,
                } })),
            credentials,
        );
        self.http.send(request, what).await?;
        Ok(init.value.video)
    }

    async fn upload(&self, credentials: &Credentials, media: &Media) -> Result<String> {
        if media.mime.starts_with("video/") {
            return self.upload_video(credentials, media).await;
        }
        let what = "uploading an image";
        let request = self.rest(
            self.http
                .client
                .post(format!(
                    "{}/rest/images?action=initializeUpload",
                    self.config.api_base
                ))
                .json(&json!({ "initializeUploadRequest": { "owner": credentials.account_id } })),
            credentials,
        );
        let init: ImageInit = self.http.send(request, what).await?.json(what)?;
        let put = self
            .http
            .client
            .put(&init.value.upload_url)
            .bearer_auth(credentials.tokens.access.expose())
            .header(reqwest::header::CONTENT_TYPE, &media.mime)
            .body(media.bytes.clone());
        self.http.send(put, what).await?;
        Ok(init.value.image)
    }

    /// The new entity's URN, from `x-restli-id` (LinkedIn answers 201 with an empty body).
    fn created_urn(answer: &super::http::Answer, what: &str) -> Result<String> {
        answer
            .header("x-restli-id")
            .map(str::to_owned)
            .or_else(|| {
                answer
                    .json::<Value>(what)
                    .ok()
                    .and_then(|b| b["$URN"].as_str().map(str::to_owned))
            })
            .ok_or_else(|| {
                PlatformError::unreadable(Platform::LinkedIn, what, "no x-restli-id header")
            })
    }
}

/// Percent-encodes a URN for a URL path or a `List(…)` (`urn:li:share:1` →
/// `urn%3Ali%3Ashare%3A1`), as LinkedIn requires.
pub fn encode_urn(urn: &str) -> String {
    let mut out = String::with_capacity(urn.len() * 2);
    for byte in urn.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[async_trait]
impl Network for LinkedInClient {
    fn platform(&self) -> Platform {
        Platform::LinkedIn
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let url = Url::parse_with_params(
            &format!("{}/oauth/v2/authorization", self.config.auth_base),
            [
                ("response_type", "code"),
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", request.redirect_uri),
                ("state", request.state),
                ("scope", SCOPES),
            ],
        )
        .ok()?;
        Some(url.into())
    }

    async fn exchange_code(
        &self,
        code: &str,
        _verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet> {
        self.token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
            "exchanging the authorization code",
        )
        .await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet> {
        // Only partner apps get refresh tokens; everyone else re-authorizes before day 60.
        let Some(refresh) = &credentials.tokens.refresh else {
            return Err(PlatformError::new(
                Platform::LinkedIn,
                ErrorKind::Auth,
                "LinkedIn tokens last 60 days and this app cannot refresh them; reconnect the account.",
            ));
        };
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
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
            .get(format!("{}/v2/userinfo", self.config.api_base))
            .bearer_auth(tokens.access.expose());
        let me: UserInfo = self.http.send(request, what).await?.json(what)?;
        Ok(Account {
            id: format!("urn:li:person:{}", me.sub),
            handle: me.name.clone().unwrap_or_else(|| me.sub.clone()),
            name: me.name,
            avatar_url: me.picture,
        })
    }

    async fn publish(&self, credentials: &Credentials, post: &NewPost) -> Result<Published> {
        let what = "publishing a post";
        let mut body = json!({
            "author": credentials.account_id,
            "commentary": escape_little_text(&post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": []
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false
        });
        let mut images = Vec::with_capacity(post.media.len());
        for media in &post.media {
            let id = self.upload(credentials, media).await?;
            // Videos carry no alt text in a post's `content.media`; images do.
            images.push(if media.mime.starts_with("video/") {
                json!({ "id": id })
            } else {
                json!({ "id": id, "altText": media.alt })
            });
        }
        match images.len() {
            0 => {}
            1 => body["content"] = json!({ "media": images[0] }),
            _ => body["content"] = json!({ "multiImage": { "images": images } }),
        }
        let request = self.rest(
            self.http
                .client
                .post(format!("{}/rest/posts", self.config.api_base))
                .json(&body),
            credentials,
        );
        let answer = self.http.send(request, what).await?;
        let urn = Self::created_urn(&answer, what)?;
        Ok(Published {
            url: Some(format!("https://www.linkedin.com/feed/update/{urn}/")),
            post: PostRef::id(urn),
        })
    }

    async fn reply(
        &self,
        credentials: &Credentials,
        parent: &PostRef,
        reply: &NewPost,
    ) -> Result<Published> {
        let what = "publishing a comment";
        let body = json!({
            "actor": credentials.account_id,
            "object": parent.id,
            "message": { "text": reply.text },
        });
        let request = self
            .http
            .client
            .post(format!(
                "{}/v2/socialActions/{}/comments",
                self.config.api_base,
                encode_urn(&parent.id)
            ))
            .bearer_auth(credentials.tokens.access.expose())
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&body);
        let answer = self.http.send(request, what).await?;
        let urn = Self::created_urn(&answer, what)?;
        Ok(Published {
            url: Some(format!(
                "https://www.linkedin.com/feed/update/{}/",
                parent.id
            )),
            post: PostRef::id(urn),
        })
    }

    async fn engagement(
        &self,
        credentials: &Credentials,
        posts: &[PostRef],
    ) -> Result<Vec<Engagement>> {
        let what = "reading engagement";
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(posts.len());
        // Rest.li batch syntax; URNs encoded, the List(…) punctuation not.
        for batch in posts.chunks(50) {
            let ids = batch
                .iter()
                .map(|p| encode_urn(&p.id))
                .collect::<Vec<_>>()
                .join(",");
            let url = format!(
                "{}/rest/socialMetadata?ids=List({ids})",
                self.config.api_base
            );
            let request = self.rest(self.http.client.get(url), credentials);
            let page: Batch = self.http.send(request, what).await?.json(what)?;
            for post in batch {
                if let Some(meta) = page.results.get(&post.id) {
                    out.push(Engagement {
                        id: post.id.clone(),
                        counts: meta.counts(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn recent_posts(
        &self,
        credentials: &Credentials,
        limit: usize,
    ) -> Result<Vec<RecentPost>> {
        let what = "listing recent posts";
        let url = format!(
            "{}/rest/posts?q=author&author={}&count={}&sortBy=LAST_MODIFIED",
            self.config.api_base,
            encode_urn(&credentials.account_id),
            limit.clamp(1, 100)
        );
        let request = self.rest(self.http.client.get(url), credentials);
        let page: Elements = self.http.send(request, what).await?.json(what)?;
        Ok(page
            .elements
            .into_iter()
            .map(|p| RecentPost {
                post: PostRef::id(p.id),
                text: p.commentary,
                created_at: p
                    .created_at
                    .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
            })
            .collect())
    }
}

/// Rest.li errors: `{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN",
/// "message":"…"}`. LinkedIn sends no rate-limit headers; its throttles are per day and reset
/// at midnight UTC, so a 429 waits until then.
fn classify(failure: &Failure<'_>) -> (ErrorKind, String) {
    let body = failure.json();
    let message = first_text(&body, &["/message", "/error_description", "/error"])
        .unwrap_or_else(|| failure.fallback_message());
    let kind = match failure.status.as_u16() {
        429 => ErrorKind::RateLimited {
            retry_at: Some(next_utc_midnight(Utc::now())),
        },
        // The token endpoint: a spent or revoked refresh token.
        400 if body["error"] == "invalid_grant" => ErrorKind::Auth,
        _ => failure.default_kind(),
    };
    (kind, message)
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VideoInit {
    value: VideoInitValue,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoInitValue {
    video: String,
    #[serde(default)]
    upload_token: String,
    upload_instructions: Vec<UploadPart>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadPart {
    upload_url: String,
    first_byte: u64,
    last_byte: u64,
}

#[derive(Debug, Deserialize)]
struct ImageInit {
    value: ImageInitValue,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageInitValue {
    upload_url: String,
    image: String,
}

#[derive(Debug, Deserialize)]
struct Batch {
    #[serde(default)]
    results: std::collections::HashMap<String, SocialMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SocialMetadata {
    #[serde(default)]
    comment_summary: Option<CommentSummary>,
    #[serde(default)]
    reaction_summaries: std::collections::HashMap<String, Reaction>,
}

impl SocialMetadata {
    fn counts(&self) -> Counts {
        Counts {
            likes: self.reaction_summaries.values().map(|r| r.count).sum(),
            comments: self.comment_summary.as_ref().map_or(0, |c| c.count),
            reposts: 0,
        }
    }
}

#[derive(Debug, Deserialize)]
struct CommentSummary {
    #[serde(default)]
    count: u64,
}

#[derive(Debug, Deserialize)]
struct Reaction {
    #[serde(default)]
    count: u64,
}

#[derive(Debug, Deserialize)]
struct Elements {
    #[serde(default)]
    elements: Vec<PostElement>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostElement {
    id: String,
    #[serde(default)]
    commentary: String,
    #[serde(default)]
    created_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_are_percent_encoded_for_paths() {
        assert_eq!(encode_urn("urn:li:share:123"), "urn%3Ali%3Ashare%3A123");
        assert_eq!(
            encode_urn("urn:li:comment:(urn:li:activity:1,2)"),
            "urn%3Ali%3Acomment%3A%28urn%3Ali%3Aactivity%3A1%2C2%29"
        );
    }

    #[test]
    fn reactions_of_every_kind_count_as_likes() {
        let meta: SocialMetadata = serde_json::from_value(json!({
            "entity": "urn:li:share:123",
            "commentsState": "OPEN",
            "commentSummary": { "count": 4, "topLevelCount": 3 },
            "reactionSummaries": {
                "LIKE": { "reactionType": "LIKE", "count": 2 },
                "EMPATHY": { "reactionType": "EMPATHY", "count": 1 }
            }
        }))
        .expect("the reference's socialMetadata example parses");
        assert_eq!(
            meta.counts(),
            Counts {
                likes: 3,
                comments: 4,
                reposts: 0
            }
        );
    }
}
