//! `/dashboard`: what is next, what just happened, and anything that needs action.

use leptos::prelude::*;

use crate::{
    components::{
        layout::AppShell,
        post::{NetworkMark, StatusPill, first_words},
    },
    connections::{CardStatus, list_connections},
    posts::{DashboardView, PostSummary, get_dashboard},
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
    let board = Resource::new(
        || (),
        move |_| async move {
            match me.workspace_id().await {
                Ok(ws) => get_dashboard(ws).await.map(Some),
                Err(crate::error::AppError::NotFound) => Ok(None),
                Err(err) => Err(err),
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
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading your numbers…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        Ok(Some(d)) => view! { <Board d /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
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
        </AppShell>
    }
}

/// "X and Bluesky".
fn networks_in_words(post: &PostSummary) -> String {
    let mut names: Vec<&str> = post
        .targets
        .iter()
        .filter_map(|t| omniplug_platforms::Platform::from_slug(&t.platform))
        .map(omniplug_platforms::Platform::display_name)
        .collect();
    names.dedup();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The workspace's numbers: next up, what just happened, this month, and what needs action.
#[component]
fn Board(d: DashboardView) -> impl IntoView {
    let trouble = d
        .trouble
        .iter()
        .map(|p| {
            let what = if p.status == "MISSED" { "was missed" } else { "failed" };
            let reason = p
                .targets
                .iter()
                .find_map(|t| t.fail_reason.clone())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            view! {
                <p class="banner banner--error" role="alert" data-testid="trouble-banner">
                    {format!("“{}” {what}{reason}. ", first_words(&p.text, 50))}
                    <a class="button button--small" href=format!("/schedule?post={}", p.id)>"Fix it"</a>
                </p>
            }
        })
        .collect_view();
    let next = d.upcoming.first().cloned();
    let next_card = match next {
        Some(p) => view! {
            <section class="card next-up" data-testid="next-up">
                <h2 class="card__title">"Next up"</h2>
                <p class="next-up__when">
                    {format!("Next post: {} on {}", p.local_label.clone().unwrap_or_default(), networks_in_words(&p))}
                </p>
                <p class="next-up__text">{first_words(&p.text, 160)}</p>
                <a class="button button--small" href=format!("/schedule?post={}", p.id)>"Open"</a>
            </section>
        }
        .into_any(),
        None => view! {
            <section class="card next-up empty-state" data-testid="next-up">
                <h2 class="card__title">"Nothing scheduled yet"</h2>
                <p class="muted">"Posts you schedule show up here with their next publish time, and plugs as they fire."</p>
                <a class="button button--primary" href="/compose">"Write your first post"</a>
            </section>
        }
        .into_any(),
    };
    let mut feed: Vec<(String, AnyView)> = d
        .recent
        .iter()
        .map(|p| {
            let link = p.targets.iter().find_map(|t| t.url.clone());
            (
                p.published_at.clone().unwrap_or_default(),
                view! {
                    <li class="feed__item">
                        <StatusPill status=p.status.clone() />
                        <span>{format!(" {} · ", p.local_label.clone().unwrap_or_default())}</span>
                        <a href=format!("/posts/{}", p.id)>{first_words(&p.text, 70)}</a>
                        {link.map(|u| view! { " " <a class="muted" href=u target="_blank" rel="noopener">"live post"</a> })}
                    </li>
                }
                .into_any(),
            )
        })
        .collect();
    feed.extend(d.plugs_fired.iter().map(|f| {
        (
            String::new(),
            view! {
                <li class="feed__item">
                    <NetworkMark slug=f.platform.clone() />
                    {format!(" Plug fired {} under “{}” ", f.fired_label, first_words(&f.post_text, 50))}
                    {f.url.clone().map(|u| view! { <a href=u target="_blank" rel="noopener">"View reply"</a> })}
                </li>
            }
            .into_any(),
        )
    }));
    let feed_empty = feed.is_empty();
    let upcoming_empty = d.upcoming.is_empty();
    let upcoming = d
        .upcoming
        .iter()
        .map(|p| {
            view! {
                <li class="feed__item">
                    <span class="muted">{p.local_label.clone().unwrap_or_default()}</span>
                    " " <a href=format!("/schedule?post={}", p.id)>{first_words(&p.text, 70)}</a>
                </li>
            }
        })
        .collect_view();
    view! {
        {trouble}
        <div class="tiles">
            <div class="tile"><span class="tile__value" data-testid="tile-published">{d.month_published}</span><span class="tile__label">"Published this month"</span></div>
            <div class="tile"><span class="tile__value" data-testid="tile-plugs">{d.month_plugs}</span><span class="tile__label">"Plugs fired"</span></div>
            <div class="tile"><span class="tile__value" data-testid="tile-failed">{d.month_failed}</span><span class="tile__label">"Failed or missed"</span></div>
            <div class="tile"><span class="tile__value" data-testid="tile-streak">{d.streak_days}</span><span class="tile__label">{if d.streak_days == 1 { "Day streak" } else { "Days streak" }}</span></div>
        </div>
        <div class="dash-grid">
            {next_card}
            <section class="card">
                <h2 class="card__title">"Just happened"</h2>
                {if feed_empty {
                    view! { <p class="muted">"Published posts and fired plugs appear here."</p> }.into_any()
                } else {
                    view! { <ul class="feed">{feed.into_iter().map(|(_, v)| v).collect_view()}</ul> }.into_any()
                }}
            </section>
            <section class="card">
                <h2 class="card__title">"Upcoming"</h2>
                {upcoming_empty.then(|| view! { <p class="muted">"Nothing scheduled."</p> })}
                <ul class="feed">{upcoming}</ul>
                <a href="/schedule">"Open the calendar"</a>
            </section>
        </div>
    }
}
