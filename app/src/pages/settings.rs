//! `/settings` (profile, password, sessions), `/settings/workspace` (name, new workspace,
//! leave, delete) and `/settings/members` (members, roles, invitations).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    auth::{ChangePassword, LogOutEverywhere, UpdateProfile, list_time_zones},
    components::{
        forms::{FormError, FormSuccess, error_text, go_to, reload},
        layout::AppShell,
    },
    session::{Me, role_at_least},
    workspaces::{
        ChangeMemberRole, CreateWorkspace, DeleteWorkspace, InviteMember, LeaveWorkspace,
        RemoveMember, RenameWorkspace, RevokeInvitation, TransferOwnership, list_members,
    },
};

/// Tabs across the settings pages.
#[component]
fn SettingsTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings sections">
            <A href="/settings" exact=true attr:class="tabs__tab">"Profile"</A>
            <A href="/settings/workspace" attr:class="tabs__tab">"Workspace"</A>
            <A href="/settings/members" attr:class="tabs__tab">"Members"</A>
        </nav>
    }
}

fn loading() -> impl IntoView {
    view! { <p class="muted" aria-busy="true">"Loading…"</p> }
}

/// `/settings`
#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = Me::get();
    let zones = Resource::new(|| (), |_| list_time_zones());
    let profile = ServerAction::<UpdateProfile>::new();
    let password = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<LogOutEverywhere>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = profile.value().get() {
            me.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = everywhere.value().get() {
            go_to("/login");
        }
    });
    let profile_saved = Signal::derive(move || {
        matches!(profile.value().get(), Some(Ok(_))).then(|| "Profile saved.".to_owned())
    });
    let password_changed = Signal::derive(move || match password.value().get() {
        Some(Ok(0)) => Some("Password changed.".to_owned()),
        Some(Ok(1)) => Some("Password changed. 1 other session was logged out.".to_owned()),
        Some(Ok(n)) => Some(format!(
            "Password changed. {n} other sessions were logged out."
        )),
        _ => None,
    });
    view! {
        <AppShell title="Settings">
            <SettingsTabs />
            <section class="card settings-section" aria-labelledby="profile-title">
                <h2 id="profile-title" class="card__title">"Profile"</h2>
                <Transition fallback=loading>
                    {move || Suspend::new(async move {
                        let user = me.0.await.ok().flatten();
                        let zones = zones.await.unwrap_or_default();
                        user.map(|user| {
                            let current = user.timezone.clone();
                            view! {
                                <ActionForm action=profile attr:class="form" attr:aria-label="Profile">
                                    <label class="field">
                                        <span class="field__label">"E-mail"</span>
                                        <input type="email" value=user.email.clone() disabled />
                                    </label>
                                    <label class="field">
                                        <span class="field__label">"Name"</span>
                                        <input type="text" name="name" value=user.name.clone() maxlength="100" required autocomplete="name" />
                                    </label>
                                    <label class="field">
                                        <span class="field__label">"Time zone"</span>
                                        <select name="timezone">
                                            {zones
                                                .into_iter()
                                                .map(|zone| {
                                                    let selected = zone == current;
                                                    view! { <option value=zone.clone() selected=selected>{zone.clone()}</option> }
                                                })
                                                .collect_view()}
                                        </select>
                                        <span class="field__hint">"Schedules and the calendar use this zone."</span>
                                    </label>
                                    <FormError error=error_text(profile.value()) />
                                    <FormSuccess message=profile_saved />
                                    <button type="submit" class="button button--primary" disabled=profile.pending()>"Save profile"</button>
                                </ActionForm>
                            }
                        })
                    })}
                </Transition>
            </section>
            <section class="card settings-section" aria-labelledby="password-title">
                <h2 id="password-title" class="card__title">"Password"</h2>
                <ActionForm action=password attr:class="form" attr:aria-label="Change password">
                    <label class="field">
                        <span class="field__label">"Current password"</span>
                        <input type="password" name="current_password" autocomplete="current-password" required />
                    </label>
                    <label class="field">
                        <span class="field__label">"New password"</span>
                        <input type="password" name="new_password" autocomplete="new-password" minlength="10" required />
                        <span class="field__hint">"At least 10 characters. Your other sessions will be logged out."</span>
                    </label>
                    <FormError error=error_text(password.value()) />
                    <FormSuccess message=password_changed />
                    <button type="submit" class="button button--primary" disabled=password.pending()>"Change password"</button>
                </ActionForm>
            </section>
            <section class="card settings-section" aria-labelledby="sessions-title">
                <h2 id="sessions-title" class="card__title">"Sessions"</h2>
                <p class="muted">"Lost a device or used a shared computer? End every session, this one included."</p>
                <ActionForm action=everywhere attr:class="form">
                    <FormError error=error_text(everywhere.value()) />
                    <button type="submit" class="button button--danger" disabled=everywhere.pending()>"Log out everywhere"</button>
                </ActionForm>
            </section>
        </AppShell>
    }
}

