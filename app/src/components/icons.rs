//! OmniPlug's small inline SVG icon set. Every icon carries an accessible name, or is hidden
//! from assistive technology when the text beside it already says the same.

use leptos::prelude::*;

/// Which icon to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconKind {
    /// The OmniPlug mark: a plug.
    Logo,
    Dashboard,
    Compose,
    Schedule,
    Analytics,
    Posts,
    Settings,
    Connections,
    Menu,
    Heart,
    Reply,
    Check,
    /// A picture: the media library.
    Media,
}

impl IconKind {
    fn paths(self) -> &'static str {
        match self {
            IconKind::Media => "M3 5h18v14H3zM3 16l5-5 4 4 3-3 6 6M15.5 9.5h.01",
            IconKind::Logo => "M9 2v5M15 2v5M6 7h12v4a6 6 0 0 1-12 0zM12 17v5",
            IconKind::Dashboard => "M3 3h8v8H3zM13 3h8v5h-8zM13 10h8v11h-8zM3 13h8v8H3z",
            IconKind::Compose => "M4 20h4L19 9l-4-4L4 16zM14 6l4 4",
            IconKind::Schedule => "M4 5h16v15H4zM4 10h16M8 3v4M16 3v4",
            IconKind::Analytics => "M4 20V10M10 20V4M16 20v-7M22 20H2",
            IconKind::Posts => "M5 4h14v16H5zM8 8h8M8 12h8M8 16h5",
            IconKind::Settings => {
                "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2"
            }
            IconKind::Connections => {
                "M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1"
            }
            IconKind::Menu => "M3 6h18M3 12h18M3 18h18",
            IconKind::Heart => "M12 20s-7-4.5-9-9a5 5 0 0 1 9-3 5 5 0 0 1 9 3c-2 4.5-9 9-9 9z",
            IconKind::Reply => "M10 8L4 13l6 5M4 13h11a5 5 0 0 1 5 5",
            IconKind::Check => "M4 12l5 5L20 6",
        }
    }
}

/// An icon. With `label` it is announced; without, it is decorative.
#[component]
pub fn Icon(
    kind: IconKind,
    #[prop(optional, into)] label: Option<String>,
    #[prop(default = 20)] size: u32,
) -> impl IntoView {
    let decorative = label.is_none();
    view! {
        <svg
            class="icon"
            width=size
            height=size
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            role=(!decorative).then_some("img")
            aria-hidden=decorative.then_some("true")
            aria-label=label
        >
            <path d=kind.paths() />
        </svg>
    }
}
