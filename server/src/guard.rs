//! Which pages need a login: app pages send a logged-out browser to `/login?next=<page>`, and
//! the login and sign-up pages send a logged-in one to the dashboard. Decided here, before
//! rendering, so the redirect is a real 303 and no page flashes for the wrong person.

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use crate::AppState;

/// Middleware: redirects page requests by login state (see the module docs).
pub async fn redirect_by_login(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let signed_in_only = app::routes::needs_login(path);
    let signed_out_only = app::routes::SIGNED_OUT_ONLY.contains(&path);
    if !signed_in_only && !signed_out_only {
        return next.run(request).await;
    }
    let logged_in =
        match app::auth::ssr::session_from_headers(&state.stores, request.headers()).await {
            Ok(found) => found.is_some(),
            Err(err) => {
                // Let the page render; its own data calls will report the failure.
                tracing::error!(error = %err, "session lookup failed");
                return next.run(request).await;
            }
        };
    if signed_in_only && !logged_in {
        let target = request
            .uri()
            .path_and_query()
            .map_or(path, |pq| pq.as_str());
        return Redirect::to(&app::routes::login_url(target)).into_response();
    }
    if signed_out_only && logged_in {
        return Redirect::to("/dashboard").into_response();
    }
    next.run(request).await
}