/// `/settings/workspace`
#[component]
pub fn WorkspaceSettingsPage() -> impl IntoView {
    let me = Me::get();
    let rename = ServerAction::<RenameWorkspace>::new();
    let create = ServerAction::<CreateWorkspace>::new();
    let leave = ServerAction::<LeaveWorkspace>::new();
    let delete = ServerAction::<DeleteWorkspace>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = rename.value().get() {
            me.refetch();
        }
    });
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_)))
            || matches!(leave.value().get(), Some(Ok(_)))
            || matches!(delete.value().get(), Some(Ok(_)))
        {
            go_to("/dashboard");
        }
    });
    let renamed = Signal::derive(move || {
        matches!(rename.value().get(), Some(Ok(_))).then(|| "Workspace renamed.".to_owned())
    });
    view! {
        <AppShell title="Settings">
            <SettingsTabs />
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    let workspace = me.0.await.ok().flatten().and_then(|u| u.workspace);
                    let Some(ws) = workspace else {
                        return view! {
                            <p class="muted">"You are not in any workspace yet. Create one below."</p>
                        }.into_any();
                    };
                    let can_manage = role_at_least(&ws.role, "admin");
                    let is_owner = ws.role == "owner";
                    let id = StoredValue::new(ws.id.clone());
                    let name = StoredValue::new(ws.name.clone());
                    view! {
                        <section class="card settings-section" aria-labelledby="workspace-title">
                            <h2 id="workspace-title" class="card__title">"This workspace"</h2>
                            <p class="muted">"You are " <strong>{ws.role.clone()}</strong> " here."</p>
                            <ActionForm action=rename attr:class="form" attr:aria-label="Rename workspace">
                                <input type="hidden" name="workspace_id" value=id.get_value() />
                                <label class="field">
                                    <span class="field__label">"Workspace name"</span>
                                    <input type="text" name="name" value=name.get_value() maxlength="80" required disabled=!can_manage />
                                    {(!can_manage).then(|| view! { <span class="field__hint">"Admins and owners can rename the workspace."</span> })}
                                </label>
                                <FormError error=error_text(rename.value()) />
                                <FormSuccess message=renamed />
                                {can_manage.then(|| view! {
                                    <button type="submit" class="button button--primary" disabled=rename.pending()>"Rename"</button>
                                })}
                            </ActionForm>
                        </section>
                        <section class="card settings-section" aria-labelledby="leave-title">
                            <h2 id="leave-title" class="card__title">"Leave or delete"</h2>
                            <ActionForm action=leave attr:class="form form--inline">
                                <input type="hidden" name="workspace_id" value=id.get_value() />
                                <button type="submit" class="button" disabled=leave.pending()>"Leave this workspace"</button>
                            </ActionForm>
                            <FormError error=error_text(leave.value()) />
                            {is_owner.then(|| view! {
                                <ActionForm action=delete attr:class="form" attr:aria-label="Delete workspace">
                                    <input type="hidden" name="workspace_id" value=id.get_value() />
                                    <label class="field">
                                        <span class="field__label">"Type " <strong>{name.get_value()}</strong> " to delete it with all its posts and connections"</span>
                                        <input type="text" name="confirm" autocomplete="off" required />
                                    </label>
                                    <FormError error=error_text(delete.value()) />
                                    <button type="submit" class="button button--danger" disabled=delete.pending()>"Delete workspace"</button>
                                </ActionForm>
                            })}
                        </section>
                    }.into_any()
                })}
            </Transition>
            <section class="card settings-section" aria-labelledby="new-workspace-title">
                <h2 id="new-workspace-title" class="card__title">"New workspace"</h2>
                <p class="muted">"One per brand or client: each has its own connections, posts and members."</p>
                <ActionForm action=create attr:class="form" attr:aria-label="New workspace">
                    <label class="field">
                        <span class="field__label">"Name"</span>
                        <input type="text" name="name" maxlength="80" required placeholder="Acme Inc." />
                    </label>
                    <FormError error=error_text(create.value()) />
                    <button type="submit" class="button button--primary" disabled=create.pending()>"Create workspace"</button>
                </ActionForm>
            </section>
        </AppShell>
    }
}

