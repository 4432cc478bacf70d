//! `/compose`: not built yet; says so plainly instead of pretending.

use leptos::prelude::*;

use crate::components::layout::{AppShell, EmptyState};

/// `/compose`
#[component]
pub fn ComposePage() -> impl IntoView {
    view! {
        <AppShell title="Compose">
            <EmptyState title="Not built yet" body="The composer is not built yet. It will let you write once, pick networks and accounts, preview each card and attach an auto-plug." />
        </AppShell>
    }
}
