//! Media in the interface: the composer's strip (drop or pick files, watch them upload, write
//! alt text, reorder, remove, or take one from the library), and the gallery a post shows.

use leptos::prelude::*;
use omniplug_platforms::{Platform, media};

use crate::media::{AttachedMedia, MediaItem, file_url, list_media, thumb_url};

/// One place in the strip: a file uploading, uploaded, or refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Stable while the strip lives (for keyed rendering).
    pub key: u32,
    /// The file's name.
    pub name: String,
    /// 0.0–1.0 while uploading.
    pub progress: Option<f64>,
    /// Why the upload was refused.
    pub problem: Option<String>,
    /// The stored file, once uploaded.
    pub item: Option<AttachedMedia>,
}

impl Slot {
    /// A file already in the library.
    pub fn ready(key: u32, item: AttachedMedia) -> Self {
        Self {
            key,
            name: item.name.clone(),
            progress: None,
            problem: None,
            item: Some(item),
        }
    }
}

/// The attached files, in order, ignoring uploads in flight and refused ones.
pub fn attached(slots: &[Slot]) -> Vec<AttachedMedia> {
    slots.iter().filter_map(|s| s.item.clone()).collect()
}

/// Every problem the selected networks have with the attached files (the server's rules,
/// compiled into the page).
pub fn problems(slots: &[Slot], platforms: &[Platform]) -> Vec<String> {
    let facts: Vec<media::MediaFacts> = slots
        .iter()
        .filter_map(|s| s.item.as_ref()?.facts())
        .collect();
    if let Some(problem) = media::check_set(&facts) {
        return vec![problem];
    }
    platforms
        .iter()
        .filter_map(|p| media::check(*p, &facts))
        .collect()
}

fn size_line(item: &AttachedMedia) -> String {
    let size = media::size_label(item.bytes);
    if item.width > 0 {
        format!("{size} · {}×{}", item.width, item.height)
    } else {
        size
    }
}

