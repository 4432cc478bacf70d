//! Instagram API with Instagram Login (Graph API content publishing).
//!
//! Publishing is three steps (Meta's content-publishing guide): create a container from a
//! public image URL, wait until its `status_code` is `FINISHED`, then `media_publish` it.
//! Comments are `POST /{media-id}/comments`; counts come from the multi-id lookup
//! `GET /?ids=…&fields=like_count,comments_count`. Tokens travel in the `Authorization` header,
//! never in a URL that could end up in a log. Shapes: `../shared/reference/instagram.md`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Account, AuthorizeRequest, ClientConfig, Counts, Credentials, Engagement, ErrorKind, Media,
    Network, NewPost, PlatformError, PostRef, Published, RecentPost, Result, TokenSet,
    error::retry_at,
    http::{Failure, Http, first_text},
    oauth::{TokenAnswer, string_or_number},
};
use crate::Platform;

/// Permissions for publishing and commenting as a professional account.
pub const SCOPES: &str = "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_comments";
/// The Graph API version in every path.
pub const GRAPH_VERSION: &str = "v25.0";
/// A carousel holds at most 10 items.
pub const CAROUSEL_MAX: usize = 10;
/// How many status checks before giving up on a container (Meta: about five minutes for
/// video; images are ready at once).
const STATUS_CHECKS: usize = 30;

/// The Instagram client.
#[derive(Debug, Clone)]
pub struct InstagramClient {
    config: ClientConfig,
    http: Http,
}

impl InstagramClient {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Self {
        let http = Http::new(Platform::Instagram, &config, classify);
        Self { config, http }
    }

    /// The real Instagram: Graph API at `graph.instagram.com`, consent at
    /// `www.instagram.com`, codes traded at `api.instagram.com`.
    pub fn production(client_id: impl Into<String>, secret: super::Token) -> Self {
        let mut config =
            ClientConfig::at("https://graph.instagram.com").with_app(client_id, Some(secret));
        config.auth_base = "https://www.instagram.com".into();
        config.token_base = "https://api.instagram.com".into();
        Self::new(config)
    }

    fn graph(&self, path: &str) -> String {
        format!("{}/{GRAPH_VERSION}/{path}", self.config.api_base)
    }

    async fn container(&self, credentials: &Credentials, form: &[(&str, &str)]) -> Result<String> {
        let what = "preparing the media";
        let request = self
            .http
            .client
            .post(self.graph(&format!("{}/media", credentials.account_id)))
            .bearer_auth(credentials.tokens.access.expose())
            .form(form);
        Ok(self.http.send(request, what).await?.json::<Id>(what)?.id)
    }

    fn public_url(media: &Media) -> Result<&str> {
        media.public_url.as_deref().ok_or_else(|| {
            PlatformError::new(
                Platform::Instagram,
                ErrorKind::Permanent,
                "Instagram fetches media from a public address: set OMNIPLUG_MEDIA_PUBLIC_URL to this server's public https:// address.",
            )
        })
    }

    fn image_form(media: &Media) -> Result<Vec<(&str, &str)>> {
        let url = Self::public_url(media)?;
        let mut form = vec![("image_url", url)];
        if !media.alt.trim().is_empty() {
            form.push(("alt_text", media.alt.as_str()));
        }
        Ok(form)
    }

    /// Waits until Instagram has processed a container.
    async fn wait_until_ready(&self, credentials: &Credentials, container: &str) -> Result<()> {
        let what = "checking the media's processing";
        for _ in 0..STATUS_CHECKS {
            let request = self
                .http
                .client
                .get(self.graph(container))
                .query(&[("fields", "status_code,status")])
                .bearer_auth(credentials.tokens.access.expose());
            let status: ContainerStatus = self.http.send(request, what).await?.json(what)?;
            match status.status_code.as_str() {
                "FINISHED" | "PUBLISHED" => return Ok(()),
                "IN_PROGRESS" => tokio::time::sleep(self.config.poll_interval).await,
                "EXPIRED" => {
                    return Err(PlatformError::new(
                        Platform::Instagram,
                        ErrorKind::Transient {
                            outcome_unknown: false,
                        },
                        "The prepared media expired before publishing; it will be prepared again.",
                    ));
                }
                _ => {
                    return Err(PlatformError::new(
                        Platform::Instagram,
                        ErrorKind::Permanent,
                        format!(
                            "Instagram could not process the media: {}",
                            status.status.unwrap_or_else(|| status.status_code.clone())
                        ),
                    ));
                }
            }
        }
        Err(PlatformError::new(
            Platform::Instagram,
            ErrorKind::Transient {
                outcome_unknown: false,
            },
            "Instagram is still processing the media.",
        ))
    }

