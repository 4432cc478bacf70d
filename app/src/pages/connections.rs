//! `/connections`: a card per network with its connected accounts; admins connect, rename,
//! check and disconnect, everyone else sees them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use omniplug_platforms::Platform;

use crate::{
    components::{
        forms::{FormError, error_text},
        layout::AppShell,
    },
    connections::{
        BeginConnect, CardStatus, CheckConnection, ConnectBluesky, ConnectSandbox, ConnectionCard,
        DisconnectConnection, NetworkOption, RenameConnection, list_connections,
    },
    session::Me,
};

fn blurb(platform: Platform) -> &'static str {
    match platform {
        Platform::X => "Posts and replies on X. You approve OmniPlug on X's own page.",
        Platform::LinkedIn => "Posts on your LinkedIn profile and comments under them.",
        Platform::Instagram => {
            "Image posts and comments on a professional (business or creator) account."
        }
        Platform::Bluesky => "Posts and replies with an app password — never your main password.",
        Platform::Sandbox => {
            "A simulated network to try the whole loop. Nothing is posted anywhere real."
        }
    }
}

/// Opens the network's consent page in a popup; without one (blocked), in this tab.
fn open_consent(url: &str) {
    let popup = window()
        .open_with_url_and_target_and_features(
            url,
            "omniplug-connect",
            "popup,width=600,height=720",
        )
        .ok()
        .flatten();
    if popup.is_none() {
        crate::components::forms::go_to(url);
    }
}

