//! `/library`: the workspace's uploaded files, newest first, to check, reuse (from the
//! composer's "From library") and delete; uploads can start here too.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use omniplug_platforms::media::size_label;

use crate::{
    components::{
        layout::{AppShell, EmptyState},
        media::Thumb,
        toast::{Toasts, Tone},
    },
    media::{MediaItem, PER_PAGE, file_url, list_media},
    session::Me,
};

/// `/library`
#[component]
pub fn LibraryPage() -> impl IntoView {
    let me = Me::get();
    let query = use_query_map();
    let page = move || {
        query
            .with(|q| q.get("page"))
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let data = Resource::new(page, move |page| async move {
        let ws = me.workspace_id().await?;
        let listed = list_media(ws.clone(), page).await?;
        Ok::<_, crate::error::AppError>((ws, listed))
    });
    let uploading = RwSignal::new(Vec::<(String, f64)>::new());
    let upload_error = RwSignal::new(None::<String>);

    view! {
        <AppShell title="Media library">
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading the library…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((ws, listed)) => view! {
                            <Uploader ws=ws.clone() uploading upload_error done=Callback::new(move |()| data.refetch()) />
                            <p class="muted" data-testid="uploads-this-month">
                                {format!("{} in the library · {} uploaded this month", listed.total, listed.uploads_this_month)}
                            </p>
                            {if listed.items.is_empty() && listed.page == 1 {
                                view! {
                                    <EmptyState
                                        title="No media yet"
                                        body="Images and videos you add to posts are kept here, so you can use them again."
                                        action=("Write a post", "/compose")
                                    />
                                }.into_any()
                            } else {
                                view! { <Grid ws=ws.clone() items=listed.items.clone() refetch=Callback::new(move |()| data.refetch()) /> }.into_any()
                            }}
                            <nav class="pager" aria-label="Pages">
                                {(listed.page > 1).then(|| view! { <a class="button button--small" href=format!("/library?page={}", listed.page - 1)>"← Newer"</a> })}
                                {(listed.page * PER_PAGE < listed.total).then(|| view! { <a class="button button--small" href=format!("/library?page={}", listed.page + 1)>"Older →"</a> })}
                            </nav>
                        }.into_any(),
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AppShell>
    }
}

/// The "Upload" button with a progress line per file in flight.
#[component]
fn Uploader(
    ws: String,
    uploading: RwSignal<Vec<(String, f64)>>,
    upload_error: RwSignal<Option<String>>,
    done: Callback<()>,
) -> impl IntoView {
    let _ = (&ws, done);
    let on_pick = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let Some(input) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(files) = input.files() else { return };
            upload_error.set(None);
            for i in 0..files.length() {
                let Some(file) = files.get(i) else { continue };
                let name = file.name();
                uploading.update(|u| u.push((name.clone(), 0.0)));
                let ws = ws.clone();
                leptos::task::spawn_local(async move {
                    let progress_name = name.clone();
                    let result = crate::media::upload(&ws, file, move |p| {
                        uploading.update(|u| {
                            if let Some(entry) = u.iter_mut().find(|(n, _)| *n == progress_name) {
                                entry.1 = p;
                            }
                        });
                    })
                    .await;
                    uploading.update(|u| u.retain(|(n, _)| *n != name));
                    match result {
                        Ok(_) => done.run(()),
                        Err(err) => upload_error.set(Some(format!("{name}: {err}"))),
                    }
                });
            }
            input.set_value("");
        }
    };
    view! {
        <div class="library-upload">
            <label class="button button--primary">
                "Upload"
                <input type="file" class="visually-hidden" multiple data-testid="library-input"
                    accept="image/jpeg,image/png,image/gif,image/webp,video/mp4" on:change=on_pick />
            </label>
            <span class="muted">"JPEG, PNG, GIF, WebP or MP4"</span>
            <ul class="plain-list" aria-live="polite">
                {move || uploading.get().into_iter().map(|(name, p)| view! {
                    <li><progress max="1" value=p></progress>" " {format!("{name} {}%", (p * 100.0).round())}</li>
                }).collect_view()}
            </ul>
            {move || upload_error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
        </div>
    }
}

/// The files as cards.
#[component]
fn Grid(ws: String, items: Vec<MediaItem>, refetch: Callback<()>) -> impl IntoView {
    let toasts = Toasts::get();
    let delete = ServerAction::<crate::media::DeleteMedia>::new();
    let confirming = RwSignal::new(None::<String>);
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.show(Tone::Ok, "Deleted from the library.");
            confirming.set(None);
            refetch.run(());
        }
        Some(Err(err)) => toasts.show(Tone::Error, err.to_string()),
        None => {}
    });
    let ws = StoredValue::new(ws);
    view! {
        <ul class="library-grid" data-testid="library-grid">
            {items.into_iter().map(|item| {
                let id = item.id.clone();
                let id_confirm = item.id.clone();
                let id_shown = item.id.clone();
                let dims = if item.width > 0 { format!(" · {}×{}", item.width, item.height) } else { String::new() };
                let length = item.duration_ms.map(|ms| format!(" · {:.1} s", ms as f64 / 1000.0)).unwrap_or_default();
                view! {
                    <li class="library-card card" data-testid="library-item">
                        <a href=file_url(&item.id) target="_blank" rel="noopener" class="library-card__picture">
                            <Thumb id=item.id.clone() mime=item.mime.clone() alt=format!("{} (opens the original)", item.name) />
                        </a>
                        <p class="library-card__name" title=item.name.clone()>{item.name.clone()}</p>
                        <p class="muted">{format!("{}{dims}{length}", size_label(item.bytes))}</p>
                        <p class="muted">{format!("Uploaded {}", item.uploaded)}</p>
                        <Show when=move || confirming.get().as_deref() == Some(id_shown.as_str()) fallback=move || {
                            let id = id_confirm.clone();
                            view! { <button type="button" class="button button--small button--danger" on:click=move |_| confirming.set(Some(id.clone()))>"Delete"</button> }
                        }>
                            {
                                let id = id.clone();
                                view! {
                                    <span class="confirm" role="group" aria-label="Confirm deleting">
                                        <button type="button" class="button button--small button--danger" disabled=move || delete.pending().get()
                                            on:click=move |_| { delete.dispatch(crate::media::DeleteMedia { workspace_id: ws.get_value(), media_id: id.clone() }); }>
                                            "Delete for good"
                                        </button>
                                        <button type="button" class="button button--small" on:click=move |_| confirming.set(None)>"Keep"</button>
                                    </span>
                                }
                            }
                        </Show>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
