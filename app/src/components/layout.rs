//! The signed-in app frame: a sidebar with the sections, and a main area with a title row.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{
    forms::{go_to, reload},
    icons::{Icon, IconKind},
};
use crate::{auth::LogOut, session::Me, workspaces::SwitchWorkspace};

/// The sections in the sidebar, in order: (path, label, icon).
pub const SECTIONS: [(&str, &str, IconKind); 8] = [
    ("/dashboard", "Dashboard", IconKind::Dashboard),
    ("/compose", "Compose", IconKind::Compose),
    ("/schedule", "Schedule", IconKind::Schedule),
    ("/posts", "Posts", IconKind::Posts),
    ("/library", "Media", IconKind::Media),
    ("/analytics", "Analytics", IconKind::Analytics),
    ("/connections", "Connections", IconKind::Connections),
    ("/settings", "Settings", IconKind::Settings),
];

/// Wraps an app page: sidebar on the left (collapsible to icons), page title row, content.
#[component]
pub fn AppShell(
    /// Shown in the title row and the browser tab.
    #[prop(into)]
    title: String,
    /// The page's primary action, shown at the right of the title row.
    #[prop(optional)]
    action: Option<AnyView>,
    children: Children,
) -> impl IntoView {
    let (collapsed, set_collapsed) = signal(false);
    // The server redirects logged-out page loads; this catches in-app navigation and sessions
    // that end while a page is open.
    let me = Me::get();
    Effect::new(move |_| {
        if let Some(Ok(None)) = me.0.get() {
            let location = window().location();
            let here = format!(
                "{}{}",
                location.pathname().unwrap_or_default(),
                location.search().unwrap_or_default()
            );
            go_to(&crate::routes::login_url(&here));
        }
    });
    let tab_title = title.clone();
    view! {
        <Title text=tab_title />
        <div class="app" class:app--collapsed=move || collapsed.get()>
            <aside class="sidebar" aria-label="Main">
                <div class="sidebar__top">
                    <a class="brand" href="/" aria-label="OmniPlug home">
                        <Icon kind=IconKind::Logo size=22 />
                        <span class="brand__name">"OmniPlug"</span>
                    </a>
                    <button
                        type="button"
                        class="icon-button sidebar__toggle"
                        aria-controls="sidebar-nav"
                        aria-expanded=move || (!collapsed.get()).to_string()
                        title=move || if collapsed.get() { "Expand sidebar" } else { "Collapse sidebar" }
                        on:click=move |_| set_collapsed.update(|c| *c = !*c)
                    >
                        <Icon kind=IconKind::Menu label="Toggle sidebar" />
                    </button>
                </div>
                <nav id="sidebar-nav" class="sidebar__nav">
                    <ul>
                        {SECTIONS
                            .into_iter()
                            .map(|(href, label, icon)| {
                                view! {
                                    <li>
                                        <A href=href attr:class="nav-link" attr:title=label>
                                            <Icon kind=icon />
                                            <span class="nav-link__label">{label}</span>
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <AccountPanel />
            </aside>
            <main class="main" id="main">
                <header class="page-header">
                    <h1 class="page-title">{title}</h1>
                    {action}
                </header>
                <div class="page-body">{children()}</div>
            </main>
        </div>
    }
}

/// A teaching empty state: what this place is for and the next step.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(into)] body: String,
    /// Optional call to action: (label, href).
    #[prop(optional)]
    action: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    view! {
        <section class="empty-state card">
            <h2>{title}</h2>
            <p class="muted">{body}</p>
            {action.map(|(label, href)| view! { <a class="button button--primary" href=href>{label}</a> })}
        </section>
    }
}

/// Bottom of the sidebar: the workspace switcher, who is logged in, and logging out.
#[component]
fn AccountPanel() -> impl IntoView {
    let me = Me::get();
    let switch = ServerAction::<SwitchWorkspace>::new();
    let log_out = ServerAction::<LogOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = switch.value().get() {
            reload();
        }
    });
    Effect::new(move |_| {
        if log_out.value().get().is_some() {
            go_to("/login");
        }
    });
    view! {
        <div class="account">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.0.await.ok().flatten().map(|user| {
                        let current = user.workspace.as_ref().map(|w| w.id.clone()).unwrap_or_default();
                        view! {
                            <label class="account__workspace">
                                <span class="field__label">"Workspace"</span>
                                <select
                                    aria-label="Switch workspace"
                                    on:change=move |ev| {
                                        let id = event_target_value(&ev);
                                        if id == "__new" {
                                            go_to("/settings/workspace#new-workspace-title");
                                        } else {
                                            switch.dispatch(SwitchWorkspace { workspace_id: id });
                                        }
                                    }
                                >
                                    {user.workspaces.iter().map(|w| {
                                        let selected = w.id == current;
                                        view! { <option value=w.id.clone() selected=selected>{w.name.clone()}</option> }
                                    }).collect_view()}
                                    <option value="__new">"+ New workspace…"</option>
                                </select>
                            </label>
                            <div class="account__user">
                                <span class="avatar" aria-hidden="true">{initial(&user.name)}</span>
                                <span class="account__name" title=user.email.clone()>{user.name.clone()}</span>
                                <button type="button" class="button button--small" on:click=move |_| { log_out.dispatch(LogOut {}); }>
                                    "Log out"
                                </button>
                            </div>
                        }
                    })
                })}
            </Transition>
        </div>
    }
}

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}
