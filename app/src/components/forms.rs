//! Form pieces every page uses: labelled fields, the error line, the success line, and the
//! small browser-only helpers forms need.

use leptos::prelude::*;

use crate::error::AppError;

/// The error of the last submission, as the sentence to show.
pub fn error_text<T: Clone + Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        value
            .get()
            .and_then(|result| result.err())
            .map(|err| err.to_string())
    })
}

/// Shows `error` (if any) where screen readers announce it.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error
            .get()
            .map(|message| view! { <p class="form-error" role="alert">{message}</p> })
    }
}

/// Shows `message` (if any) as a polite success note.
#[component]
pub fn FormSuccess(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|message| view! { <p class="form-success" role="status">{message}</p> })
    }
}

/// Full page navigation (used after login state changes, so the server decides afresh).
pub fn go_to(path: &str) {
    if let Err(err) = window().location().set_href(path) {
        leptos::logging::error!("navigation to {path} failed: {err:?}");
    }
}

/// Reloads the page (after switching workspace, every section reads the new one).
pub fn reload() {
    let _ = window().location().reload();
}

/// The browser's IANA time zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
#[cfg(feature = "hydrate")]
pub fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(
        &options,
        &leptos::wasm_bindgen::JsValue::from_str("timeZone"),
    )
    .ok()?
    .as_string()
}

/// On the server there is no browser to ask.
#[cfg(not(feature = "hydrate"))]
pub fn browser_time_zone() -> Option<String> {
    None
}
