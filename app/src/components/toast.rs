//! Toasts: short results of actions ("Scheduled for Mon 23 Nov, 09:00 CET"), stacked at the
//! bottom right, announced to screen readers, gone after a few seconds or on click.

use leptos::prelude::*;

/// How a toast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// It worked.
    Ok,
    /// It did not; the text says what to do.
    Error,
}

#[derive(Debug, Clone)]
struct Toast {
    id: u64,
    tone: Tone,
    text: String,
}

/// The toasts of the page (provided by [`Toaster`]).
#[derive(Debug, Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: RwSignal<u64>,
}

impl Toasts {
    /// Shows `text` for five seconds.
    pub fn show(self, tone: Tone, text: impl Into<String>) {
        let id = self.next.get_untracked();
        self.next.set(id + 1);
        self.list.update(|l| {
            l.push(Toast {
                id,
                tone,
                text: text.into(),
            });
        });
        let list = self.list;
        set_timeout(
            move || list.update(|l| l.retain(|t| t.id != id)),
            std::time::Duration::from_secs(5),
        );
    }

    /// The page's toasts; a no-op stand-in outside a [`Toaster`].
    pub fn get() -> Self {
        use_context::<Self>().unwrap_or(Self {
            list: RwSignal::new(Vec::new()),
            next: RwSignal::new(0),
        })
    }
}

/// Provides [`Toasts`] to everything inside and shows them.
#[component]
pub fn Toaster(children: Children) -> impl IntoView {
    let toasts = Toasts {
        list: RwSignal::new(Vec::new()),
        next: RwSignal::new(0),
    };
    provide_context(toasts);
    view! {
        {children()}
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For each=move || toasts.list.get() key=|t| t.id let:toast>
                <button
                    type="button"
                    class=if toast.tone == Tone::Ok { "toast toast--ok" } else { "toast toast--error" }
                    title="Dismiss"
                    on:click=move |_| toasts.list.update(|l| l.retain(|t| t.id != toast.id))
                >
                    {toast.text.clone()}
                </button>
            </For>
        </div>
    }
}
