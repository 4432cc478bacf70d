//! The error every server function returns: a message a person can act on, and on the server,
//! the HTTP status it is sent with.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What went wrong, in words for the person using the app.
///
/// On the wire it is `{"kind": "...", "message": "...", "retry_after_secs": n?, "fields": [...]?}`,
/// so API clients get the same sentence the interface shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ErrorBody", try_from = "ErrorBody")]
pub enum AppError {
    /// Input the person can correct (400).
    #[error("{0}")]
    Invalid(String),
    /// Several fields to correct, each with its sentence (400), for forms that show them in
    /// place. The message is the first one.
    #[error("{}", .0.first().map_or("Check the form.", |f| f.message.as_str()))]
    InvalidFields(Vec<FieldMessage>),
    /// Changed by someone else since it was loaded (409).
    #[error("{0}")]
    Conflict(String),
    /// Wrong e-mail or password (401).
    #[error("{0}")]
    WrongCredentials(String),
    /// Not logged in, or the session ended (401).
    #[error("Log in to continue.")]
    Unauthenticated,
    /// Outside the caller's workspaces, or gone (404).
    #[error("Not found.")]
    NotFound,
    /// A role too low for the action (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts (429).
    #[error("Too many attempts. Try again in {}.", wait_label(*.0))]
    RateLimited(u64),
    /// An upload bigger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// An upload of a type OmniPlug does not take (415).
    #[error("{0}")]
    Unsupported(String),
    /// A network OmniPlug talks to is down or limiting us (503); the message names it.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault; details are in the server log, not here (500).
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal,
    /// The request could not be read or sent (network, encoding).
    #[error("Could not reach OmniPlug: {0}")]
    Request(String),
}

/// A wait as people say it: "40 s", "15 min", "1 h 5 min".
pub fn wait_label(secs: u64) -> String {
    if secs < 60 {
        return format!("{} s", secs.max(1));
    }
    let minutes = secs.div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

impl AppError {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) | AppError::InvalidFields(_) | AppError::Request(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::WrongCredentials(_) | AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::RateLimited(_) => 429,
            AppError::TooLarge(_) => 413,
            AppError::Unsupported(_) => 415,
            AppError::Unavailable(_) => 503,
            AppError::Internal => 500,
        }
    }
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMessage {
    /// The form field (`text`, `plugs.x.value`, `scheduled_at`, …).
    pub field: String,
    /// What to change.
    pub message: String,
}

/// The JSON shape of an [`AppError`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable kind, e.g. `invalid`, `rate_limited`.
    pub kind: String,
    /// The sentence for people.
    pub message: String,
    /// For `rate_limited`: seconds until the next attempt is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// For `invalid` answers about several fields: each one's problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMessage>,
}

impl From<AppError> for ErrorBody {
    fn from(err: AppError) -> Self {
        let kind = match &err {
            AppError::Invalid(_) | AppError::InvalidFields(_) => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::WrongCredentials(_) => "wrong_credentials",
            AppError::Unauthenticated => "unauthenticated",
            AppError::NotFound => "not_found",
            AppError::Forbidden(_) => "forbidden",
            AppError::RateLimited(_) => "rate_limited",
            AppError::TooLarge(_) => "too_large",
            AppError::Unsupported(_) => "unsupported",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal => "internal",
            AppError::Request(_) => "request",
        };
        let retry_after_secs = match &err {
            AppError::RateLimited(secs) => Some(*secs),
            _ => None,
        };
        let fields = match &err {
            AppError::InvalidFields(fields) => fields.clone(),
            _ => Vec::new(),
        };
        ErrorBody {
            kind: kind.to_owned(),
            message: err.to_string(),
            retry_after_secs,
            fields,
        }
    }
}

impl TryFrom<ErrorBody> for AppError {
    type Error = String;

