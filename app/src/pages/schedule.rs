//! `/schedule`: the calendar. A week (time grid, 30-minute rows, current-time line) or a month
//! (days with up to three chips and "+N more") in the person's time zone. Dragging a post to
//! another slot or day reschedules it at once on screen and through `reschedule_post`; a
//! refusal puts it back with the reason. Clicking a post opens the drawer with its details
//! and actions (`?post=<id>` opens it on load).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    calendar::{CalendarView, DayCell, get_calendar},
    components::{
        layout::AppShell,
        post::{NetworkMark, PostDetails, editable, first_words, status_class},
        toast::{Toasts, Tone},
    },
    error::AppError,
    posts::{PostSummary, get_post, reschedule_post},
    session::Me,
};

/// Height of a 30-minute row in the week grid, in pixels (kept in step with the CSS).
const ROW_PX: u32 = 24;

/// `/schedule`
#[component]
pub fn SchedulePage() -> impl IntoView {
    let me = Me::get();
    let query = use_query_map();
    let view_kind = move || {
        query
            .with(|q| q.get("view"))
            .filter(|v| v == "month")
            .unwrap_or_else(|| "week".into())
    };
    let day = move || query.with(|q| q.get("day")).unwrap_or_default();
    // A day the calendar refuses is a bad address: the page says why, with status 400.
    #[cfg(feature = "ssr")]
    {
        let raw = query.with_untracked(|q| q.get("day")).unwrap_or_default();
        if !raw.trim().is_empty()
            && crate::calendar::ssr::calendar_day(&raw).is_err()
            && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        {
            response.set_status(http::StatusCode::BAD_REQUEST);
        }
    }
    let open = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(id) = query.with(|q| q.get("post")).filter(|id| !id.is_empty()) {
            open.set(Some(id));
        }
    });
    // The open post is part of the address, so a reload (or a shared link) shows it again.
    let navigate = use_navigate();
    Effect::new(move |before: Option<Option<String>>| {
        let now = open.get();
        if before.is_some_and(|b| b != now) {
            let mut url = format!("/schedule?view={}", view_kind());
            let day = day();
            if !day.is_empty() {
                url.push_str(&format!("&day={day}"));
            }
            if let Some(id) = &now {
                url.push_str(&format!("&post={id}"));
            }
            navigate(
                &url,
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..NavigateOptions::default()
                },
            );
        }
        now
    });
    let refresh = RwSignal::new(0u32);
    let workspace = Resource::new(|| (), move |_| me.workspace_id());
    let data = Resource::new(
        move || (view_kind(), day(), refresh.get()),
        move |(kind, day, _)| async move {
            let ws = workspace.await?;
            get_calendar(ws, kind, day).await
        },
    );
    let action =
        view! { <a class="button button--primary" href="/compose">"New post"</a> }.into_any();
    view! {
        <AppShell title="Schedule" action=action>
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading the calendar…"</p> }>
                {move || Suspend::new(async move {
                    let ws = match workspace.await {
                        Ok(ws) => ws,
                        Err(err) => return view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    };
                    match data.await {
                        Ok(cal) => view! { <Calendar cal ws open refresh /> }.into_any(),
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Drawer workspace open refresh />
        </AppShell>
    }
}

/// Where a dragged post may land: a day, and in the week grid a time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    date: String,
    time: Option<String>,
}

#[component]
fn Calendar(
    cal: CalendarView,
    ws: String,
    open: RwSignal<Option<String>>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let toasts = Toasts::get();
    let ws = StoredValue::new(ws);
    let week = cal.view == "week";
    // Posts by id, and where each one is shown (moved at once when dropped).
    let posts = StoredValue::new(
        cal.posts
            .iter()
            .map(|p| (p.id.clone(), p.clone()))
            .collect::<HashMap<_, _>>(),
    );
    let placed = RwSignal::new(
        cal.posts
            .iter()
            .filter_map(|p| Some((p.id.clone(), p.local_at.clone()?)))
            .collect::<Vec<(String, String)>>(),
    );
    let dragging = RwSignal::new(None::<String>);
    let over = RwSignal::new(None::<Slot>);

    let drop_on = move |slot: Slot| {
        over.set(None);
        let Some(id) = dragging.get_untracked() else {
            return;
        };
        dragging.set(None);
        let Some(post) = posts.with_value(|p| p.get(&id).cloned()) else {
            return;
        };
        let old = post.local_at.clone().unwrap_or_default();
        let time = slot
            .time
            .clone()
            .unwrap_or_else(|| old.get(11..16).unwrap_or("09:00").to_owned());
        let new = format!("{}T{time}", slot.date);
        if new == old {
            return;
        }
        placed.update(|list| {
            if let Some(entry) = list.iter_mut().find(|(pid, _)| *pid == id) {
                entry.1.clone_from(&new);
            }
        });
        let ws = ws.get_value();
        leptos::task::spawn_local(async move {
            match reschedule_post(ws, id.clone(), post.version, new.clone()).await {
                Ok(saved) => {
                    toasts.show(
                        Tone::Ok,
                        format!("Moved to {}.", saved.local_label.unwrap_or(new)),
                    );
                    refresh.update(|n| *n += 1);
                }
                Err(err) => {
                    placed.update(|list| {
                        if let Some(entry) = list.iter_mut().find(|(pid, _)| *pid == id) {
                            entry.1.clone_from(&old);
                        }
                    });
                    let message = match err {
                        AppError::InvalidFields(f) => f
                            .first()
                            .map_or_else(|| "Could not move it.".into(), |f| f.message.clone()),
                        other => other.to_string(),
                    };
                    toasts.show(Tone::Error, format!("Not moved: {message}"));
                }
            }
        });
    };

    // Chips for the posts placed on `date` (and, in the week grid, in a slot's half hour).
    let chips_on = move |date: String, half_hour: Option<u32>| {
        placed
            .get()
            .into_iter()
            .filter(|(_, at)| {
                at.get(..10) == Some(date.as_str())
                    && half_hour.is_none_or(|h| minutes(at) / 30 == h)
            })
            .filter_map(|(id, at)| posts.with_value(|p| p.get(&id).cloned()).map(|p| (p, at)))
            .collect::<Vec<_>>()
    };
    let chip = move |post: PostSummary, at: String| {
        let movable = editable(&post.status);
        let id = post.id.clone();
        let id_drag = post.id.clone();
        let mut networks: Vec<String> = post.targets.iter().map(|t| t.platform.clone()).collect();
        networks.dedup();
        let time = at.get(11..16).unwrap_or_default().to_owned();
        let label = format!("{time} {}", first_words(&post.text, 40));
        view! {
            <button
                type="button"
                class=format!("chip-post chip-post--{}", status_class(&post.status))
                draggable=movable.then_some("true")
                data-testid="calendar-chip"
                data-post-id=post.id.clone()
                data-local-at=at.clone()
                aria-label=format!("{label} ({})", crate::components::post::status_word(&post.status))
                on:click=move |_| open.set(Some(id.clone()))
                on:dragstart=move |ev| {
                    set_drag_data(&ev, &id_drag);
                    dragging.set(Some(id_drag.clone()));
                }
                on:dragend=move |_| { dragging.set(None); over.set(None); }
            >
                <span class="chip-post__nets">{networks.into_iter().map(|n| view! { <NetworkMark slug=n /> }).collect_view()}</span>
                <span class="chip-post__time">{time}</span>
                <span class="chip-post__text">{first_words(&post.text, 40)}</span>
            </button>
        }
    };
    let target = move |slot: Slot| {
        let s1 = slot.clone();
        let s2 = slot.clone();
        let s3 = slot;
        (
            move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                if over.get_untracked().as_ref() != Some(&s1) {
                    over.set(Some(s1.clone()));
                }
            },
            move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                drop_on(s2.clone());
            },
            move || over.get().as_ref() == Some(&s3),
        )
    };

    let empty = cal.posts.is_empty();
    let header = view! {
        <div class="cal-bar">
            <div class="cal-bar__nav">
                <a class="button button--small" href=format!("/schedule?view={}&day={}", cal.view, cal.prev) aria-label="Previous">"‹"</a>
                <a class="button button--small" href=format!("/schedule?view={}", cal.view)>"Today"</a>
                <a class="button button--small" href=format!("/schedule?view={}&day={}", cal.view, cal.next) aria-label="Next">"›"</a>
                <h2 class="cal-bar__title" data-testid="calendar-title">{cal.title.clone()}</h2>
            </div>
            <div class="cal-bar__views" role="group" aria-label="View">
                <a class="button button--small" aria-current=week.then_some("page") href=format!("/schedule?view=week&day={}", cal.anchor)>"Week"</a>
                <a class="button button--small" aria-current=(!week).then_some("page") href=format!("/schedule?view=month&day={}", cal.anchor)>"Month"</a>
                <span class="muted cal-bar__zone">{format!("Times in {} ({})", cal.zone_name, cal.zone)}</span>
            </div>
        </div>
    };
    let empty_note = empty.then(|| view! {
        <p class="cal-empty muted">"Nothing here yet. " <a href="/compose">"Write your first post"</a> " and it shows up on this calendar."</p>
    });

    let body = if week {
        let days = cal.weeks.first().cloned().unwrap_or_default();
        let now_top = cal.now_minutes * ROW_PX / 30;
        let head = days
            .iter()
            .map(|d| view! { <div class="week__day-head" class:is-today=d.today>{d.label.clone()}</div> })
            .collect_view();
        let hours = (0..24)
            .map(|h| view! { <div class="week__hour" style=format!("height:{}px", ROW_PX * 2)>{format!("{h:02}:00")}</div> })
            .collect_view();
        let columns = days
            .into_iter()
            .map(|d: DayCell| {
                let slots = (0..48u32)
                    .map(|half| {
                        let time = format!("{:02}:{:02}", half / 2, (half % 2) * 30);
                        let (on_over, on_drop, is_over) = target(Slot { date: d.date.clone(), time: Some(time.clone()) });
                        let date = d.date.clone();
                        view! {
                            <div class="week__slot" class:slot--over=is_over
                                data-slot=format!("{}T{time}", d.date)
                                style=format!("height:{ROW_PX}px")
                                on:dragover=on_over on:drop=on_drop>
                                {move || chips_on(date.clone(), Some(half)).into_iter().map(|(p, at)| chip(p, at)).collect_view()}
                            </div>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="week__col" class:is-today=d.today data-date=d.date.clone()>
                        {slots}
                        {d.today.then(|| view! { <div class="now-line" style=format!("top:{now_top}px") aria-hidden="true"></div> })}
                    </div>
                }
            })
            .collect_view();
        view! {
            <div class="week card" data-testid="week-view">
                <div class="week__head"><div class="week__corner"></div>{head}</div>
                <div class="week__scroll" node_ref=scroll_to_morning()>
                    <div class="week__grid">
                        <div class="week__hours">{hours}</div>
                        {columns}
                    </div>
                </div>
            </div>
        }
        .into_any()
    } else {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            .into_iter()
            .map(|n| view! { <div class="month__name">{n}</div> })
            .collect_view();
        let cells = cal
            .weeks
            .into_iter()
            .flatten()
            .map(|d| {
                let (on_over, on_drop, is_over) = target(Slot { date: d.date.clone(), time: None });
                let date = d.date.clone();
                let week_link = format!("/schedule?view=week&day={}", d.date);
                view! {
                    <div class="month__cell" class:is-out=!d.in_range class:is-today=d.today class:slot--over=is_over
                        data-slot=d.date.clone() on:dragover=on_over on:drop=on_drop>
                        <a class="month__date" href=week_link.clone() aria-label=format!("Week of {}", d.date)>{d.label.clone()}</a>
                        {move || {
                            let all = chips_on(date.clone(), None);
                            let more = all.len().saturating_sub(3);
                            let link = week_link.clone();
                            view! {
                                {all.into_iter().take(3).map(|(p, at)| chip(p, at)).collect_view()}
                                {(more > 0).then(|| view! { <a class="month__more" href=link>{format!("+{more} more")}</a> })}
                            }
                        }}
                    </div>
                }
            })
            .collect_view();
        view! {
            <div class="month card" data-testid="month-view">
                <div class="month__names">{names}</div>
                <div class="month__grid">{cells}</div>
            </div>
        }
        .into_any()
    };
    view! { {header} {empty_note} {body} }
}

/// Minutes past midnight of a `YYYY-MM-DDTHH:MM`.
fn minutes(at: &str) -> u32 {
    let h: u32 = at.get(11..13).and_then(|h| h.parse().ok()).unwrap_or(0);
    let m: u32 = at.get(14..16).and_then(|m| m.parse().ok()).unwrap_or(0);
    h * 60 + m
}

/// Firefox starts a drag only when it carries data.
fn set_drag_data(ev: &leptos::ev::DragEvent, id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast, JsValue};
        let transfer = js_sys::Reflect::get(ev.as_ref(), &JsValue::from_str("dataTransfer")).ok();
        if let Some(transfer) = transfer.filter(|t| !t.is_null() && !t.is_undefined())
            && let Ok(set) = js_sys::Reflect::get(&transfer, &JsValue::from_str("setData"))
            && let Ok(set) = set.dyn_into::<js_sys::Function>()
        {
            let _ = set.call2(
                &transfer,
                &JsValue::from_str("text/plain"),
                &JsValue::from_str(id),
            );
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, id);
}

/// Scrolls the week grid to 07:00 once it is on screen (the night is rarely what people want).
fn scroll_to_morning() -> NodeRef<leptos::html::Div> {
    let node = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            el.set_scroll_top(i32::try_from(ROW_PX * 14).unwrap_or(0));
        }
    });
    node
}

