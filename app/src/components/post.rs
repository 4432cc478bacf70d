//! Pieces that show a post the same way everywhere: its status pill, network badges, the plug's
//! story, and the details panel with its actions (the calendar's drawer and the post page).

use leptos::prelude::*;
use omniplug_platforms::Platform;

use super::toast::{Toasts, Tone};
use crate::{
    error::AppError,
    posts::{
        DeletePost, DuplicatePost, PlugSummary, PostSummary, PublishPostNow, RetryTarget,
        TargetSummary, UnschedulePost,
    },
};

/// A status in words ("Scheduled", "Partly published").
pub fn status_word(status: &str) -> &'static str {
    match status {
        "DRAFT" => "Draft",
        "SCHEDULED" => "Scheduled",
        "PUBLISHING" => "Publishing",
        "PUBLISHED" => "Published",
        "PARTIALLY_PUBLISHED" => "Partly published",
        "FAILED" => "Failed",
        "MISSED" => "Missed",
        "PENDING" => "Waiting",
        "QUEUED" => "Queued",
        "FIRING" => "Firing",
        "FIRED" => "Fired",
        "SKIPPED" => "Skipped",
        _ => "Unknown",
    }
}

/// The CSS modifier of a status colour (`draft`, `scheduled`, …).
pub fn status_class(status: &str) -> &'static str {
    match status {
        "DRAFT" | "PENDING" | "SKIPPED" => "draft",
        "SCHEDULED" | "QUEUED" => "scheduled",
        "PUBLISHING" | "FIRING" => "publishing",
        "PUBLISHED" | "FIRED" => "published",
        "PARTIALLY_PUBLISHED" | "MISSED" => "missed",
        _ => "failed",
    }
}

/// A coloured pill with the status in words.
#[component]
pub fn StatusPill(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("status-pill status-pill--{}", status_class(&status));
    view! { <span class=class data-status=status.clone()>{status_word(&status)}</span> }
}

/// A network's small mark (its colour only here), with its name for screen readers.
#[component]
pub fn NetworkMark(#[prop(into)] slug: String) -> impl IntoView {
    let platform = Platform::from_slug(&slug);
    let name = platform.map_or("Unknown network", Platform::display_name);
    let glyph = match platform {
        Some(Platform::X) => "X",
        Some(Platform::LinkedIn) => "in",
        Some(Platform::Instagram) => "IG",
        Some(Platform::Bluesky) => "bs",
        Some(Platform::Sandbox) => "S",
        None => "?",
    };
    view! {
        <span class=format!("net net--{slug}") role="img" aria-label=name title=name>{glyph}</span>
    }
}

/// "Waiting for 100 likes — now at 37", "Fired", "Skipped: …".
pub fn plug_story(plug: &PlugSummary, target: Option<&TargetSummary>) -> String {
    let (noun, now) = match plug.trigger.as_str() {
        "LIKES" => ("likes", target.map(|t| t.likes)),
        "COMMENTS" => ("comments", target.map(|t| t.comments)),
        "REPOSTS" => ("reposts", target.map(|t| t.reposts)),
        _ => ("", None),
    };
    match plug.status.as_str() {
        "PENDING" if noun.is_empty() => {
            format!("Fires {} min after publishing.", plug.value)
        }
        "PENDING" => match (target.map(|t| t.state.as_str()), now) {
            (Some("PUBLISHED"), Some(now)) => {
                format!("Waiting for {} {noun} — now at {now}.", plug.value)
            }
            _ => format!("Fires at {} {noun}, once the post is out.", plug.value),
        },
        "FIRING" => "Firing now…".to_owned(),
        "FIRED" => "Fired.".to_owned(),
        "SKIPPED" => format!(
            "Skipped: {}",
            plug.fail_reason
                .as_deref()
                .unwrap_or("the post did not go out.")
        ),
        _ => format!(
            "Failed: {}",
            plug.fail_reason
                .as_deref()
                .unwrap_or("the network refused it.")
        ),
    }
}

/// Whether a post can still be edited, unscheduled or published now.
pub fn editable(status: &str) -> bool {
    matches!(status, "DRAFT" | "SCHEDULED" | "FAILED" | "MISSED")
}

/// The first words of a text, for chips and lists.
pub fn first_words(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        flat
    } else {
        let mut cut: String = flat.chars().take(chars).collect();
        cut.push('…');
        cut
    }
}