    async fn permalink(&self, credentials: &Credentials, media_id: &str) -> Option<String> {
        let request = self
            .http
            .client
            .get(self.graph(media_id))
            .query(&[("fields", "permalink")])
            .bearer_auth(credentials.tokens.access.expose());
        let answer = self
            .http
            .send(request, "reading the permalink")
            .await
            .ok()?;
        answer.json::<Value>("reading the permalink").ok()?["permalink"]
            .as_str()
            .map(str::to_owned)
    }
}

#[async_trait]
impl Network for InstagramClient {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn authorize_url(&self, request: &AuthorizeRequest<'_>) -> Option<String> {
        let url = Url::parse_with_params(
            &format!("{}/oauth/authorize", self.config.auth_base),
            [
                ("client_id", self.config.client_id.as_str()),
                ("redirect_uri", request.redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPES),
                ("state", request.state),
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
        let what = "exchanging the authorization code";
        let secret = self
            .config
            .client_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        let request = self
            .http
            .client
            .post(format!("{}/oauth/access_token", self.config.token_base))
            .form(&[
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", secret),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect_uri),
                ("code", code),
            ]);
        // Newer answers wrap the token in `data[0]`; older ones are flat.
        let body: Value = self.http.send(request, what).await?.json(what)?;
        let short: TokenAnswer =
            serde_json::from_value(body.pointer("/data/0").cloned().unwrap_or(body))
                .map_err(|err| PlatformError::unreadable(Platform::Instagram, what, err))?;
        let user_id = short.user_id.clone();
        // The code gives a one-hour token; trade it for the 60-day one at once.
        let what = "getting a long-lived token";
        let request = self
            .http
            .client
            .get(format!("{}/access_token", self.config.api_base))
            .query(&[
                ("grant_type", "ig_exchange_token"),
                ("client_secret", secret),
                ("access_token", &short.access_token),
            ]);
        let mut long = self
            .http
            .send(request, what)
            .await?
            .json::<TokenAnswer>(what)?
            .into_tokens();
        long.account_id = long.account_id.or(user_id);
        Ok(long)
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<TokenSet> {
        // Long-lived tokens refresh themselves (at least 24 hours old, not yet expired).
        let what = "refreshing the token";
        let request = self
            .http
            .client
            .get(format!("{}/refresh_access_token", self.config.api_base))
            .query(&[
                ("grant_type", "ig_refresh_token"),
                ("access_token", credentials.tokens.access.expose()),
            ]);
        let mut tokens = self
            .http
            .send(request, what)
            .await?
            .json::<TokenAnswer>(what)?
            .into_tokens();
        tokens.account_id = Some(credentials.account_id.clone());
        Ok(tokens)
    }

    async fn verify(&self, tokens: &TokenSet) -> Result<Account> {
        let what = "checking the account";
        let request = self
            .http
            .client
            .get(self.graph("me"))
            .query(&[("fields", "user_id,username,name,profile_picture_url")])
            .bearer_auth(tokens.access.expose());
        let me: Me = self.http.send(request, what).await?.json(what)?;
        Ok(Account {
            id: me.user_id.or(me.id).unwrap_or_default(),
            handle: format!("@{}", me.username),
            name: me.name,
            avatar_url: me.profile_picture_url,
        })
    }

    async fn publish(&self, credentials: &Credentials, post: &NewPost) -> Result<Published> {
        let container = match post.media.as_slice() {
            [] => {
                return Err(PlatformError::new(
                    Platform::Instagram,
                    ErrorKind::Permanent,
                    "Instagram posts need at least one image.",
                ));
            }
            // Meta's content-publishing guide: single feed videos are published as reels.
            [video] if video.mime.starts_with("video/") => {
                let url = Self::public_url(video)?;
                self.container(
                    credentials,
                    &[
                        ("media_type", "REELS"),
                        ("video_url", url),
                        ("caption", post.text.as_str()),
                    ],
                )
                .await?
            }
            [single] => {
                let mut form = Self::image_form(single)?;
                form.push(("caption", post.text.as_str()));
                self.container(credentials, &form).await?
            }
            many => {
                if many.len() > CAROUSEL_MAX {
                    return Err(PlatformError::new(
                        Platform::Instagram,
                        ErrorKind::Permanent,
                        format!("An Instagram carousel holds at most {CAROUSEL_MAX} images."),
                    ));
                }
                let mut children = Vec::with_capacity(many.len());
                for media in many {
                    let mut form = Self::image_form(media)?;
                    form.push(("is_carousel_item", "true"));
                    children.push(self.container(credentials, &form).await?);
                }
                for child in &children {
                    self.wait_until_ready(credentials, child).await?;
                }
                let children = children.join(",");
                self.container(
                    credentials,
                    &[
                        ("media_type", "CAROUSEL"),
                        ("children", &children),
                        ("caption", &post.text),
                    ],
                )
                .await?
            }
        };
        self.wait_until_ready(credentials, &container).await?;
        let what = "publishing a post";
        let request = self
            .http
            .client
            .post(self.graph(&format!("{}/media_publish", credentials.account_id)))
            .bearer_auth(credentials.tokens.access.expose())
            .form(&[("creation_id", container.as_str())]);
        let media = self.http.send(request, what).await?.json::<Id>(what)?.id;
        Ok(Published {
            url: self.permalink(credentials, &media).await,
            post: PostRef::id(media),
        })
    }

    async fn reply(
        &self,
        credentials: &Credentials,
        parent: &PostRef,
        reply: &NewPost,
    ) -> Result<Published> {
        let what = "publishing a comment";
        let request = self
            .http
            .client
            .post(self.graph(&format!("{}/comments", parent.id)))
            .bearer_auth(credentials.tokens.access.expose())
            .form(&[("message", reply.text.as_str())]);
        let id = self.http.send(request, what).await?.json::<Id>(what)?.id;
        Ok(Published {
            post: PostRef::id(id),
            url: None,
        })
    }

    async fn engagement(
        &self,
        credentials: &Credentials,
        posts: &[PostRef],
    ) -> Result<Vec<Engagement>> {
        let what = "reading engagement";
        let mut out = Vec::with_capacity(posts.len());
        // The Graph API's multi-id lookup takes up to 50 ids.
        for batch in posts.chunks(50) {
            let ids = batch
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let request = self
                .http
                .client
                .get(format!("{}/{GRAPH_VERSION}/", self.config.api_base))
                .query(&[
                    ("ids", ids.as_str()),
                    ("fields", "like_count,comments_count"),
                ])
                .bearer_auth(credentials.tokens.access.expose());
            let found: std::collections::HashMap<String, MediaCounts> =
                self.http.send(request, what).await?.json(what)?;
            for post in batch {
                if let Some(counts) = found.get(&post.id) {
                    out.push(Engagement {
                        id: post.id.clone(),
                        counts: Counts {
                            likes: counts.like_count,
                            comments: counts.comments_count,
                            reposts: 0,
                        },
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
        let limit = limit.clamp(1, 100).to_string();
        let request = self
            .http
            .client
            .get(self.graph(&format!("{}/media", credentials.account_id)))
            .query(&[
                ("fields", "id,caption,timestamp"),
                ("limit", limit.as_str()),
            ])
            .bearer_auth(credentials.tokens.access.expose());
        let page: MediaList = self.http.send(request, what).await?.json(what)?;
        Ok(page
            .data
            .into_iter()
            .map(|m| RecentPost {
                post: PostRef::id(m.id),
                text: m.caption.unwrap_or_default(),
                // Meta writes `+0000`, which RFC 3339 parsers refuse.
                created_at: m
                    .timestamp
                    .and_then(|t| DateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%z").ok())
                    .map(|d| d.with_timezone(&Utc)),
            })
            .collect())
    }
}

/// Graph errors: `{"error":{"message","type","code","error_subcode","is_transient"}}`, read by
/// code (Meta's error-code table, summarised in `../shared/reference/instagram.md` §6).
fn classify(failure: &Failure<'_>) -> (ErrorKind, String) {
    let body = failure.json();
    let error = &body["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let subcode = error["error_subcode"].as_i64().unwrap_or_default();
    let message = first_text(
        &body,
        &["/error/error_user_msg", "/error/message", "/error_message"],
    )
    .unwrap_or_else(|| failure.fallback_message());
    let kind = match (code, subcode) {
        (190, _) => ErrorKind::Auth,
        // Media not ready yet: not a rejection, try again shortly.
        (9007, _) | (_, 2_207_027) => ErrorKind::Transient {
            outcome_unknown: false,
        },
        // App, user, page and business-use-case limits; the quota of 50 posts a day.
        (4 | 17 | 32 | 613 | 80_002, _) | (9, 2_207_042) => ErrorKind::RateLimited {
            retry_at: retry_at(failure.headers, Utc::now()),
        },
        (1 | 2, _) => ErrorKind::Transient {
            outcome_unknown: *failure.method != reqwest::Method::GET,
        },
        _ if error["is_transient"] == true => ErrorKind::Transient {
            outcome_unknown: *failure.method != reqwest::Method::GET,
        },
        _ if failure.status.as_u16() == 401 => ErrorKind::Auth,
        _ if failure.status.is_server_error() || failure.status.as_u16() == 429 => {
            failure.default_kind()
        }
        _ => ErrorKind::Permanent,
    };
    (kind, message)
}

#[derive(Debug, Deserialize)]
struct Id {
    #[serde(deserialize_with = "required_id")]
    id: String,
}

fn required_id<'de, D: serde::Deserializer<'de>>(de: D) -> std::result::Result<String, D::Error> {
    string_or_number(de)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

#[derive(Debug, Deserialize)]
struct ContainerStatus {
    status_code: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Me {
    #[serde(default, deserialize_with = "string_or_number")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    id: Option<String>,
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MediaCounts {
    #[serde(default)]
    like_count: u64,
    #[serde(default)]
    comments_count: u64,
}

#[derive(Debug, Deserialize)]
struct MediaList {
    #[serde(default)]
    data: Vec<MediaItem>,
}

#[derive(Debug, Deserialize)]
struct MediaItem {
    id: String,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, StatusCode, header::HeaderMap};

    use super::*;

    fn read(status: u16, body: &str) -> (ErrorKind, String) {
        let headers = HeaderMap::new();
        let status = StatusCode::from_u16(status).expect("status");
        classify(&Failure {
            status,
            headers: &headers,
            body,
            method: &Method::POST,
        })
    }

    /// The error bodies quoted in `../shared/reference/instagram.md`.
    #[test]
    fn graph_errors_are_read_by_code() {
        let (kind, message) = read(
            400,
            r#"{"error":{"message":"Error validating access token: Session has expired on Friday.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}"#,
        );
        assert_eq!(kind, ErrorKind::Auth);
        assert!(message.starts_with("Error validating access token"));

        let (kind, message) = read(
            400,
            r#"{"error":{"message":"Media ID is not available","type":"OAuthException","code":9007,"error_subcode":2207027,"is_transient":false,"error_user_title":"Media not ready for publishing","error_user_msg":"The media is not ready for publishing, please wait."}}"#,
        );
        assert_eq!(
            kind,
            ErrorKind::Transient {
                outcome_unknown: false
            },
            "media not ready is not a rejection"
        );
        assert_eq!(
            message,
            "The media is not ready for publishing, please wait."
        );

        let (kind, _) = read(
            400,
            r#"{"error":{"code":9,"error_subcode":2207042,"message":"quota","type":"OAuthException"}}"#,
        );
        assert!(
            matches!(kind, ErrorKind::RateLimited { .. }),
            "the 24-hour publishing quota waits"
        );
        let (kind, _) = read(
            400,
            r#"{"error":{"code":80002,"message":"(#80002) There have been too many calls to this Instagram account.","type":"OAuthException"}}"#,
        );
        assert!(matches!(kind, ErrorKind::RateLimited { .. }));
        let (kind, _) = read(
            500,
            r#"{"error":{"code":2,"message":"Service temporarily unavailable","is_transient":true}}"#,
        );
        assert_eq!(
            kind,
            ErrorKind::Transient {
                outcome_unknown: true
            }
        );
        let (kind, message) = read(
            400,
            r#"{"error":{"code":100,"message":"Invalid parameter","type":"OAuthException"}}"#,
        );
        assert_eq!(
            (kind, message.as_str()),
            (ErrorKind::Permanent, "Invalid parameter")
        );
        let (kind, message) = read(502, "<html>Bad Gateway</html>");
        assert_eq!(
            (kind, message.as_str()),
            (
                ErrorKind::Transient {
                    outcome_unknown: true
                },
                "HTTP 502 Bad Gateway"
            )
        );
    }
}
