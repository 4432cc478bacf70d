//! Refuses state-changing requests that a browser sent from another site (CSRF). Browsers
//! always send `Origin` on cross-site POSTs; requests without one (curl, API clients) pass,
//! and are authenticated by other means than the session cookie.

use axum::{
    Json,
    extract::Request,
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Middleware: 403 for a non-GET request whose `Origin` is not this server.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && let Some(origin) = request.headers().get(header::ORIGIN) {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let same = origin
            .to_str()
            .ok()
            .and_then(authority_of)
            .is_some_and(|a| Some(a) == host);
        if !same {
            tracing::warn!(origin = ?origin, "refused a cross-site request");
            return (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({
                    "kind": "forbidden",
                    "message": "This request came from another site and was refused.",
                })),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// `https://example.com:8443` → `example.com:8443`; `null` and other non-URLs → `None`.
fn authority_of(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then_some(authority)
}

#[cfg(test)]
mod tests {
    use super::authority_of;

    #[test]
    fn origins_reduce_to_their_authority() {
        assert_eq!(
            authority_of("http://127.0.0.1:3000"),
            Some("127.0.0.1:3000")
        );
        assert_eq!(authority_of("https://omniplug.dev"), Some("omniplug.dev"));
        assert_eq!(authority_of("null"), None);
    }
}
