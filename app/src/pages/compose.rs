//! `/compose` (and `/compose?post=<id>` to edit): write once, pick accounts, adjust the text
//! per network, add an auto-plug, pick a time; previews show each network's post and its plug
//! reply as they will look. Counters use the server's own text rules (compiled to WASM), and
//! the server's refusals come back per field and are shown next to that field.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use omniplug_platforms::{Platform, text};

use crate::{
    calendar::check_time,
    components::{
        forms::go_to,
        layout::{AppShell, EmptyState},
        media::{MediaStrip, Slot, Thumb, attached},
        post::{NetworkMark, editable},
        toast::{Toasts, Tone},
    },
    connections::{CardStatus, ConnectionCard, list_connections},
    error::{AppError, FieldMessage},
    posts::{OverrideForm, PlugForm, PostForm, PostSummary, get_post, publish_post_now, save_post},
    session::Me,
};

/// What the composer needs before it can show anything.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Loaded {
    workspace_id: String,
    accounts: Vec<ConnectionCard>,
    post: Option<PostSummary>,
}

/// `/compose`
#[component]
pub fn ComposePage() -> impl IntoView {
    let me = Me::get();
    let query = use_query_map();
    let editing = move || query.with(|q| q.get("post")).filter(|id| !id.is_empty());
    let data = Resource::new(editing, move |post_id| async move {
        let ws = me.workspace_id().await?;
        let accounts = list_connections(ws.clone())
            .await?
            .connections
            .into_iter()
            .filter(|c| c.status != CardStatus::NeedsReconnect)
            .collect();
        let post = match post_id {
            Some(id) => Some(get_post(ws.clone(), id).await?),
            None => None,
        };
        Ok::<_, AppError>(Loaded {
            workspace_id: ws,
            accounts,
            post,
        })
    });
    let title = move || {
        if editing().is_some() {
            "Edit post"
        } else {
            "Compose"
        }
    };
    view! {
        <AppShell title=title()>
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading the composer…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(loaded) if loaded.accounts.is_empty() => view! {
                            <EmptyState
                                title="Connect an account first"
                                body="Posts go to the accounts you connect. The Sandbox network works in one click and lets you try everything."
                                action=("Connect the Sandbox to try it out", "/connections")
                            />
                        }.into_any(),
                        Ok(loaded) => view! { <Composer loaded /> }.into_any(),
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AppShell>
    }
}

/// One network's plug as the panel edits it.
#[derive(Debug, Clone, Default, PartialEq)]
struct PlugUi {
    on: bool,
    text: String,
    trigger: String,
    value: String,
}

/// Which button submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Submit {
    Draft,
    Schedule,
    PublishNow,
}

fn platforms_of(accounts: &[ConnectionCard], selected: &[String]) -> Vec<Platform> {
    Platform::ALL
        .into_iter()
        .filter(|p| {
            accounts
                .iter()
                .any(|a| a.platform == *p && selected.contains(&a.id))
        })
        .collect()
}