/// `/settings/members`
#[component]
pub fn MembersPage() -> impl IntoView {
    let me = Me::get();
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let transfer = ServerAction::<TransferOwnership>::new();
    // Awaits the user inside the fetcher rather than tracking it as a source: tracked, the
    // first server-side run saw "not loaded yet" and could render the empty state for good.
    let members = Resource::new(
        move || {
            (
                invite.version().get(),
                revoke.version().get(),
                change.version().get(),
                remove.version().get(),
                transfer.version().get(),
            )
        },
        move |_| async move {
            let workspace = me.0.await?.and_then(|user| user.workspace);
            match workspace {
                Some(ws) => list_members(ws.id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let row_error = Signal::derive(move || {
        [
            error_text(change.value()).get(),
            error_text(remove.value()).get(),
            error_text(revoke.value()).get(),
            error_text(transfer.value()).get(),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = transfer.value().get() {
            reload();
        }
    });
    let created = move || invite.value().get().and_then(Result::ok);
    view! {
        <AppShell title="Settings">
            <SettingsTabs />
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    let view = match members.await {
                        Ok(Some(view)) => view,
                        Ok(None) => return view! { <p class="muted">"You are not in any workspace yet."</p> }.into_any(),
                        Err(err) => return view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any(),
                    };
                    let ws = view.workspace.clone();
                    let can_manage = role_at_least(&ws.role, "admin");
                    let is_owner = ws.role == "owner";
                    let ws_id = StoredValue::new(ws.id.clone());
                    let rows = view.members.clone().into_iter().map(|m| {
                        let member_id = StoredValue::new(m.id.clone());
                        let editable = can_manage && !m.is_you && (is_owner || m.role != "owner");
                        let on_role = move |ev: leptos::ev::Event| {
                            change.dispatch(ChangeMemberRole {
                                workspace_id: ws_id.get_value(),
                                member_id: member_id.get_value(),
                                role: event_target_value(&ev),
                            });
                        };
                        let roles: &[&str] = if is_owner { &["owner", "admin", "editor", "viewer"] } else { &["admin", "editor", "viewer"] };
                        let role_cell = if editable {
                            let current = m.role.clone();
                            view! {
                                <select aria-label=format!("Role of {}", m.name) on:change=on_role>
                                    {roles.iter().map(|r| view! { <option value=*r selected=*r == current>{*r}</option> }).collect_view()}
                                </select>
                            }.into_any()
                        } else {
                            view! { <span class="role-pill">{m.role.clone()}</span> }.into_any()
                        };
                        let actions = editable.then(|| {
                            let name = m.name.clone();
                            view! {
                                {(is_owner && m.role != "owner").then(|| view! {
                                    <button type="button" class="button button--small" on:click=move |_| {
                                        if confirmed("Make them owner? You will become an admin.") {
                                            transfer.dispatch(TransferOwnership { workspace_id: ws_id.get_value(), member_id: member_id.get_value() });
                                        }
                                    }>"Make owner"</button>
                                })}
                                <button type="button" class="button button--small button--danger" aria-label=format!("Remove {name}") on:click=move |_| {
                                    if confirmed("Remove this member from the workspace?") {
                                        remove.dispatch(RemoveMember { workspace_id: ws_id.get_value(), member_id: member_id.get_value() });
                                    }
                                }>"Remove"</button>
                            }
                        });
                        view! {
                            <tr>
                                <td>
                                    <span class="member__name">{m.name.clone()}</span>
                                    {m.is_you.then(|| view! { <span class="muted">" (you)"</span> })}
                                    <br /><span class="muted member__email">{m.email.clone()}</span>
                                </td>
                                <td>{role_cell}</td>
                                <td class="muted">{m.joined.clone()}</td>
                                <td class="table__actions">{actions}</td>
                            </tr>
                        }
                    }).collect_view();
                    let invites = view.invitations.clone();
                    let pending = (!invites.is_empty()).then(|| view! {
                        <h3 class="section-title">"Pending invitations"</h3>
                        <ul class="invites">
                            {invites.into_iter().map(|inv| {
                                let inv_id = StoredValue::new(inv.id.clone());
                                view! {
                                    <li class="invites__item">
                                        <span>{inv.email.clone()} " · " {inv.role.clone()}</span>
                                        <span class="muted">"expires " {inv.expires.clone()}</span>
                                        {can_manage.then(|| view! {
                                            <button type="button" class="button button--small" on:click=move |_| {
                                                revoke.dispatch(RevokeInvitation { workspace_id: ws_id.get_value(), invitation_id: inv_id.get_value() });
                                            }>"Revoke"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    });
                    view! {
                        <section class="card settings-section" aria-labelledby="members-title">
                            <h2 id="members-title" class="card__title">{format!("Members of {}", ws.name)}</h2>
                            <FormError error=row_error />
                            <table class="table">
                                <thead><tr><th scope="col">"Person"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {pending}
                        </section>
                        {can_manage.then(|| view! {
                            <section class="card settings-section" aria-labelledby="invite-title">
                                <h2 id="invite-title" class="card__title">"Invite someone"</h2>
                                <ActionForm action=invite attr:class="form form--row" attr:aria-label="Invite">
                                    <input type="hidden" name="workspace_id" value=ws_id.get_value() />
                                    <label class="field">
                                        <span class="field__label">"E-mail"</span>
                                        <input type="email" name="email" required placeholder="teammate@example.com" />
                                    </label>
                                    <label class="field">
                                        <span class="field__label">"Role"</span>
                                        <select name="role">
                                            <option value="editor" selected>"editor: writes and schedules"</option>
                                            <option value="viewer">"viewer: reads"</option>
                                            <option value="admin">"admin: also members, connections, billing"</option>
                                        </select>
                                    </label>
                                    <button type="submit" class="button button--primary" disabled=invite.pending()>"Create invite link"</button>
                                </ActionForm>
                                <FormError error=error_text(invite.value()) />
                                {move || created().map(|c| {
                                    let link = format!("{}{}", origin(), c.link);
                                    view! {
                                        <div class="invite-link" role="status">
                                            <p>"Send this link to " <strong>{c.invite.email.clone()}</strong> ". It works once and expires " {c.invite.expires.clone()} "."</p>
                                            <input type="text" readonly class="invite-link__url" aria-label="Invite link" value=link.clone() on:focus=|ev| select_all(&ev) />
                                            <button type="button" class="button button--small" on:click=move |_| copy(&link)>"Copy link"</button>
                                        </div>
                                    }
                                })}
                            </section>
                        })}
                    }.into_any()
                })}
            </Transition>
        </AppShell>
    }
}

/// Asks before a change that is hard to undo.
fn confirmed(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

fn select_all(ev: &leptos::ev::FocusEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// `navigator.clipboard.writeText(text)`, looked up dynamically (not every context has it).
#[cfg(feature = "hydrate")]
fn copy(text: &str) {
    use js_sys::{Function, Reflect};
    use leptos::wasm_bindgen::{JsCast, JsValue};
    let window: JsValue = window().into();
    let Ok(navigator) = Reflect::get(&window, &JsValue::from_str("navigator")) else {
        return;
    };
    let Ok(clipboard) = Reflect::get(&navigator, &JsValue::from_str("clipboard")) else {
        return;
    };
    if let Ok(write) = Reflect::get(&clipboard, &JsValue::from_str("writeText"))
        .and_then(|f| f.dyn_into::<Function>())
    {
        let _ = write.call1(&clipboard, &JsValue::from_str(text));
    }
}

#[cfg(not(feature = "hydrate"))]
fn copy(_text: &str) {}
