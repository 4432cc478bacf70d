//! The page for any unknown address, served with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

/// Any path no route matches.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <main class="not-found" id="main">
            <p class="not-found__code" aria-hidden="true">"404"</p>
            <h1>"This page does not exist"</h1>
            <p class="muted">"The link may be old or mistyped. Nothing was changed."</p>
            <div class="hero__actions">
                <a class="button button--primary" href="/dashboard">"Go to the dashboard"</a>
                <a class="button" href="/">"Home"</a>
            </div>
        </main>
    }
}
