//! `/settings`: not built yet; says so plainly instead of pretending.

use leptos::prelude::*;

use crate::components::layout::{AppShell, EmptyState};

/// `/settings`
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <AppShell title="Settings">
            <EmptyState title="Not built yet" body="Settings are not built yet. Profile, workspaces, members, connections and billing will live here." />
        </AppShell>
    }
}