/// `/connections`
#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let me = Me::get();
    let begin = ServerAction::<BeginConnect>::new();
    let bluesky = ServerAction::<ConnectBluesky>::new();
    let sandbox = ServerAction::<ConnectSandbox>::new();
    let rename = ServerAction::<RenameConnection>::new();
    let disconnect = ServerAction::<DisconnectConnection>::new();
    let check = ServerAction::<CheckConnection>::new();
    // What the OAuth popup (or the full-page fallback) reported.
    let query = use_query_map();
    let flash = RwSignal::new(None::<(bool, String)>);
    Effect::new(move |_| {
        let q = query.get();
        if let Some(m) = q.get("connected") {
            flash.set(Some((true, m)));
        } else if let Some(m) = q.get("error") {
            flash.set(Some((false, m)));
        }
    });
    let popup_done = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::message, move |ev| {
            use leptos::wasm_bindgen::JsValue;
            let same_origin = window()
                .location()
                .origin()
                .ok()
                .is_some_and(|o| o == ev.origin());
            let data = ev.data();
            let field = |name: &str| js_sys::Reflect::get(&data, &JsValue::from_str(name)).ok();
            if !same_origin
                || field("type").and_then(|t| t.as_string()).as_deref()
                    != Some("omniplug:connected")
            {
                return;
            }
            let ok = field("ok").and_then(|v| v.as_bool()).unwrap_or(false);
            let message = field("message")
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            flash.set(Some((ok, message)));
            popup_done.update(|n| *n += 1);
        });
        on_cleanup(move || handle.remove());
    }
    Effect::new(move |_| {
        if let Some(Ok(url)) = begin.value().get() {
            open_consent(&url);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(card)) = bluesky.value().get().or_else(|| sandbox.value().get()) {
            flash.set(Some((
                true,
                format!(
                    "Connected {} on {}.",
                    card.handle,
                    card.platform.display_name()
                ),
            )));
        }
    });
    let data = Resource::new(
        move || {
            (
                popup_done.get(),
                bluesky.version().get(),
                sandbox.version().get(),
                rename.version().get(),
                disconnect.version().get(),
                check.version().get(),
            )
        },
        move |_| async move {
            let workspace = me.0.await?.and_then(|user| user.workspace);
            match workspace {
                Some(ws) => list_connections(ws.id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let action_error = Signal::derive(move || {
        [
            error_text(begin.value()).get(),
            error_text(sandbox.value()).get(),
            error_text(rename.value()).get(),
            error_text(disconnect.value()).get(),
            error_text(check.value()).get(),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    view! {
        <AppShell title="Connections">
            {move || flash.get().map(|(ok, message)| {
                let class = if ok { "form-success" } else { "form-error" };
                view! { <p class=class role="status" data-testid="connect-flash">{message}</p> }
            })}
            <FormError error=action_error />
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = match data.await {
                        Ok(Some(view)) => view,
                        Ok(None) => return view! { <p class="muted">"You are not in any workspace yet."</p> }.into_any(),
                        Err(err) => return view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any(),
                    };
                    let ws_id = StoredValue::new(view.workspace.id.clone());
                    let can_manage = view.can_manage;
                    let can_check = view.can_check;
                    let cards = view.networks.clone().into_iter().map(|network| {
                        let accounts: Vec<ConnectionCard> = view.connections.iter().filter(|c| c.platform == network.platform).cloned().collect();
                        view! {
                            <NetworkCard network accounts can_manage can_check ws_id begin bluesky sandbox rename disconnect check />
                        }
                    }).collect_view();
                    view! {
                        {(!can_manage).then(|| view! {
                            <p class="muted">"Only workspace admins and owners can connect or disconnect accounts."</p>
                        })}
                        <div class="connections">{cards}</div>
                    }.into_any()
                })}
            </Transition>
        </AppShell>
    }
}

#[component]
#[allow(clippy::too_many_arguments)]
fn NetworkCard(
    network: NetworkOption,
    accounts: Vec<ConnectionCard>,
    can_manage: bool,
    can_check: bool,
    ws_id: StoredValue<String>,
    begin: ServerAction<BeginConnect>,
    bluesky: ServerAction<ConnectBluesky>,
    sandbox: ServerAction<ConnectSandbox>,
    rename: ServerAction<RenameConnection>,
    disconnect: ServerAction<DisconnectConnection>,
    check: ServerAction<CheckConnection>,
) -> impl IntoView {
    let platform = network.platform;
    let name = platform.display_name();
    let title_id = format!("network-{}", platform.slug());
    let empty = accounts
        .is_empty()
        .then(|| view! { <p class="muted">"No account connected yet."</p> });
    let rows = accounts
        .into_iter()
        .map(|card| view! { <AccountRow card can_manage can_check ws_id begin rename disconnect check /> })
        .collect_view();
    let connect = can_manage.then(|| match platform {
        _ if !network.available => view! {
            <p class="muted" data-testid="not-configured">
                {format!("{name} is not set up on this server. Set {} and restart to connect it.", network.missing.join(" and "))}
            </p>
        }.into_any(),
        Platform::Bluesky => view! { <BlueskyForm ws_id bluesky /> }.into_any(),
        Platform::Sandbox => view! {
            <button type="button" class="button button--primary" disabled=move || sandbox.pending().get()
                on:click=move |_| { sandbox.dispatch(ConnectSandbox { workspace_id: ws_id.get_value() }); }>
                {move || if sandbox.pending().get() { "Connecting…" } else { "Connect a Sandbox account" }}
            </button>
        }.into_any(),
        _ => view! {
            <button type="button" class="button button--primary" disabled=move || begin.pending().get()
                on:click=move |_| { begin.dispatch(BeginConnect { workspace_id: ws_id.get_value(), platform: platform.slug().into() }); }>
                {format!("Connect {name}")}
            </button>
        }.into_any(),
    });
    view! {
        <section class="card network-card" aria-labelledby=title_id.clone() data-testid=format!("network-{}", platform.slug())>
            <h2 id=title_id.clone() class="card__title">
                {name}
                {platform.is_simulated().then(|| view! { <span class="badge">"Simulated"</span> })}
            </h2>
            <p class="muted">{blurb(platform)}</p>
            <ul class="connection-list">{rows}</ul>
            {empty}
            {connect}
        </section>
    }
}

#[component]
fn BlueskyForm(ws_id: StoredValue<String>, bluesky: ServerAction<ConnectBluesky>) -> impl IntoView {
    let error = error_text(bluesky.value());
    view! {
        <ActionForm action=bluesky attr:class="form form--inline-grid" attr:aria-label="Connect a Bluesky account">
            <input type="hidden" name="workspace_id" value=ws_id.get_value() />
            <label class="field">
                <span class="field__label">"Handle"</span>
                <input name="handle" required autocomplete="username" placeholder="you.bsky.social" />
            </label>
            <label class="field">
                <span class="field__label">"App password"</span>
                <input name="app_password" type="password" required autocomplete="off" placeholder="xxxx-xxxx-xxxx-xxxx" />
                <span class="field__hint">"Create one in Bluesky: Settings → Privacy and security → App passwords."</span>
            </label>
            <label class="field">
                <span class="field__label">"Server (optional)"</span>
                <input name="server" type="url" placeholder="https://bsky.social" />
                <span class="field__hint">"Only for a self-hosted PDS."</span>
            </label>
            <FormError error />
            <button type="submit" class="button button--primary" disabled=move || bluesky.pending().get()>
                {move || if bluesky.pending().get() { "Checking…" } else { "Connect Bluesky" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn AccountRow(
    card: ConnectionCard,
    can_manage: bool,
    can_check: bool,
    ws_id: StoredValue<String>,
    begin: ServerAction<BeginConnect>,
    rename: ServerAction<RenameConnection>,
    disconnect: ServerAction<DisconnectConnection>,
    check: ServerAction<CheckConnection>,
) -> impl IntoView {
    let id = StoredValue::new(card.id.clone());
    let editing = RwSignal::new(false);
    let pill = match card.status {
        CardStatus::Active => "status-pill status-pill--ok",
        CardStatus::NeedsReconnect => "status-pill status-pill--bad",
        CardStatus::Expiring => "status-pill status-pill--warn",
    };
    let oauth = matches!(
        card.platform,
        Platform::X | Platform::LinkedIn | Platform::Instagram
    );
    let needs_reconnect = card.status == CardStatus::NeedsReconnect;
    let platform_slug = card.platform.slug();
    let label = StoredValue::new(card.label.clone().unwrap_or_default());
    let display = card.name.clone();
    let history = card.history.clone();
    view! {
        <li class="connection" id=format!("connection-{}", card.id) data-testid="connection">
            <div class="connection__head">
                {card.avatar_url.clone().map(|src| view! { <img class="connection__avatar" src=src alt="" width="32" height="32" loading="lazy" /> })}
                <div class="connection__who">
                    <span class="connection__name">{card.name.clone()}</span>
                    {(card.name != card.handle).then(|| view! { " " <span class="muted">{card.handle.clone()}</span> })}
                    {card.server.clone().map(|s| view! { <span class="muted">" on " {s}</span> })}
                    <br />
                    <span class="muted">"Connected since " {card.connected_since.clone()}</span>
                </div>
                <span class=pill>{card.status_text.clone()}</span>
            </div>
            {card.problem.clone().map(|p| view! { <p class="form-error">{p}</p> })}
            <div class="connection__actions">
                {can_check.then(|| view! {
                    <button type="button" class="button button--small" on:click=move |_| {
                        check.dispatch(CheckConnection { workspace_id: ws_id.get_value(), connection_id: id.get_value() });
                    }>"Check now"</button>
                })}
                {(can_manage && oauth && needs_reconnect).then(|| view! {
                    <button type="button" class="button button--small button--primary" on:click=move |_| {
                        begin.dispatch(BeginConnect { workspace_id: ws_id.get_value(), platform: platform_slug.into() });
                    }>"Reconnect"</button>
                })}
                {can_manage.then(|| view! {
                    <button type="button" class="button button--small" on:click=move |_| editing.update(|e| *e = !*e)>"Rename"</button>
                    <button type="button" class="button button--small button--danger" aria-label=format!("Disconnect {display}") on:click=move |_| {
                        if window().confirm_with_message("Disconnect this account? Its stored credentials are deleted; published posts keep their links.").unwrap_or(false) {
                            disconnect.dispatch(DisconnectConnection { workspace_id: ws_id.get_value(), connection_id: id.get_value() });
                        }
                    }>"Disconnect"</button>
                })}
            </div>
            {move || editing.get().then(|| view! {
                <ActionForm action=rename attr:class="form form--inline" on:submit=move |_| editing.set(false)>
                    <input type="hidden" name="workspace_id" value=ws_id.get_value() />
                    <input type="hidden" name="connection_id" value=id.get_value() />
                    <label class="field">
                        <span class="field__label">"Name in OmniPlug"</span>
                        <input name="label" value=label.get_value() maxlength="100" placeholder="Leave empty to use the account's name" />
                    </label>
                    <button type="submit" class="button button--small button--primary">"Save"</button>
                </ActionForm>
            })}
            {(!history.is_empty()).then(|| view! {
                <details class="connection__history">
                    <summary>"History"</summary>
                    <ul>
                        {history.into_iter().map(|h| view! { <li><span class="muted">{h.at}</span> " " {h.text}</li> }).collect_view()}
                    </ul>
                </details>
            })}
        </li>
    }
}