/// The composer's media strip.
#[component]
pub fn MediaStrip(
    /// The workspace files go to.
    workspace_id: StoredValue<String>,
    /// The files, in order.
    slots: RwSignal<Vec<Slot>>,
    /// The selected networks (their limits are shown).
    platforms: Memo<Vec<Platform>>,
    /// The server's refusals about media (`media`, `media.<network>`).
    server_error: Signal<Option<String>>,
    /// Marks the form changed.
    touch: Callback<()>,
) -> impl IntoView {
    let next_key =
        StoredValue::new(slots.with_untracked(|s| s.iter().map(|s| s.key).max().unwrap_or(0)) + 1);
    let dragging_files = RwSignal::new(false);
    let moving = RwSignal::new(None::<u32>);
    let picker_open = RwSignal::new(false);

    let new_key = move || {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        key
    };
    let move_by = move |key: u32, by: isize| {
        slots.update(|v| {
            if let Some(at) = v.iter().position(|s| s.key == key) {
                let to = at as isize + by;
                if to >= 0 && (to as usize) < v.len() {
                    v.swap(at, to as usize);
                }
            }
        });
        touch.run(());
    };
    let move_to = move |key: u32, before: u32| {
        slots.update(|v| {
            if let (Some(from), Some(to)) = (
                v.iter().position(|s| s.key == key),
                v.iter().position(|s| s.key == before),
            ) {
                let slot = v.remove(from);
                v.insert(to, slot);
            }
        });
        touch.run(());
    };
    let remove = move |key: u32| {
        slots.update(|v| v.retain(|s| s.key != key));
        touch.run(());
    };

    #[cfg(feature = "hydrate")]
    let add_files = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let key = new_key();
            let name = file.name();
            let taken = slots.with(|v| v.iter().filter(|s| s.problem.is_none()).count());
            if taken >= media::MAX_IMAGES {
                slots.update(|v| {
                    v.push(Slot {
                        key,
                        name,
                        progress: None,
                        problem: Some(format!(
                            "A post carries at most {} images; this one was not added.",
                            media::MAX_IMAGES
                        )),
                        item: None,
                    })
                });
                continue;
            }
            slots.update(|v| {
                v.push(Slot {
                    key,
                    name,
                    progress: Some(0.0),
                    problem: None,
                    item: None,
                })
            });
            touch.run(());
            let ws = workspace_id.get_value();
            leptos::task::spawn_local(async move {
                let result = crate::media::upload(&ws, file, move |p| {
                    slots.update(|v| {
                        if let Some(s) = v.iter_mut().find(|s| s.key == key) {
                            s.progress = Some(p);
                        }
                    });
                })
                .await;
                slots.update(|v| {
                    if let Some(s) = v.iter_mut().find(|s| s.key == key) {
                        s.progress = None;
                        match result {
                            Ok(item) => s.item = Some(item.attach(String::new())),
                            Err(err) => s.problem = Some(err.to_string()),
                        }
                    }
                });
            });
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = new_key;

    let on_pick = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Some(input) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                if let Some(files) = input.files() {
                    add_files(files);
                }
                input.set_value("");
            }
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging_files.set(false);
        if moving.get_untracked().is_some() {
            moving.set(None);
            return;
        }
        #[cfg(feature = "hydrate")]
        if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
            add_files(files);
        }
    };

    let tiles = move || {
        slots
            .get()
            .into_iter()
            .map(|slot| slot.key)
            .collect::<Vec<_>>()
    };
    let tile = move |key: u32| {
        let this = Memo::new(move |_| slots.with(|v| v.iter().find(|s| s.key == key).cloned()));
        let index =
            Memo::new(move |_| slots.with(|v| v.iter().position(|s| s.key == key).unwrap_or(0)));
        let name = move || this.get().map(|s| s.name).unwrap_or_default();
        view! {
            <li class="media-tile" data-testid="media-tile"
                draggable="true"
                on:dragstart=move |_| moving.set(Some(key))
                on:dragend=move |_| moving.set(None)
                on:dragover=move |ev: leptos::ev::DragEvent| { if moving.get_untracked().is_some() { ev.prevent_default(); } }
                on:drop=move |ev: leptos::ev::DragEvent| {
                    if let Some(from) = moving.get_untracked() {
                        ev.prevent_default();
                        ev.stop_propagation();
                        moving.set(None);
                        if from != key { move_to(from, key); }
                    }
                }>
                <div class="media-tile__picture">
                    {move || {
                        let slot = this.get()?;
                        Some(match (&slot.item, slot.progress) {
                            (Some(item), _) if item.is_video() => view! { <span class="media-tile__video" aria-hidden="true">"▶ MP4"</span> }.into_any(),
                            (Some(item), _) => view! { <img src=thumb_url(&item.id) alt="" loading="lazy" /> }.into_any(),
                            (None, Some(p)) => view! {
                                <span class="media-tile__progress">
                                    <progress max="1" value=p aria-label=format!("Uploading {}", slot.name)></progress>
                                    <span>{format!("{}%", (p * 100.0).round())}</span>
                                </span>
                            }.into_any(),
                            (None, None) => view! { <span class="media-tile__failed" aria-hidden="true">"!"</span> }.into_any(),
                        })
                    }}
                </div>
                <div class="media-tile__body">
                    <span class="media-tile__name" title=name>{name}</span>
                    {move || this.get().and_then(|s| s.item).map(|item| view! { <span class="muted">{size_line(&item)}</span> })}
                    {move || this.get().and_then(|s| s.problem).map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                    {move || this.get().is_some_and(|s| s.item.is_some()).then(|| view! {
                        <label class="field media-tile__alt">
                            <span class="visually-hidden">{move || format!("Alt text for {}", name())}</span>
                            <input type="text" placeholder="Alt text: describe the image" maxlength=media::MAX_ALT_CHARS
                                data-testid="media-alt"
                                prop:value=move || this.get().and_then(|s| s.item).map(|i| i.alt).unwrap_or_default()
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    slots.update(|all| {
                                        if let Some(item) = all.iter_mut().find(|s| s.key == key).and_then(|s| s.item.as_mut()) {
                                            item.alt = v;
                                        }
                                    });
                                    touch.run(());
                                } />
                        </label>
                    })}
                </div>
                <div class="media-tile__actions">
                    <button type="button" class="icon-button" aria-label=move || format!("Move {} earlier", name())
                        disabled=move || index.get() == 0 on:click=move |_| move_by(key, -1)>"←"</button>
                    <button type="button" class="icon-button" aria-label=move || format!("Move {} later", name())
                        disabled=move || { index.get() + 1 >= slots.with(Vec::len) } on:click=move |_| move_by(key, 1)>"→"</button>
                    <button type="button" class="icon-button" aria-label=move || format!("Remove {}", name())
                        data-testid="media-remove" on:click=move |_| remove(key)>"×"</button>
                </div>
            </li>
        }
    };

    let local_problems = move || slots.with(|s| platforms.with(|p| problems(s, p)));
    let attach_from_library = move |item: MediaItem| {
        let key = new_key();
        slots.update(|v| v.push(Slot::ready(key, item.attach(item.alt.clone()))));
        picker_open.set(false);
        touch.run(());
    };

    view! {
        <div class="media-strip" class:media-strip--over=move || dragging_files.get()
            role="group" aria-label="Media" data-testid="media-strip"
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); if moving.get_untracked().is_none() { dragging_files.set(true); } }
            on:dragleave=move |_| dragging_files.set(false)
            on:drop=on_drop>
            <ul class="media-strip__items">
                <For each=tiles key=|k| *k children=tile />
            </ul>
            <div class="media-strip__add">
                <label class="button button--small">
                    "Add images or a video"
                    <input type="file" class="visually-hidden" multiple data-testid="media-input"
                        accept="image/jpeg,image/png,image/gif,image/webp,video/mp4"
                        on:change=on_pick />
                </label>
                <button type="button" class="button button--small" on:click=move |_| picker_open.update(|o| *o = !*o)
                    aria-expanded=move || picker_open.get().to_string()>
                    "From library"
                </button>
                <span class="muted">"or drop files here · up to 4 images or 1 video"</span>
            </div>
            {move || {
                let list = local_problems();
                (!list.is_empty()).then(|| view! {
                    <ul class="media-strip__problems" role="alert" data-testid="media-problems">
                        {list.into_iter().map(|m| view! { <li class="form-error">{m}</li> }).collect_view()}
                    </ul>
                })
            }}
            {move || server_error.get().map(|m| view! { <p class="form-error" role="alert" data-testid="media-error">{m}</p> })}
            <Show when=move || picker_open.get()>
                <LibraryPicker workspace_id pick=Callback::new(attach_from_library) close=Callback::new(move |()| picker_open.set(false)) />
            </Show>
        </div>
    }
}

