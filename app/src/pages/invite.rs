//! `/invite/:token`: what an invitation offers, and the button that accepts it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    components::forms::{FormError, error_text, go_to},
    pages::account::AuthFrame,
    session::Me,
    workspaces::{AcceptInvitation, get_invitation},
};

/// `/invite/:token`
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let invite = Resource::new(move || token.get(), get_invitation);
    let me = Me::get();
    let accept = ServerAction::<AcceptInvitation>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = accept.value().get() {
            go_to("/dashboard");
        }
    });
    let here = move || format!("/invite/{}", token.get());
    view! {
        <AuthFrame tab_title="Invitation">
                <Transition fallback=|| view! { <p class="muted" aria-busy="true">"Opening the invitation…"</p> }>
                    {move || Suspend::new(async move {
                        let user = me.0.await.ok().flatten();
                        match invite.await {
                            Err(err) => view! {
                                <h1 class="auth__title">"Invitation unavailable"</h1>
                                <p class="form-error" role="alert">{err.to_string()}</p>
                                <a class="button" href="/">"Go to OmniPlug"</a>
                            }.into_any(),
                            Ok(inv) => {
                                let who = inv.invited_by.clone().unwrap_or_else(|| "A teammate".into());
                                let join_label = format!("Join {}", inv.workspace_name);
                                let actions = match user {
                                    Some(user) => view! {
                                        <p class="muted">"You are logged in as " {user.email} "."</p>
                                        <ActionForm action=accept attr:class="form">
                                            <input type="hidden" name="token" prop:value=move || token.get() />
                                            <FormError error=error_text(accept.value()) />
                                            <button type="submit" class="button button--primary button--block" disabled=accept.pending()>
                                                {join_label}
                                            </button>
                                        </ActionForm>
                                    }.into_any(),
                                    None => view! {
                                        <div class="stack">
                                            <a class="button button--primary button--block" href=move || format!("/signup?next={}", here())>"Sign up to accept"</a>
                                            <a class="button button--block" href=move || format!("/login?next={}", here())>"I have an account: log in"</a>
                                        </div>
                                    }.into_any(),
                                };
                                view! {
                                    <h1 class="auth__title">{format!("Join {}", inv.workspace_name)}</h1>
                                    <p>
                                        {who} " invited " <strong>{inv.email.clone()}</strong>
                                        " to join " <strong>{inv.workspace_name.clone()}</strong>
                                        " as " {inv.role.clone()} "."
                                    </p>
                                    <p class="field__hint">"The link works once and expires " {inv.expires.clone()} "."</p>
                                    {actions}
                                }.into_any()
                            }
                        }
                    })}
                </Transition>
        </AuthFrame>
    }
}
