//! `/dashboard`: what is next, what just happened, and anything that needs action.

use leptos::prelude::*;

use crate::{
    components::layout::{AppShell, EmptyState},
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