/// A post's content, targets, plugs and actions. `changed` is called with the post after an
/// action, or `None` once it is deleted.
#[component]
pub fn PostDetails(
    post: PostSummary,
    #[prop(into)] workspace_id: String,
    #[prop(into)] changed: Callback<Option<PostSummary>>,
    /// Whether "Delete" awaits confirmation; owned by the caller when the panel is re-rendered
    /// while open (the drawer refreshes).
    #[prop(optional)]
    confirming: Option<RwSignal<bool>>,
) -> impl IntoView {
    let toasts = Toasts::get();
    let ws = StoredValue::new(workspace_id);
    let publish = ServerAction::<PublishPostNow>::new();
    let duplicate = ServerAction::<DuplicatePost>::new();
    let retry = ServerAction::<RetryTarget>::new();
    let unschedule = ServerAction::<UnschedulePost>::new();
    let delete = ServerAction::<DeletePost>::new();
    let confirming = confirming.unwrap_or_else(|| RwSignal::new(false));
    let report =
        move |result: Option<Result<PostSummary, AppError>>, done: &'static str| match result {
            Some(Ok(post)) => {
                toasts.show(Tone::Ok, done);
                changed.run(Some(post));
            }
            Some(Err(err)) => toasts.show(Tone::Error, err.to_string()),
            None => {}
        };
    Effect::new(move |_| report(publish.value().get(), "Publishing now."));
    Effect::new(move |_| report(retry.value().get(), "Trying again now."));
    Effect::new(move |_| report(unschedule.value().get(), "Moved back to drafts."));
    Effect::new(move |_| match duplicate.value().get() {
        Some(Ok(copy)) => {
            toasts.show(Tone::Ok, "Copied to a new draft.");
            crate::components::forms::go_to(&format!("/compose?post={}", copy.id));
        }
        Some(Err(err)) => toasts.show(Tone::Error, err.to_string()),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            toasts.show(Tone::Ok, "Post deleted.");
            changed.run(None);
        }
        Some(Err(err)) => toasts.show(Tone::Error, err.to_string()),
        None => {}
    });
    let pending = Signal::derive(move || {
        publish.pending().get()
            || duplicate.pending().get()
            || retry.pending().get()
            || unschedule.pending().get()
            || delete.pending().get()
    });

    let id = StoredValue::new(post.id.clone());
    let version = post.version;
    let status = post.status.clone();
    let can_edit = editable(&status);
    let targets = post.targets.clone();
    let plug_rows = post
        .plugs
        .iter()
        .map(|plug| {
            let target = targets.iter().find(|t| t.platform == plug.platform);
            let story = plug_story(plug, target);
            let url = plug.url.clone();
            view! {
                <li class="plug-row" data-testid="plug-row">
                    <NetworkMark slug=plug.platform.clone() />
                    <div class="plug-row__body">
                        <p class="plug-row__text">{first_words(&plug.text, 120)}</p>
                        <p class="muted plug-row__story" data-testid="plug-story">
                            <StatusPill status=plug.status.clone() />
                            " " {story} " "
                            {url.map(|u| view! { <a href=u target="_blank" rel="noopener" data-testid="plug-link">"View reply"</a> })}
                        </p>
                    </div>
                </li>
            }
        })
        .collect_view();
    let target_rows = targets
        .into_iter()
        .map(|t| {
            let failed = t.state == "FAILED";
            let target_id = t.id.clone();
            let name = Platform::from_slug(&t.platform).map_or("", Platform::display_name);
            view! {
                <li class="target-row" data-testid="target-row">
                    <NetworkMark slug=t.platform.clone() />
                    <div class="target-row__body">
                        <p>
                            <StatusPill status=t.state.clone() />
                            " "
                            {t.url.clone().map(|u| view! {
                                <a href=u target="_blank" rel="noopener" data-testid="target-link">{format!("View on {name}")}</a>
                            })}
                        </p>
                        {t.fail_reason.clone().map(|r| view! { <p class="form-error">{r}</p> })}
                        {(t.state == "PUBLISHED").then(|| view! {
                            <p class="muted counts" data-testid="counts">
                                {format!("{} likes · {} comments · {} reposts", t.likes, t.comments, t.reposts)}
                            </p>
                        })}
                    </div>
                    {failed.then(|| view! {
                        <button type="button" class="button button--small" disabled=pending
                            on:click=move |_| { retry.dispatch(RetryTarget { workspace_id: ws.get_value(), target_id: target_id.clone() }); }>
                            "Retry"
                        </button>
                    })}
                </li>
            }
        })
        .collect_view();

    view! {
        <div class="post-details" data-testid="post-details" data-status=status.clone()>
            <p class="post-details__meta">
                <StatusPill status=status.clone() />
                " "
                <span class="muted">{post.local_label.clone().unwrap_or_else(|| "No time set".into())}</span>
            </p>
            {post.note.clone().map(|n| view! { <p class="banner banner--warn">{n}</p> })}
            <p class="post-details__text">{post.text.clone()}</p>
            <crate::components::media::Gallery media=post.media.clone() />
            <h3 class="section-title">"Networks"</h3>
            <ul class="plain-list">{target_rows}</ul>
            {(!post.plugs.is_empty()).then(|| view! {
                <h3 class="section-title">"Auto-plug"</h3>
                <ul class="plain-list">{plug_rows}</ul>
            })}
            <div class="post-details__actions">
                {can_edit.then(|| view! {
                    <a class="button" href=format!("/compose?post={}", id.get_value())>"Edit"</a>
                    <button type="button" class="button button--primary" disabled=pending data-testid="publish-now"
                        on:click=move |_| { publish.dispatch(PublishPostNow { workspace_id: ws.get_value(), post_id: id.get_value(), version }); }>
                        "Publish now"
                    </button>
                })}
                {(status == "SCHEDULED").then(|| view! {
                    <button type="button" class="button" disabled=pending
                        on:click=move |_| { unschedule.dispatch(UnschedulePost { workspace_id: ws.get_value(), post_id: id.get_value(), version }); }>
                        "Unschedule"
                    </button>
                })}
                <button type="button" class="button" disabled=pending
                    on:click=move |_| { duplicate.dispatch(DuplicatePost { workspace_id: ws.get_value(), post_id: id.get_value() }); }>
                    "Duplicate"
                </button>
                {(status != "PUBLISHING").then(|| view! {
                    <Show when=move || confirming.get() fallback=move || view! {
                        <button type="button" class="button button--danger" on:click=move |_| confirming.set(true)>"Delete"</button>
                    }>
                        <span class="confirm" role="group" aria-label="Confirm deleting">
                            <span>"Delete for good?"</span>
                            <button type="button" class="button button--danger button--small" disabled=pending
                                on:click=move |_| { delete.dispatch(DeletePost { workspace_id: ws.get_value(), post_id: id.get_value() }); }>
                                "Delete"
                            </button>
                            <button type="button" class="button button--small" on:click=move |_| confirming.set(false)>"Keep"</button>
                        </span>
                    </Show>
                })}
            </div>
        </div>
    }
}
