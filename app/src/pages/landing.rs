//! The public landing page: what OmniPlug does, with a live auto-plug demo.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::icons::{Icon, IconKind};

/// `/`
#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <Title text="" />
        <div class="landing">
            <header class="landing__bar">
                <a class="brand" href="/" aria-label="OmniPlug home">
                    <Icon kind=IconKind::Logo size=24 />
                    <span class="brand__name">"OmniPlug"</span>
                </a>
                <span class="landing__bar-actions">
                    <a class="button" href="/login">"Log in"</a>
                    <a class="button button--primary" href="/dashboard">"Open the app"</a>
                </span>
            </header>
            <main class="landing__main" id="main">
                <section class="hero">
                    <h1 class="hero__title">"Plug your product every time a post takes off."</h1>
                    <p class="hero__lead">
                        "Write a post once and schedule it to X, LinkedIn, Instagram and Bluesky. "
                        "Attach an auto-plug — a reply with your call to action — and OmniPlug posts it "
                        "under your post by itself when it crosses the likes, comments or reposts you choose, "
                        "or a set time after it goes live."
                    </p>
                    <div class="hero__actions">
                        <a class="button button--primary button--large" href="/signup">"Start scheduling"</a>
                        <a class="button button--large" href="#how">"See how it works"</a>
                    </div>
                </section>
                <PlugDemo />
                <section class="features" id="how" aria-label="How it works">
                    <Feature title="Write once" body="One composer with each network's limits and a live preview of every card." />
                    <Feature title="On time, exactly once" body="A scheduled post goes out at its minute, once — even if a worker restarts mid-publish." />
                    <Feature title="Auto-plug" body="Your call to action, fired once per post and network, the moment the threshold is met." />
                    <Feature title="Try it without accounts" body="The built-in Sandbox network simulates engagement so you can watch a plug fire in minutes." />
                </section>
            </main>
            <footer class="landing__footer muted">"OmniPlug — a calm scheduler for people who write for a living."</footer>
        </div>
    }
}

#[component]
fn Feature(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <article class="feature card">
            <h2>{title}</h2>
            <p class="muted">{body}</p>
        </article>
    }
}

/// A post card with a like button and a threshold: once likes reach it, the plug reply appears.
#[component]
fn PlugDemo() -> impl IntoView {
    let (likes, set_likes) = signal(0u32);
    let (threshold, set_threshold) = signal(3u32);
    let fired = move || likes.get() >= threshold.get();

    view! {
        <section class="demo card" aria-labelledby="demo-title">
            <div class="demo__header">
                <h2 id="demo-title" class="demo__title">"Try it"</h2>
                <label class="demo__threshold">
                    "Likes needed"
                    <input
                        type="number"
                        min="1"
                        max="99"
                        inputmode="numeric"
                        prop:value=move || threshold.get().to_string()
                        on:input=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                                set_threshold.set(n.clamp(1, 99));
                            }
                        }
                    />
                </label>
            </div>
            <p class="muted demo__hint">"Like the post below. When it reaches the threshold, OmniPlug replies with your plug."</p>
            <article class="post-card">
                <div class="post-card__author">
                    <span class="avatar" aria-hidden="true">"A"</span>
                    <div>
                        <strong>"Ada Maker"</strong>
                        <span class="muted">" @ada · Sandbox"</span>
                    </div>
                </div>
                <p class="post-card__text">"I rebuilt my invoicing app in a weekend. Here is what I learned about shipping small."</p>
                <div class="post-card__actions">
                    <button
                        type="button"
                        class="like-button"
                        aria-pressed=move || (likes.get() > 0).to_string()
                        on:click=move |_| set_likes.update(|n| *n += 1)
                    >
                        <Icon kind=IconKind::Heart />
                        <span>"Like"</span>
                    </button>
                    <span class="like-count" aria-live="polite">
                        {move || match likes.get() {
                            1 => "1 like".to_owned(),
                            n => format!("{n} likes"),
                        }}
                    </span>
                </div>
            </article>
            <Show
                when=fired
                fallback=move || {
                    view! {
                        <p class="demo__waiting muted">
                            {move || {
                                let left = threshold.get().saturating_sub(likes.get());
                                format!("Plug waiting: {left} more like{} to go.", if left == 1 { "" } else { "s" })
                            }}
                        </p>
                    }
                }
            >
                <article class="post-card post-card--reply" role="status">
                    <div class="post-card__author">
                        <Icon kind=IconKind::Reply />
                        <strong>"Plug fired"</strong>
                        <span class="status-pill status-pill--published">"posted"</span>
                    </div>
                    <p class="post-card__text">"If this helped, the invoicing app is free for 30 days → ada.app/invoice"</p>
                </article>
            </Show>
        </section>
    }
}