#[component]
fn Composer(loaded: Loaded) -> impl IntoView {
    let toasts = Toasts::get();
    let Loaded {
        workspace_id,
        accounts,
        post,
    } = loaded;
    let ws = StoredValue::new(workspace_id);
    let accounts = StoredValue::new(accounts);
    let locked = post.as_ref().is_some_and(|p| !editable(&p.status));

    // The form, filled from the post when editing.
    let post_id = RwSignal::new(post.as_ref().map(|p| p.id.clone()).unwrap_or_default());
    let version = RwSignal::new(post.as_ref().map_or(0, |p| p.version));
    let text = RwSignal::new(post.as_ref().map(|p| p.text.clone()).unwrap_or_default());
    let selected = RwSignal::new(match &post {
        Some(p) => p.targets.iter().map(|t| t.connection_id.clone()).collect(),
        // A single account is picked for you.
        None if accounts.with_value(Vec::len) == 1 => {
            accounts.with_value(|a| a.iter().map(|c| c.id.clone()).collect())
        }
        None => Vec::<String>::new(),
    });
    let overrides = RwSignal::new(
        post.as_ref()
            .map(|p| {
                p.overrides
                    .iter()
                    .map(|o| (o.platform.clone(), o.text.clone()))
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default(),
    );
    let plugs = RwSignal::new(
        post.as_ref()
            .map(|p| {
                p.plugs
                    .iter()
                    .map(|g| {
                        let ui = PlugUi {
                            on: true,
                            text: g.text.clone(),
                            trigger: g.trigger.to_ascii_lowercase(),
                            value: g.value.to_string(),
                        };
                        (g.platform.clone(), ui)
                    })
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default(),
    );
    let schedule = RwSignal::new(
        post.as_ref()
            .filter(|p| p.status == "SCHEDULED")
            .and_then(|p| p.local_at.clone())
            .unwrap_or_default(),
    );
    let media = RwSignal::new(
        post.as_ref()
            .map(|p| {
                p.media
                    .iter()
                    .zip(1..)
                    .map(|(m, key)| Slot::ready(key, m.clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let tab = RwSignal::new(None::<String>);
    let dirty = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<FieldMessage>::new());
    let form_error = RwSignal::new(None::<String>);

    let platforms =
        Memo::new(move |_| selected.with(|s| accounts.with_value(|a| platforms_of(a, s))));
    let text_for = move |p: Platform| {
        overrides
            .with(|o| o.get(p.slug()).filter(|t| !t.is_empty()).cloned())
            .unwrap_or_else(|| text.get())
    };
    let field_error = move |name: String| {
        Signal::derive(move || {
            errors.with(|e| {
                e.iter()
                    .find(|f| f.field == name)
                    .map(|f| f.message.clone())
            })
        })
    };
    let touch = move || {
        dirty.set(true);
        errors.set(Vec::new());
        form_error.set(None);
    };

    // The time, checked by the server's rules as it is picked.
    let time_check = Resource::new(
        move || schedule.get(),
        |raw| async move {
            if raw.is_empty() {
                None
            } else {
                Some(check_time(raw).await)
            }
        },
    );

    let build = move |kind: Submit| PostForm {
        post_id: post_id.get_untracked(),
        version: version.get_untracked(),
        text: text.get_untracked(),
        overrides: overrides.with_untracked(|o| {
            platforms
                .get_untracked()
                .iter()
                .filter_map(|p| {
                    let t = o.get(p.slug())?;
                    (!t.is_empty()).then(|| OverrideForm {
                        platform: p.slug().into(),
                        text: t.clone(),
                    })
                })
                .collect()
        }),
        connection_ids: selected.get_untracked(),
        plugs: plugs.with_untracked(|g| {
            platforms
                .get_untracked()
                .iter()
                .filter_map(|p| {
                    let ui = g.get(p.slug()).filter(|ui| ui.on)?;
                    Some(PlugForm {
                        platform: p.slug().into(),
                        text: ui.text.clone(),
                        trigger: ui.trigger.clone(),
                        value: ui.value.trim().parse().unwrap_or(-1),
                    })
                })
                .collect()
        }),
        schedule: if kind == Submit::Schedule {
            schedule.get_untracked()
        } else {
            String::new()
        },
        media: media.with_untracked(|m| attached(m)),
    };

    let submit = Action::new(move |kind: &Submit| {
        let kind = *kind;
        let form = build(kind);
        let ws = ws.get_value();
        let uploading = media.with_untracked(|m| m.iter().any(|s| s.progress.is_some()));
        async move {
            if uploading {
                return Err(AppError::InvalidFields(vec![FieldMessage {
                    field: "media".into(),
                    message: "Wait for the uploads to finish, then try again.".into(),
                }]));
            }
            if kind == Submit::Schedule && form.schedule.is_empty() {
                return Err(AppError::InvalidFields(vec![FieldMessage {
                    field: "scheduled_at".into(),
                    message: "Pick a date and time to schedule, or save a draft.".into(),
                }]));
            }
            let saved = save_post(ws.clone(), form).await?;
            if kind == Submit::PublishNow {
                return publish_post_now(ws, saved.id.clone(), saved.version)
                    .await
                    .map(|p| (kind, p));
            }
            Ok((kind, saved))
        }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok((kind, saved))) => {
            dirty.set(false);
            post_id.set(saved.id.clone());
            version.set(saved.version);
            let when = saved.local_label.clone().unwrap_or_default();
            let day = saved
                .local_at
                .as_deref()
                .and_then(|at| at.get(..10))
                .unwrap_or_default()
                .to_owned();
            match kind {
                Submit::Draft => {
                    toasts.show(Tone::Ok, "Draft saved.");
                    if let Some(note) = saved.note {
                        toasts.show(Tone::Ok, note);
                    }
                }
                Submit::Schedule => {
                    toasts.show(Tone::Ok, format!("Scheduled for {when}."));
                    go_to(&format!("/schedule?view=week&day={day}&post={}", saved.id));
                }
                Submit::PublishNow => {
                    toasts.show(Tone::Ok, "Publishing now.");
                    go_to(&format!("/schedule?view=week&day={day}&post={}", saved.id));
                }
            }
        }
        Some(Err(AppError::InvalidFields(fields))) => {
            form_error.set(Some(
                "Some fields need attention; see the messages next to them.".into(),
            ));
            errors.set(fields);
        }
        Some(Err(err)) => form_error.set(Some(err.to_string())),
        None => {}
    });
    let busy = submit.pending();

    // Leaving with unsaved changes asks first (closing the tab, or a link inside the app).
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::{JsCast, closure::Closure};
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("You have unsaved changes.");
            }
        });
        let guard = Closure::<dyn Fn(leptos::web_sys::MouseEvent)>::new(
            move |ev: leptos::web_sys::MouseEvent| {
                if !dirty.get_untracked() {
                    return;
                }
                let link = ev
                    .target()
                    .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                    .and_then(|el| el.closest("a[href]").ok().flatten());
                if link.is_some()
                    && !window()
                        .confirm_with_message("You have unsaved changes. Leave without saving?")
                        .unwrap_or(true)
                {
                    ev.prevent_default();
                    ev.stop_propagation();
                }
            },
        );
        let doc = document();
        let _ = doc.add_event_listener_with_callback_and_bool(
            "click",
            guard.as_ref().unchecked_ref(),
            true,
        );
        let guard = send_wrapper::SendWrapper::new(guard);
        on_cleanup(move || {
            unload.remove();
            let _ = document().remove_event_listener_with_callback_and_bool(
                "click",
                guard.as_ref().unchecked_ref(),
                true,
            );
        });
    }

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            submit.dispatch(Submit::Schedule);
        }
    };

    let account_chips = move || {
        accounts.with_value(|list| {
            list.iter()
                .map(|a| {
                    let id = a.id.clone();
                    let id2 = a.id.clone();
                    let checked = Signal::derive(move || selected.with(|s| s.contains(&id)));
                    let label = a.label.clone().unwrap_or_else(|| a.handle.clone());
                    view! {
                        <label class="chip" class:chip--on=checked>
                            <input
                                type="checkbox"
                                class="visually-hidden"
                                prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|s| {
                                        s.retain(|x| x != &id2);
                                        if on {
                                            s.push(id2.clone());
                                        }
                                    });
                                    touch();
                                }
                            />
                            <NetworkMark slug=a.platform.slug() />
                            <span>{label}</span>
                        </label>
                    }
                })
                .collect_view()
        })
    };

    let counters = move || {
        platforms
            .get()
            .into_iter()
            .map(|p| {
                let report = text::check(p, &text_for(p));
                let over = report.remaining() < 0;
                view! {
                    <span class="counter" class:counter--over=over data-testid=format!("counter-{}", p.slug())
                        title=format!("{} counts {}", p.display_name(), if report.unit == text::CountUnit::Graphemes { "characters as people see them" } else { "characters" })>
                        <NetworkMark slug=p.slug() />
                        {format!("{}/{}", report.count, report.limit)}
                    </span>
                }
            })
            .collect_view()
    };

    let tabs = move || {
        let list = platforms.get();
        (!list.is_empty()).then(|| {
            let buttons = list
                .into_iter()
                .map(|p| {
                    let slug = p.slug().to_owned();
                    let slug2 = slug.clone();
                    let has = {
                        let slug = slug.clone();
                        move || overrides.with(|o| o.get(&slug).is_some_and(|t| !t.is_empty()))
                    };
                    view! {
                        <button type="button" role="tab" class="tabs__tab"
                            aria-selected=move || (tab.get().as_deref() == Some(slug.as_str())).to_string()
                            on:click=move |_| tab.set(Some(slug2.clone()))>
                            {p.display_name()} {move || has().then_some(" •")}
                        </button>
                    }
                })
                .collect_view();
            view! {
                <div class="tabs tabs--compact" role="tablist" aria-label="Text per network">
                    <button type="button" role="tab" class="tabs__tab"
                        aria-selected=move || tab.get().is_none().to_string()
                        on:click=move |_| tab.set(None)>
                        "All networks"
                    </button>
                    {buttons}
                </div>
            }
        })
    };

    let editor = move || {
        let current = tab.get();
        match current {
            None => {
                let err = field_error("text".into());
                view! {
                    <label class="field">
                        <span class="visually-hidden">"Post text"</span>
                        <textarea
                            class="editor"
                            name="text"
                            rows="8"
                            placeholder="What do you want to say?"
                            aria-invalid=move || err.get().is_some().to_string()
                            data-testid="post-text"
                            prop:value=move || text.get()
                            on:input=move |ev| { text.set(event_target_value(&ev)); touch(); }
                        ></textarea>
                        {move || err.get().map(|m| view! { <p class="form-error" role="alert" data-testid="text-error">{m}</p> })}
                    </label>
                }
                .into_any()
            }
            Some(slug) => {
                let name = Platform::from_slug(&slug).map_or("", Platform::display_name);
                let err = field_error(format!("overrides.{slug}"));
                let slug_v = slug.clone();
                view! {
                    <label class="field">
                        <span class="field__hint">{format!("Only for {name}; leave empty to use the shared text.")}</span>
                        <textarea
                            class="editor"
                            rows="8"
                            placeholder=move || text.get()
                            aria-label=format!("Text for {name}")
                            prop:value=move || overrides.with(|o| o.get(&slug_v).cloned().unwrap_or_default())
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                overrides.update(|o| { o.insert(slug.clone(), v); });
                                touch();
                            }
                        ></textarea>
                        {move || err.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                    </label>
                }
                .into_any()
            }
        }
    };

    let plug_panels = move || {
        platforms
            .get()
            .into_iter()
            .map(|p| view! { <PlugPanel platform=p plugs field_error=Callback::new(field_error) touch=Callback::new(move |()| touch()) /> })
            .collect_view()
    };

    let previews = move || {
        let list = platforms.get();
        if list.is_empty() {
            return view! { <p class="muted preview-empty">"Pick an account to see how the post will look there."</p> }.into_any();
        }
        list.into_iter()
            .map(|p| {
                let account = accounts.with_value(|a| {
                    a.iter()
                        .find(|c| c.platform == p && selected.with_untracked(|s| s.contains(&c.id)))
                        .cloned()
                });
                let (name, handle) = account
                    .map(|a| (a.name.clone(), a.handle.clone()))
                    .unwrap_or_default();
                let body = text_for(p);
                let report = text::check(p, &body);
                let plug = plugs.with(|g| g.get(p.slug()).filter(|u| u.on).cloned());
                view! {
                    <article class=format!("preview preview--{}", p.slug()) data-testid=format!("preview-{}", p.slug()) aria-label=format!("{} preview", p.display_name())>
                        <PreviewCard name=name.clone() handle=handle.clone() text=body overflow=report.overflow_at platform=p />
                        <PreviewMedia media=media.with(|m| attached(m)) />
                        {plug.map(|u| {
                            let r = text::check(p, &u.text);
                            view! {
                                <div class="preview__reply">
                                    <PreviewCard name=name.clone() handle=handle.clone() text=u.text.clone() overflow=r.overflow_at platform=p />
                                    <p class="muted preview__when">{trigger_words(&u.trigger, &u.value)}</p>
                                </div>
                            }
                        })}
                    </article>
                }
            })
            .collect_view()
            .into_any()
    };

    let time_line = move || {
        time_check.get().flatten().map(|result| match result {
            Ok(check) => view! {
                <p class="field__hint" data-testid="time-check">
                    {format!("{} · {}", check.local, check.utc)}
                    {check.note.map(|n| view! { <span class="banner banner--warn">{n}</span> })}
                </p>
            }
            .into_any(),
            Err(err) => view! { <p class="form-error" role="alert" data-testid="time-warning">{err.to_string()}</p> }.into_any(),
        })
    };
    let schedule_error = field_error("scheduled_at".into());
    let media_error = Signal::derive(move || {
        errors.with(|e| {
            e.iter()
                .find(|f| f.field == "media" || f.field.starts_with("media."))
                .map(|f| f.message.clone())
        })
    });
    let targets_error = field_error("targets".into());

    view! {
        <div class="composer" on:keydown=on_keydown>
            <form class="composer__main card" on:submit=move |ev| { ev.prevent_default(); submit.dispatch(Submit::Schedule); }>
                {locked.then(|| view! {
                    <p class="banner banner--warn">"This post has started publishing; it can no longer be changed. Duplicate it to write a new one."</p>
                })}
                <fieldset class="field">
                    <legend class="field__label">"Post to"</legend>
                    <div class="chips">{account_chips}</div>
                    {move || targets_error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                </fieldset>
                {tabs}
                {editor}
                <div class="counters" aria-live="polite">{counters}</div>
                <MediaStrip workspace_id=ws slots=media platforms server_error=media_error touch=Callback::new(move |()| touch()) />
                {plug_panels}
                <div class="field schedule-row">
                    <label class="field__label" for="schedule-at">"When"</label>
                    <input
                        id="schedule-at"
                        type="datetime-local"
                        name="schedule"
                        data-testid="schedule-at"
                        aria-invalid=move || schedule_error.get().is_some().to_string()
                        prop:value=move || schedule.get()
                        on:input=move |ev| { schedule.set(event_target_value(&ev)); touch(); }
                    />
                    {time_line}
                    {move || schedule_error.get().map(|m| view! { <p class="form-error" role="alert" data-testid="schedule-error">{m}</p> })}
                </div>
                {move || form_error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                <div class="action-bar">
                    <button type="button" class="button" disabled=move || busy.get() || locked
                        on:click=move |_| { submit.dispatch(Submit::Draft); }>
                        "Save draft"
                    </button>
                    <button type="button" class="button" disabled=move || busy.get() || locked
                        data-testid="publish-now-compose"
                        on:click=move |_| { submit.dispatch(Submit::PublishNow); }>
                        "Publish now"
                    </button>
                    <button type="submit" class="button button--primary" disabled=move || busy.get() || locked
                        title="Ctrl+Enter">
                        {move || if busy.get() { "Saving…" } else { "Schedule" }}
                    </button>
                </div>
            </form>
            <aside class="composer__previews" aria-label="Previews">
                <h2 class="section-title">"Preview"</h2>
                {previews}
            </aside>
        </div>
    }
}

/// The attached files under a preview, as a network's grid shows them.
#[component]
fn PreviewMedia(media: Vec<crate::media::AttachedMedia>) -> impl IntoView {
    let count = media.len().min(4);
    (!media.is_empty()).then(|| {
        view! {
            <div class=format!("preview__media preview__media--{count}")>
                {media.into_iter().map(|m| view! { <Thumb id=m.id.clone() mime=m.mime.clone() alt=m.alt.clone() /> }).collect_view()}
            </div>
        }
    })
}

fn trigger_words(trigger: &str, value: &str) -> String {
    match trigger {
        "likes" => format!("Replies once the post has {value} likes."),
        "comments" => format!("Replies once the post has {value} comments."),
        "reposts" => format!("Replies once the post has {value} reposts."),
        _ => format!("Replies {value} minutes after publishing."),
    }
}

/// One network's auto-plug: on/off, its text with a counter, and what fires it.
#[component]
fn PlugPanel(
    platform: Platform,
    plugs: RwSignal<BTreeMap<String, PlugUi>>,
    field_error: Callback<String, Signal<Option<String>>>,
    touch: Callback<()>,
) -> impl IntoView {
    let slug = platform.slug();
    let get = move || plugs.with(|g| g.get(slug).cloned().unwrap_or_default());
    let set = move |f: &dyn Fn(&mut PlugUi)| {
        plugs.update(|g| {
            let ui = g.entry(slug.to_owned()).or_insert_with(|| PlugUi {
                trigger: "likes".into(),
                value: "100".into(),
                ..PlugUi::default()
            });
            f(ui);
        });
        touch.run(());
    };
    let text_err = field_error.run(format!("plugs.{slug}.text"));
    let value_err = field_error.run(format!("plugs.{slug}.value"));
    let plug_err = field_error.run(format!("plugs.{slug}"));
    let name = platform.display_name();
    view! {
        <fieldset class="plug-panel" data-testid=format!("plug-{slug}")>
            <legend>
                <label class="switch">
                    <input type="checkbox" prop:checked=move || get().on
                        data-testid=format!("plug-toggle-{slug}")
                        on:change=move |ev| { let on = event_target_checked(&ev); set(&|u| u.on = on); } />
                    {format!("Auto-plug on {name}")}
                </label>
            </legend>
            <Show when=move || get().on>
                <label class="field">
                    <span class="field__label">"Reply text"</span>
                    <textarea rows="3" placeholder="Liked this? My course is 20% off this week: https://…"
                        data-testid=format!("plug-text-{slug}")
                        prop:value=move || get().text
                        on:input=move |ev| { let v = event_target_value(&ev); set(&|u| u.text = v.clone()); }></textarea>
                    {move || {
                        let r = text::check(platform, &get().text);
                        view! { <span class="counter" class:counter--over=r.remaining() < 0>{format!("{}/{}", r.count, r.limit)}</span> }
                    }}
                    {move || text_err.get().or_else(|| plug_err.get()).map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                </label>
                <div class="form--row">
                    <label class="field">
                        <span class="field__label">"Fires after"</span>
                        <select data-testid=format!("plug-trigger-{slug}")
                            prop:value=move || get().trigger
                            on:change=move |ev| { let v = event_target_value(&ev); set(&|u| u.trigger = v.clone()); }>
                            <option value="likes">"Likes"</option>
                            <option value="comments">"Comments"</option>
                            {(platform != Platform::Instagram).then(|| view! { <option value="reposts">"Reposts"</option> })}
                            <option value="time_after_publish">"Minutes after publishing"</option>
                        </select>
                    </label>
                    <label class="field">
                        <span class="field__label">{move || if get().trigger == "time_after_publish" { "Minutes" } else { "Count" }}</span>
                        <input type="number" min="1" inputmode="numeric" data-testid=format!("plug-value-{slug}")
                            prop:value=move || get().value
                            on:input=move |ev| { let v = event_target_value(&ev); set(&|u| u.value = v.clone()); } />
                        {move || value_err.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                    </label>
                </div>
            </Show>
        </fieldset>
    }
}

/// A post card as the network shows it, with links highlighted and the part over the limit
/// marked.
#[component]
fn PreviewCard(
    name: String,
    handle: String,
    text: String,
    overflow: Option<usize>,
    platform: Platform,
) -> impl IntoView {
    let (fits, over) = match overflow {
        Some(at) if text.is_char_boundary(at) => (text[..at].to_owned(), text[at..].to_owned()),
        _ => (text.clone(), String::new()),
    };
    let initial = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    view! {
        <div class="post-card preview__card">
            <div class="post-card__author">
                <span class="avatar" aria-hidden="true">{initial}</span>
                <strong>{name}</strong>
                <span class="muted">{handle}</span>
                <NetworkMark slug=platform.slug() />
            </div>
            <p class="post-card__text preview__text">
                {linkify(&fits)}
                {(!over.is_empty()).then(|| view! { <mark class="overflow" title="Over the limit">{over}</mark> })}
            </p>
        </div>
    }
}

/// Text with URLs, @mentions and #tags in the link colour.
fn linkify(text: &str) -> impl IntoView + use<> {
    let mut parts = Vec::new();
    let mut plain = String::new();
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end();
        let link = word.starts_with("http://")
            || word.starts_with("https://")
            || word.starts_with("www.")
            || (word.len() > 1 && (word.starts_with('@') || word.starts_with('#')));
        if link {
            if !plain.is_empty() {
                parts.push((false, std::mem::take(&mut plain)));
            }
            parts.push((true, word.to_owned()));
            plain.push_str(&piece[word.len()..]);
        } else {
            plain.push_str(piece);
        }
    }
    if !plain.is_empty() {
        parts.push((false, plain));
    }
    parts
        .into_iter()
        .map(|(link, s)| {
            if link {
                view! { <span class="link">{s}</span> }.into_any()
            } else {
                s.into_any()
            }
        })
        .collect_view()
}
