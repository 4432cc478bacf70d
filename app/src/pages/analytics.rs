//! `/analytics`: not built yet; says so plainly instead of pretending.

use leptos::prelude::*;

use crate::components::layout::{AppShell, EmptyState};

/// `/analytics`
#[component]
pub fn AnalyticsPage() -> impl IntoView {
    view! {
        <AppShell title="Analytics">
            <EmptyState title="Not built yet" body="Analytics are not built yet. They will chart engagement per post and suggest the best time to post." />
        </AppShell>
    }
}