/// A panel listing the library's newest files, each attachable with one click.
#[component]
fn LibraryPicker(
    workspace_id: StoredValue<String>,
    pick: Callback<MediaItem>,
    close: Callback<()>,
) -> impl IntoView {
    let page = Resource::new(|| (), move |()| list_media(workspace_id.get_value(), 1));
    view! {
        <div class="library-picker card" role="dialog" aria-label="Choose from the media library"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close.run(()) }>
            <div class="library-picker__head">
                <strong>"Media library"</strong>
                <button type="button" class="icon-button" aria-label="Close" on:click=move |_| close.run(())>"×"</button>
            </div>
            <Suspense fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) if p.items.is_empty() => view! { <p class="muted">"Nothing uploaded yet. Add a file above and it lands here too."</p> }.into_any(),
                        Ok(p) => view! {
                            <ul class="library-grid library-grid--small">
                                {p.items.into_iter().map(|item| {
                                    let chosen = item.clone();
                                    view! {
                                        <li>
                                            <button type="button" class="library-pick" on:click=move |_| pick.run(chosen.clone())
                                                aria-label=format!("Attach {}", item.name)>
                                                <Thumb id=item.id.clone() mime=item.mime.clone() alt=String::new() />
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(err) => view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// A file's picture: the server's thumbnail for images, a marker for videos.
#[component]
pub fn Thumb(id: String, mime: String, alt: String) -> impl IntoView {
    if mime.starts_with("video/") {
        view! { <span class="thumb thumb--video" role="img" aria-label=if alt.is_empty() { "Video".to_owned() } else { alt }>"▶"</span> }.into_any()
    } else {
        view! { <img class="thumb" src=thumb_url(&id) alt=alt loading="lazy" /> }.into_any()
    }
}

/// The files a post carries, each opening the original.
#[component]
pub fn Gallery(media: Vec<AttachedMedia>) -> impl IntoView {
    (!media.is_empty()).then(|| {
        view! {
            <ul class="gallery" aria-label="Media" data-testid="post-media">
                {media.into_iter().map(|m| {
                    if m.is_video() {
                        view! { <li><video controls preload="metadata" src=file_url(&m.id) aria-label=m.alt.clone()></video></li> }.into_any()
                    } else {
                        view! {
                            <li>
                                <a href=file_url(&m.id) target="_blank" rel="noopener">
                                    <img src=thumb_url(&m.id) alt=m.alt.clone() loading="lazy" />
                                </a>
                            </li>
                        }.into_any()
                    }
                }).collect_view()}
            </ul>
        }
    })
}
