//! OmniPlug's user interface: one Leptos app rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`). Server functions live beside the components that call them; their
//! server-only parts sit behind `#[cfg(feature = "ssr")]`.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod auth;
pub mod calendar;
pub mod components;
pub mod connections;
pub mod error;
pub mod media;
pub mod pages;
pub mod posts;
pub mod routes;
pub mod session;
pub mod status;
pub mod workspaces;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::pages::{
    account::{LoginPage, SignupPage},
    analytics::AnalyticsPage,
    compose::ComposePage,
    connections::ConnectionsPage,
    dashboard::DashboardPage,
    invite::InvitePage,
    landing::LandingPage,
    not_found::NotFoundPage,
    schedule::SchedulePage,
    settings::{MembersPage, SettingsPage, WorkspaceSettingsPage},
};

/// The HTML document around the app, rendered once per request on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="description" content="Write once, schedule everywhere, and plug your product automatically when a post takes off." />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The root component: routes and document metadata.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::Me::provide();

    // Runs only in the browser, once hydration has wired up the page. End-to-end tests wait
    // for this marker before interacting, so they never click a not-yet-live button.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/omniplug.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "OmniPlug".to_owned() } else { format!("{title} · OmniPlug") }
        } />
        <crate::components::toast::Toaster>
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("") view=LandingPage />
                <Route path=path!("dashboard") view=DashboardPage />
                <Route path=path!("compose") view=ComposePage />
                <Route path=path!("schedule") view=SchedulePage />
                <Route path=path!("posts") view=pages::posts::PostsPage />
                <Route path=path!("posts/:id") view=pages::posts::PostPage />
                <Route path=path!("library") view=pages::library::LibraryPage />
                <Route path=path!("analytics") view=AnalyticsPage />
                <Route path=path!("connections") view=ConnectionsPage />
                <Route path=path!("settings") view=SettingsPage />
                <Route path=path!("settings/workspace") view=WorkspaceSettingsPage />
                <Route path=path!("settings/members") view=MembersPage />
                <Route path=path!("login") view=LoginPage />
                <Route path=path!("signup") view=SignupPage />
                <Route path=path!("invite/:token") view=InvitePage />
            </Routes>
        </Router>
        </crate::components::toast::Toaster>
    }
}
