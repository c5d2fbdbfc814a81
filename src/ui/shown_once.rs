//! The parts of a panel that shows something once (a key's secret, an
//! invitation link, recovery codes): a Copy button that tells screen
//! readers it copied, and the "I have stored it" check that enables Done.

use leptos::prelude::*;

/// Copies `text` to the clipboard (shown once JavaScript runs): the button
/// reads `label` until pressed, then "Copied", and `announced` is read out.
#[component]
pub fn CopyButton(
    /// What is copied.
    text: String,
    /// The button's words before copying, e.g. "Copy key".
    label: &'static str,
    /// What screen readers hear once copied, e.g. "Key copied to the clipboard.".
    announced: &'static str,
    /// The id of the element showing what is copied, if any.
    #[prop(optional)]
    describes: Option<&'static str>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button
            type="button"
            class="button js-only"
            aria-describedby=describes
            on:click=move |_| {
                let _ = window().navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        >
            {move || if copied.get() { "Copied" } else { label }}
        </button>
        <p class="visually-hidden" aria-live="polite">
            {move || copied.get().then_some(announced)}
        </p>
    }
}

/// The check a person ticks once they stored what is shown once, and the
/// Done button it enables; `on_done` runs on Done (and should forget it).
#[component]
pub fn StoredThenDone(
    /// The check's words, e.g. "I have stored this key somewhere safe".
    confirm: &'static str,
    /// Runs when Done is pressed.
    on_done: Callback<()>,
) -> impl IntoView {
    let stored = RwSignal::new(false);
    view! {
        <label class="checkbox">
            <input type="checkbox" on:change=move |ev| stored.set(event_target_checked(&ev)) />
            " "
            {confirm}
        </label>
        <button
            type="button"
            class="button button-primary"
            disabled=move || !stored.get()
            on:click=move |_| on_done.run(())
        >
            "Done"
        </button>
    }
}
