//! `/posts`: every post, filtered by status and network, searched by text, a page at a time
//! (the filters are a plain GET form, so the list works from the server-rendered HTML);
//! `/posts/:id`: one post with its engagement per network and its plug's story.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use omniplug_platforms::Platform;

use crate::{
    components::{
        forms::go_to,
        layout::{AppShell, EmptyState},
        post::{NetworkMark, PostDetails, StatusPill, first_words},
    },
    error::AppError,
    posts::{PostFilter, PostSummary, get_post, list_posts},
    session::Me,
};

const STATUSES: [(&str, &str); 7] = [
    ("", "Any status"),
    ("DRAFT", "Drafts"),
    ("SCHEDULED", "Scheduled"),
    ("PUBLISHED", "Published"),
    ("FAILED", "Failed"),
    ("MISSED", "Missed"),
    ("PUBLISHING", "Publishing"),
];

/// `/posts`
#[component]
pub fn PostsPage() -> impl IntoView {
    let me = Me::get();
    let query = use_query_map();
    let filter = move || {
        query.with(|q| PostFilter {
            status: q.get("status").unwrap_or_default(),
            platform: q.get("network").unwrap_or_default(),
            search: q.get("q").unwrap_or_default(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
            ..PostFilter::default()
        })
    };
    let data = Resource::new(filter, move |filter| async move {
        list_posts(me.workspace_id().await?, filter).await
    });
    let action =
        view! { <a class="button button--primary" href="/compose">"New post"</a> }.into_any();
    view! {
        <AppShell title="Posts" action=action>
            <form class="filters card" method="get" action="/posts" role="search">
                <label class="field">
                    <span class="field__label">"Status"</span>
                    <select name="status" prop:value=move || filter().status>
                        {STATUSES.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field__label">"Network"</span>
                    <select name="network" prop:value=move || filter().platform>
                        <option value="">"Any network"</option>
                        {Platform::ALL.into_iter().map(|p| view! { <option value=p.slug()>{p.display_name()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field filters__search">
                    <span class="field__label">"Search"</span>
                    <input type="search" name="q" placeholder="Words in the text" prop:value=move || filter().search />
                </label>
                <button type="submit" class="button">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading posts…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(list) if list.posts.is_empty() => view! {
                            <EmptyState
                                title="No posts match"
                                body="Change the filters, or write something new."
                                action=("Write a post", "/compose")
                            />
                        }.into_any(),
                        Ok(list) => {
                            let f = filter();
                            let page = f.page.max(1);
                            let pages = list.total.div_ceil(list.per_page).max(1);
                            let link = move |n: u64| format!(
                                "/posts?status={}&network={}&q={}&page={n}",
                                f.status, f.platform, encode(&f.search)
                            );
                            view! {
                                <p class="muted">{format!("{} post{}", list.total, if list.total == 1 { "" } else { "s" })}</p>
                                <ul class="post-list card" data-testid="post-list">
                                    {list.posts.into_iter().map(|p| view! { <PostRow post=p /> }).collect_view()}
                                </ul>
                                <nav class="pager" aria-label="Pages">
                                    {(page > 1).then(|| view! { <a class="button button--small" href=link(page - 1)>"Newer"</a> })}
                                    <span class="muted">{format!("Page {page} of {pages}")}</span>
                                    {(page < pages).then(|| view! { <a class="button button--small" href=link(page + 1)>"Older"</a> })}
                                </nav>
                            }.into_any()
                        }
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AppShell>
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[component]
fn PostRow(post: PostSummary) -> impl IntoView {
    let mut networks: Vec<String> = post.targets.iter().map(|t| t.platform.clone()).collect();
    networks.dedup();
    let likes: i64 = post.targets.iter().map(|t| t.likes).sum();
    let href = format!("/posts/{}", post.id);
    view! {
        <li class="post-row">
            <a class="post-row__link" href=href>
                <span class="post-row__nets">{networks.into_iter().map(|n| view! { <NetworkMark slug=n /> }).collect_view()}</span>
                <span class="post-row__text">{first_words(&post.text, 110)}</span>
                <span class="post-row__when muted">{post.local_label.clone().unwrap_or_else(|| "No time set".into())}</span>
                {(post.status == "PUBLISHED" || post.status == "PARTIALLY_PUBLISHED").then(|| view! {
                    <span class="muted">{format!("{likes} likes")}</span>
                })}
                <StatusPill status=post.status.clone() />
            </a>
        </li>
    }
}

/// `/posts/:id`
#[component]
pub fn PostPage() -> impl IntoView {
    let me = Me::get();
    let params = use_params_map();
    let refresh = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                params.with(|p| p.get("id")).unwrap_or_default(),
                refresh.get(),
            )
        },
        move |(id, _)| async move {
            let ws = me.workspace_id().await?;
            let post = get_post(ws.clone(), id).await?;
            Ok::<_, AppError>((ws, post))
        },
    );
    let changed = Callback::new(move |post: Option<PostSummary>| match post {
        Some(_) => refresh.update(|n| *n += 1),
        None => go_to("/posts"),
    });
    view! {
        <AppShell title="Post">
            <p><a href="/posts">"← All posts"</a></p>
            <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok((ws, post)) => view! {
                            <section class="card post-page">
                                <PostDetails post workspace_id=ws changed />
                            </section>
                        }.into_any(),
                        Err(AppError::NotFound) => view! {
                            <EmptyState
                                title="This post is gone"
                                body="It was deleted, or it belongs to another workspace."
                                action=("All posts", "/posts")
                            />
                        }.into_any(),
                        Err(err) => view! { <p class="banner banner--error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AppShell>
    }
}