    fn try_from(body: ErrorBody) -> Result<Self, Self::Error> {
        Ok(match body.kind.as_str() {
            "invalid" if !body.fields.is_empty() => AppError::InvalidFields(body.fields),
            "invalid" => AppError::Invalid(body.message),
            "conflict" => AppError::Conflict(body.message),
            "wrong_credentials" => AppError::WrongCredentials(body.message),
            "unauthenticated" => AppError::Unauthenticated,
            "not_found" => AppError::NotFound,
            "forbidden" => AppError::Forbidden(body.message),
            "rate_limited" => AppError::RateLimited(body.retry_after_secs.unwrap_or(60)),
            "unavailable" => AppError::Unavailable(body.message),
            "too_large" => AppError::TooLarge(body.message),
            "unsupported" => AppError::Unsupported(body.message),
            "internal" => AppError::Internal,
            "request" => AppError::Request(
                body.message
                    .strip_prefix("Could not reach OmniPlug: ")
                    .map(str::to_owned)
                    .unwrap_or(body.message),
            ),
            other => return Err(format!("unknown error kind {other:?}")),
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Raised on the server before the function runs: the request itself is malformed.
            // That is the caller's mistake, so it is a 400 that names what is wrong.
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                let err = AppError::Invalid(format!(
                    "The request is missing a field or has one in the wrong format ({detail})."
                ));
                #[cfg(feature = "ssr")]
                let err = ssr::fail(err);
                err
            }
            other => AppError::Request(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_people_say_them() {
        let said = [0, 59, 60, 61, 900, 3541, 3600, 3660, 7200]
            .map(wait_label)
            .join(", ");
        assert_eq!(
            said,
            "1 s, 59 s, 1 min, 2 min, 15 min, 1 h, 1 h, 1 h 1 min, 2 h"
        );
    }

    #[test]
    fn errors_round_trip_through_json_with_their_message() {
        let all = [
            AppError::Invalid("Enter your name.".into()),
            AppError::InvalidFields(vec![FieldMessage {
                field: "text".into(),
                message: "Write something first.".into(),
            }]),
            AppError::Conflict("Reload it.".into()),
            AppError::WrongCredentials("No match.".into()),
            AppError::Unauthenticated,
            AppError::NotFound,
            AppError::Forbidden("Ask an admin.".into()),
            AppError::RateLimited(42),
            AppError::TooLarge("Too big.".into()),
            AppError::Unsupported("Not an image.".into()),
            AppError::Unavailable("X could not be reached; try again in a moment.".into()),
            AppError::Internal,
            AppError::Request("offline".into()),
        ];
        for err in all {
            let json = serde_json::to_value(&err).expect("serialize");
            assert_eq!(json["message"], err.to_string(), "{json}");
            let back: AppError = serde_json::from_value(json).expect("deserialize");
            assert_eq!(back, err);
        }
        let limited = serde_json::to_value(AppError::RateLimited(42)).expect("serialize");
        assert_eq!(limited["retry_after_secs"], 42);
    }
}

/// Server-side helpers: give an error its HTTP status, and log internal causes.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::AppError;
    use leptos::prelude::use_context;

    /// Sets the response status for `err` and returns it, for `return Err(fail(...))`.
    ///
    /// Only when answering a server-function call: a page whose data fails during server
    /// rendering still renders (showing the message) with its own status.
    pub fn fail(err: AppError) -> AppError {
        let server_fn_call = use_context::<http::request::Parts>()
            .is_some_and(|parts| parts.uri.path().starts_with("/api/"));
        if server_fn_call
            && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = http::StatusCode::from_u16(err.status())
        {
            response.set_status(status);
            if let AppError::RateLimited(secs) = &err {
                response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(*secs));
            }
        }
        err
    }

    /// Maps a workspace service refusal to what the person sees.
    pub fn workspace_error(err: omniplug_core::workspaces::WorkspaceError) -> AppError {
        use omniplug_core::workspaces::WorkspaceError as E;
        match err {
            E::NotFound => fail(AppError::NotFound),
            E::Forbidden { .. } => fail(AppError::Forbidden(err.to_string())),
            E::Database(cause) => internal(cause),
            other => fail(AppError::Invalid(other.to_string())),
        }
    }

    /// Maps a media library refusal to what the person sees.
    pub fn media_error(err: omniplug_core::media::MediaError) -> AppError {
        use omniplug_core::media::MediaError as E;
        match err {
            E::NotFound => fail(AppError::NotFound),
            E::Forbidden { .. } => fail(AppError::Forbidden(err.to_string())),
            E::TooLarge(message) => fail(AppError::TooLarge(message)),
            E::Unsupported(message) => fail(AppError::Unsupported(message)),
            E::InUse(message) => fail(AppError::Conflict(message)),
            E::Storage(cause) => internal(cause),
            E::Database(cause) => internal(cause),
        }
    }

    /// Maps a post service refusal to what the person sees.
    pub fn post_error(err: omniplug_core::posts::PostError) -> AppError {
        use omniplug_core::posts::PostError as E;
        match err {
            E::NotFound => fail(AppError::NotFound),
            E::Forbidden { .. } => fail(AppError::Forbidden(err.to_string())),
            E::Invalid(fields) => fail(AppError::InvalidFields(
                fields
                    .into_iter()
                    .map(|f| super::FieldMessage {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            )),
            E::Conflict | E::Locked(_) => fail(AppError::Conflict(err.to_string())),
            E::Database(cause) => internal(cause),
        }
    }

    /// Maps a connection service refusal to what the person sees.
    pub fn connection_error(err: omniplug_core::connections::ConnectionError) -> AppError {
        use omniplug_core::connections::ConnectionError as E;
        use omniplug_platforms::clients::ErrorKind;
        match err {
            E::NotFound => fail(AppError::NotFound),
            E::Forbidden { .. } => fail(AppError::Forbidden(err.to_string())),
            E::Network(ref cause) if cause.is_retryable() => {
                fail(AppError::Unavailable(err.to_string()))
            }
            E::Network(ref cause) if cause.kind == ErrorKind::Auth => {
                fail(AppError::Invalid(err.to_string()))
            }
            E::Database(cause) => internal(cause),
            E::Vault(cause) => internal(cause),
            other => fail(AppError::Invalid(other.to_string())),
        }
    }

    /// Maps an identity service refusal to what the person sees.
    pub fn identity_error(err: omniplug_core::identity::ServiceError) -> AppError {
        match err {
            omniplug_core::identity::ServiceError::Invalid(err) => {
                fail(AppError::Invalid(err.to_string()))
            }
            other => internal(other),
        }
    }

    /// Logs an unexpected failure with its cause and returns the generic 500 error.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "server function failed");
        fail(AppError::Internal)
    }
}
