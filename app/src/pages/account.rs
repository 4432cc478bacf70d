//! `/login` and `/signup`: the two doors in. Both go on to `?next=` (a path on this site) or
//! the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    auth::{LogIn, SignUp},
    components::{
        forms::{FormError, browser_time_zone, error_text, go_to},
        icons::{Icon, IconKind},
    },
    routes::safe_next,
};

/// The centred card with the brand above it, for pages outside the app shell.
#[component]
pub fn AuthFrame(#[prop(into)] tab_title: String, children: Children) -> impl IntoView {
    view! {
        <Title text=tab_title />
        <main class="auth">
            <a class="brand auth__brand" href="/" aria-label="OmniPlug home">
                <Icon kind=IconKind::Logo size=28 />
                <span class="brand__name">"OmniPlug"</span>
            </a>
            <section class="card auth__card">{children()}</section>
        </main>
    }
}

/// [`AuthFrame`] with the title as the card's heading.
#[component]
fn AuthCard(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <AuthFrame tab_title=title.clone()>
            <h1 class="auth__title">{title}</h1>
            {children()}
        </AuthFrame>
    }
}

fn next_param() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| safe_next(query.read().get("next").as_deref()))
}

fn with_next(path: &str, next: &str) -> String {
    if next == "/dashboard" {
        path.to_owned()
    } else {
        // Same encoding as the login redirect, under another path.
        crate::routes::login_url(next).replacen("/login", path, 1)
    }
}

/// `/login`
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let next = next_param();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            go_to(&next.get_untracked());
        }
    });
    let pending = action.pending();
    view! {
        <AuthCard title="Log in">
            <ActionForm action=action attr:class="form" attr:aria-label="Log in">
                <label class="field">
                    <span class="field__label">"E-mail"</span>
                    <input type="email" name="email" autocomplete="email" required autofocus />
                </label>
                <label class="field">
                    <span class="field__label">"Password"</span>
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <FormError error=error_text(action.value()) />
                <button type="submit" class="button button--primary button--block" disabled=pending>
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="auth__switch muted">
                "New to OmniPlug? "
                <a href=move || with_next("/signup", &next.get())>"Create an account"</a>
            </p>
        </AuthCard>
    }
}

/// `/signup`
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let next = next_param();
    let (time_zone, set_time_zone) = signal("UTC".to_owned());
    Effect::new(move |_| {
        if let Some(zone) = browser_time_zone() {
            set_time_zone.set(zone);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            go_to(&next.get_untracked());
        }
    });
    let pending = action.pending();
    view! {
        <AuthCard title="Create your account">
            <ActionForm action=action attr:class="form" attr:aria-label="Sign up">
                <label class="field">
                    <span class="field__label">"Name"</span>
                    <input type="text" name="name" autocomplete="name" maxlength="100" required autofocus />
                </label>
                <label class="field">
                    <span class="field__label">"E-mail"</span>
                    <input type="email" name="email" autocomplete="email" required />
                </label>
                <label class="field">
                    <span class="field__label">"Password"</span>
                    <input
                        type="password"
                        name="password"
                        autocomplete="new-password"
                        minlength="10"
                        required
                        aria-describedby="password-hint"
                    />
                    <span class="field__hint" id="password-hint">"At least 10 characters, not a common password."</span>
                </label>
                <input type="hidden" name="timezone" prop:value=move || time_zone.get() />
                <p class="field__hint">
                    "Times will show in " <strong>{move || time_zone.get()}</strong> " (change it later in Settings)."
                </p>
                <FormError error=error_text(action.value()) />
                <button type="submit" class="button button--primary button--block" disabled=pending>
                    {move || if pending.get() { "Creating your account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="auth__switch muted">
                "Already have an account? "
                <a href=move || with_next("/login", &next.get())>"Log in"</a>
            </p>
        </AuthCard>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_next_only_when_it_is_not_the_default() {
        assert_eq!(with_next("/signup", "/dashboard"), "/signup");
        assert_eq!(
            with_next("/signup", "/invite/abc?x=1"),
            "/signup?next=/invite/abc%3Fx%3D1"
        );
    }
}
