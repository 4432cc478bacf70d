//! `/dashboard`: what is next, what just happened, and anything that needs action.

use leptos::prelude::*;

use crate::{
    components::layout::{AppShell, EmptyState},
    connections::{CardStatus, list_connections},
    session::Me,
    status::get_system_status,
};

/// `/dashboard`
#[component]
pub fn DashboardPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_system_status());
    let action =
        view! { <a class="button button--primary" href="/compose">"New post"</a> }.into_any();

    let me = Me::get();
    // Accounts that need someone's attention: reconnect now, or soon.
    let connections = Resource::new(
        || (),
        move |_| async move {
            let workspace = me.0.await?.and_then(|user| user.workspace);
            match workspace {
                Some(ws) => list_connections(ws.id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <AppShell title="Dashboard" action=action>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.0.await.ok().flatten().map(|user| {
                        let first = user.name.split_whitespace().next().unwrap_or(&user.name).to_owned();
                        let place = user.workspace.map_or_else(
                            || "You are not in a workspace yet.".to_owned(),
                            |w| format!("You are in {} as {}.", w.name, w.role),
                        );
                        view! {
                            <p class="welcome">
                                <strong>{format!("Welcome, {first}.")}</strong> " "
                                <span class="muted" data-testid="current-workspace">{place}</span>
                            </p>
                        }
                    })
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let Ok(Some(view)) = connections.await else { return ().into_any() };
                    if view.connections.is_empty() {
                        return view! {
                            <p class="banner banner--warn" role="status" data-testid="connect-prompt">
                                "Connect an account to start posting — the Sandbox network works in one click. "
                                <a href="/connections">"Go to Connections"</a>
                            </p>
                        }.into_any();
                    }
                    view.connections
                        .into_iter()
                        .filter(|c| c.status != CardStatus::Active)
                        .map(|c| {
                            let network = c.platform.display_name();
                            let text = match c.status {
                                CardStatus::NeedsReconnect => format!(
                                    "{network} account {} needs reconnecting{}.",
                                    c.handle,
                                    c.problem.as_deref().map(|p| format!(": {p}")).unwrap_or_default()
                                ),
                                _ => format!("{network} account {}: {}.", c.handle, c.status_text.to_lowercase()),
                            };
                            let class = if c.status == CardStatus::NeedsReconnect { "banner banner--error" } else { "banner banner--warn" };
                            view! {
                                <p class=class role="alert" data-testid="connection-banner">
                                    {text} " " <a href=format!("/connections#connection-{}", c.id)>"Reconnect"</a>
                                </p>
                            }
                        })
                        .collect_view()
                        .into_any()
                })}
            </Transition>
            <section class="card system-status" aria-labelledby="system-status-title">
                <h2 id="system-status-title" class="card__title">"System"</h2>
                <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Checking…"</p> }>
                    {move || Suspend::new(async move {
                        match status.await {
                            Ok(s) => {
                                let class = if s.all_good() { "banner banner--ok" } else { "banner banner--warn" };
                                view! { <p class=class role="status">{s.summary()}</p> }.into_any()
                            }
                            Err(_) => {
                                view! {
                                    <p class="banner banner--error" role="alert">
                                        "Could not reach the server. Check your connection and reload."
                                    </p>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
            <EmptyState
                title="Nothing scheduled yet"
                body="Posts you schedule show up here with their next publish time, and plugs as they fire."
                action=("Write your first post", "/compose")
            />
        </AppShell>
    }
}
