//! What protects a browser using OmniPlug: refusing state-changing requests sent from another
//! site (CSRF), and the headers every response carries (a Content-Security-Policy with a fresh
//! nonce on HTML, no framing, no MIME sniffing, a short referrer, HSTS over HTTPS).
//!
//! Browsers always send `Origin` on cross-site POSTs; requests without one (curl, API clients)
//! pass, and are authenticated by other means than the session cookie.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use app::error::{AppError, ErrorBody};
use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use omniplug_core::{
    config::AddressList,
    rate_limit::{self, ClientAddress},
};

/// Middleware: notes who is asking ([`ClientAddress`]) for the limits that count per address:
/// the peer, or the address a trusted proxy names (`OMNIPLUG_TRUSTED_PROXIES`).
pub async fn client_address(
    State(trusted): State<AddressList>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let address = rate_limit::client_address(peer.ip(), forwarded, &trusted);
        request.extensions_mut().insert(ClientAddress(address));
    }
    next.run(request).await
}

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

/// This response's CSP nonce: pages put it on their inline scripts (Leptos' hydration script
/// and streamed resources get it through `leptos::nonce`; the OAuth callback page by hand).
#[derive(Debug, Clone)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    /// 128 random bits as 32 hex digits (hex is valid in a CSP nonce, which is base64).
    fn new() -> Self {
        use ring::rand::{SecureRandom, SystemRandom};
        use std::fmt::Write;
        let mut bytes = [0u8; 16];
        if SystemRandom::new().fill(&mut bytes).is_err() {
            // The OS random source failed: a page without its nonce fails closed (its inline
            // scripts do not run), which is better than a guessable nonce.
            tracing::error!("no randomness for a CSP nonce");
        }
        let mut hex = String::with_capacity(32);
        for byte in bytes {
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex.into())
    }
}

/// What the header middleware needs to know about how it is served.
#[derive(Debug, Clone, Default)]
pub struct HeaderPolicy {
    /// Served over HTTPS (the public URL says so): send HSTS.
    pub https: bool,
    /// `cargo leptos watch` is reloading pages through a WebSocket on another port.
    pub live_reload: bool,
}

impl HeaderPolicy {
    /// The policy for a server whose public address is `public_url`.
    pub fn for_public_url(public_url: &str) -> Self {
        Self {
            https: public_url.starts_with("https://"),
            live_reload: std::env::var_os("LEPTOS_WATCH").is_some(),
        }
    }

    /// The Content-Security-Policy of an HTML page. Scripts run only from this origin or with
    /// the nonce (WebAssembly compiled from this origin's module); style attributes stay
    /// allowed, because the week grid places its current-time line with one and a style
    /// attribute cannot run code; images and video may come from a network's CDN (avatars).
    fn csp(&self, nonce: &str) -> String {
        let connect = if self.live_reload {
            "'self' ws:"
        } else {
            "'self'"
        };
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; \
             img-src 'self' data: blob: https:; media-src 'self' blob: https:; \
             connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// Middleware: a nonce for the request's page, and the protective headers on its response.
pub async fn headers(
    State(policy): State<Arc<HeaderPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = CspNonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let headers = response.headers_mut();
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Keeps `window.opener` for the OAuth popup, which comes back to this origin.
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin-allow-popups",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if policy.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if html
        && !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(&policy.csp(&nonce.0))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The last resort for a handler that panicked: the panic is logged (the request span says
/// which request) and the caller gets the usual JSON error with status 500, not a dropped
/// connection.
pub fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %detail, "a request handler panicked");
    refuse(AppError::Internal)
}

/// The largest body a form or server function may send. Uploads (their own limit) and the
/// Sandbox (its own, for simulated media) are not held to it.
pub const FORM_BODY_LIMIT: usize = 2 * 1024 * 1024;

fn too_large() -> Response {
    refuse(AppError::TooLarge(format!(
        "This request is larger than the {} MB a form may send. Shorten it, or add files through the media library.",
        FORM_BODY_LIMIT / (1024 * 1024)
    )))
}

/// Middleware: refuses a body over [`FORM_BODY_LIMIT`] with 413 and a message: at once when its
/// length says so, and while it is read otherwise (server functions read bodies whole, so
/// axum's default limit, which only its own extractors apply, does not hold them back).
pub async fn limit_body(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let exempt = path == crate::media::PATHS[0]
        || path.starts_with(omniplug_core::connections::SANDBOX_MOUNT);
    if exempt {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > FORM_BODY_LIMIT as u64) {
        return too_large();
    }
    let over = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        let over = over.clone();
        axum::body::Body::new(http_body_util::Limited::new(body, FORM_BODY_LIMIT).map_err(
            move |err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    over.store(true, Ordering::Relaxed);
                }
                err
            },
        ))
    });
    let response = next.run(request).await;
    // A body that grew past the limit while being read ends in an error answer; which one
    // depends on the reader (axum says 413, a server function 500), so say it plainly.
    if over.load(Ordering::Relaxed) {
        return too_large();
    }
    response
}

fn refuse(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ErrorBody::from(err))).into_response()
}

#[cfg(test)]
mod tests {
    use super::{CspNonce, HeaderPolicy, authority_of};

    #[test]
    fn origins_reduce_to_their_authority() {
        assert_eq!(
            authority_of("http://127.0.0.1:3000"),
            Some("127.0.0.1:3000")
        );
        assert_eq!(authority_of("https://omniplug.dev"), Some("omniplug.dev"));
        assert_eq!(authority_of("null"), None);
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_the_usual_json() {
        use axum::{Router, body::Body, http::Request, routing::get};
        use tower::ServiceExt;
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let days: Vec<u32> = Vec::new();
                    days[3].to_string()
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                super::panic_response,
            ));
        let response = router
            .oneshot(Request::get("/boom").body(Body::empty()).expect("request"))
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), 500);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["kind"], "internal");
        assert_eq!(
            body["message"],
            "Something went wrong on our side. Try again in a moment."
        );
    }

    #[test]
    fn each_page_gets_its_own_nonce_in_its_policy() {
        let (a, b) = (CspNonce::new(), CspNonce::new());
        assert_ne!(a.0, b.0);
        assert_eq!(a.0.len(), 32);
        let csp = HeaderPolicy::default().csp(&a.0);
        assert!(csp.contains(&format!("'nonce-{}'", a.0)));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(
            !csp.contains("ws:"),
            "no WebSocket outside `cargo leptos watch`"
        );
    }
}