/// The post drawer: details and actions, kept fresh while open (the worker moves posts on).
#[component]
fn Drawer(
    workspace: Resource<Result<String, AppError>>,
    open: RwSignal<Option<String>>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let confirming = RwSignal::new(false);
    Effect::new(move |_| {
        open.track();
        confirming.set(false);
    });
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if open.get_untracked().is_some() {
                    tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape" {
                open.set(None);
            }
        });
        on_cleanup(move || keys.remove());
    }
    let post = Resource::new(
        move || (open.get(), tick.get(), refresh.get()),
        move |(id, _, _)| async move {
            let Some(id) = id else { return Ok(None) };
            let ws = workspace.await?;
            get_post(ws, id).await.map(Some)
        },
    );
    // Keyboard users land in the drawer when it opens (Esc or the close button leave it).
    let close = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if open.get().is_some()
            && let Some(button) = close.get()
        {
            let _ = button.focus();
        }
    });
    let changed = Callback::new(move |post: Option<PostSummary>| {
        if post.is_none() {
            open.set(None);
        }
        refresh.update(|n| *n += 1);
    });
    view! {
        <Show when=move || open.get().is_some()>
            <div class="drawer-backdrop" on:click=move |_| open.set(None)></div>
            <aside class="drawer" role="dialog" aria-modal="true" aria-labelledby="drawer-title" data-testid="drawer">
                <header class="drawer__head">
                    <h2 id="drawer-title" class="card__title">"Post"</h2>
                    <button type="button" class="icon-button" aria-label="Close" title="Close (Esc)" node_ref=close on:click=move |_| open.set(None)>"✕"</button>
                </header>
                <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let ws = workspace.await.unwrap_or_default();
                        match post.await {
                            Ok(Some(p)) => view! { <PostDetails post=p workspace_id=ws changed confirming /> }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(err) => view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </aside>
        </Show>
    }
}
