//! The HTTP plumbing every client shares: a `reqwest::Client` with timeouts, and one place that
//! turns a failed exchange into a [`PlatformError`].

use chrono::Utc;
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{ClientConfig, ErrorKind, Outbound, PlatformError, Refusal, Result, error::retry_at};
use crate::Platform;

/// A non-2xx answer, for a network's own classifier to read.
#[derive(Debug)]
pub(crate) struct Failure<'a> {
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    pub body: &'a str,
    pub method: &'a Method,
}

impl Failure<'_> {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The usual reading of a status: 429 waits for the headers' reset time, 401 is auth,
    /// 408/5xx are transient (a POST's outcome is then unknown), other 4xx are permanent.
    pub fn default_kind(&self) -> ErrorKind {
        match self.status.as_u16() {
            429 => ErrorKind::RateLimited {
                retry_at: retry_at(self.headers, Utc::now()),
            },
            401 => ErrorKind::Auth,
            408 | 500..=599 => ErrorKind::Transient {
                outcome_unknown: *self.method != Method::GET,
            },
            _ => ErrorKind::Permanent,
        }
    }

    /// A message when the body had none we could read.
    pub fn fallback_message(&self) -> String {
        let reason = self.status.canonical_reason().unwrap_or("error");
        format!("HTTP {} {reason}", self.status.as_u16())
    }
}

/// Reads a network's failure: its kind and its message.
pub(crate) type Classifier = fn(&Failure<'_>) -> (ErrorKind, String);

/// The most a network's answer may hold. Every answer OmniPlug reads is JSON about a post or
/// an account (a page of 100 records is about 100 kB); more is a broken or hostile server, and
/// reading it would only spend memory.
pub(crate) const ANSWER_LIMIT: usize = 2 * 1024 * 1024;

/// Calls in flight at once to one person-chosen server: a slow self-hosted server holds back
/// only its own accounts, never other tenants' networks.
pub(crate) const PERSON_CHOSEN_SLOTS: usize = 4;

/// One network's HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub platform: Platform,
    classify: Classifier,
    /// Set for a person-chosen server (see [`ClientConfig::outbound`]).
    outbound: Option<Outbound>,
    slots: Option<Arc<Semaphore>>,
}

impl Http {
    pub fn new(platform: Platform, config: &ClientConfig, classify: Classifier) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("OmniPlug/", env!("CARGO_PKG_VERSION")))
            // Redirects are read, never followed (OAuth), so no answer can send a call
            // somewhere the checks below did not see.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(outbound) = &config.outbound {
            builder = builder.dns_resolver(outbound.resolver()).no_proxy();
        }
        let client = builder.build().unwrap_or_else(|_| reqwest::Client::new());
        Self {
            client,
            platform,
            classify,
            outbound: config.outbound.clone(),
            slots: config
                .outbound
                .as_ref()
                .map(|_| Arc::new(Semaphore::new(PERSON_CHOSEN_SLOTS))),
        }
    }

    /// Sends `request`; any non-2xx answer or transport failure becomes a [`PlatformError`].
    /// `what` names the operation in messages ("publishing a post").
    pub async fn send(&self, request: RequestBuilder, what: &str) -> Result<Answer> {
        let (client, request) = request.build_split();
        let request = request.map_err(|err| {
            PlatformError::new(
                self.platform,
                ErrorKind::Permanent,
                format!(
                    "Could not build the request for {what}: {}",
                    err.without_url()
                ),
            )
        })?;
        let method = request.method().clone();
        if let Some(outbound) = &self.outbound {
            outbound
                .check_literal(request.url())
                .map_err(|refusal| self.refused(&refusal))?;
        }
        // Held until the answer is read; a closed semaphore never happens (it is never closed).
        let _slot = match &self.slots {
            Some(slots) => slots.clone().acquire_owned().await.ok(),
            None => None,
        };
        tracing::debug!(platform = self.platform.slug(), %method, path = request.url().path(), "calling network");
        let mut response = client
            .execute(request)
            .await
            .map_err(|err| self.transport(err, what))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = self.read_capped(&mut response, what).await?;
        if status.is_success() {
            return Ok(Answer {
                platform: self.platform,
                headers,
                body,
            });
        }
        let text = String::from_utf8_lossy(&body);
        let failure = Failure {
            status,
            headers: &headers,
            body: &text,
            method: &method,
        };
        let (kind, message) = (self.classify)(&failure);
        tracing::info!(
            platform = self.platform.slug(),
            status = status.as_u16(),
            ?kind,
            "network refused {what}"
        );
        Err(PlatformError {
            platform: self.platform,
            kind,
            status: Some(status.as_u16()),
            message,
        })
    }

    /// The answer's body, refused past [`ANSWER_LIMIT`] (by its declared length at once,
    /// else as soon as it grows past it).
    async fn read_capped(&self, response: &mut reqwest::Response, what: &str) -> Result<Vec<u8>> {
        let too_large = || {
            PlatformError::new(
                self.platform,
                ErrorKind::Transient {
                    outcome_unknown: true,
                },
                format!(
                    "{} answered {what} with more than {} MB; OmniPlug did not read it.",
                    self.platform.display_name(),
                    ANSWER_LIMIT / (1024 * 1024)
                ),
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > ANSWER_LIMIT as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.transport(err, what))?
        {
            if body.len() + chunk.len() > ANSWER_LIMIT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A person-chosen server this client will not call: permanent, with the reason.
    fn refused(&self, refusal: &Refusal) -> PlatformError {
        PlatformError::new(self.platform, ErrorKind::Permanent, refusal.to_string())
    }

    /// A transport failure: a refused connection never reached the network; a timeout or a
    /// dropped connection may have.
    fn transport(&self, err: reqwest::Error, what: &str) -> PlatformError {
        // The resolver refused the address (see `outbound`): nothing was sent.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<Refusal>() {
                return self.refused(refusal);
            }
            source = cause.source();
        }
        let err = err.without_url();
        let (outcome_unknown, message) = if err.is_connect() {
            (false, format!("Could not connect for {what}."))
        } else if err.is_timeout() {
            (true, format!("Timed out {what}."))
        } else {
            (true, format!("The connection failed while {what}: {err}"))
        };
        PlatformError::new(
            self.platform,
            ErrorKind::Transient { outcome_unknown },
            message,
        )
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    platform: Platform,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as `T`; a body that does not parse is an unreadable answer (outcome unknown).
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|err| PlatformError::unreadable(self.platform, what, err))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The `message` (or `title`/`detail`) a JSON error body carries, if any.
pub(crate) fn first_text(body: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|key| body.pointer(key).and_then(|v| v.as_str()))
        .find(|s| !s.trim().is_empty())
        .map(str::to_owned)
}
