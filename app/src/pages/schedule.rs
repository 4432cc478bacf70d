//! `/schedule`: not built yet; says so plainly instead of pretending.

use leptos::prelude::*;

use crate::components::layout::{AppShell, EmptyState};

/// `/schedule`
#[component]
pub fn SchedulePage() -> impl IntoView {
    view! {
        <AppShell title="Schedule">
            <EmptyState title="Not built yet" body="The calendar is not built yet. It will show your week and month with drag-and-drop rescheduling." />
        </AppShell>
    }
}
