//! Form building blocks: labelled fields with their errors, the password
//! field, and the messages shown above a form.
//!
//! Fields carry `aria-invalid` and `aria-describedby` so that screen readers
//! read each error with its field; after a failed submit the first invalid
//! field takes the focus.

use crate::{domain::password::length_hint, error::AppError};
use leptos::{
    prelude::*,
    server_fn::{error::ServerFnUrlError, ServerFn},
};
use leptos_router::hooks::use_query_map;

/// The error of a form's last submission: from the action when the page is
/// interactive, or from the URL after a plain HTML form post.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    Signal::derive(move || match action.value().get() {
        Some(Err(err)) => Some(err),
        Some(Ok(_)) => None,
        None => query.with(|q| {
            if q.get_str("__path") == Some(S::PATH) {
                q.get_str("__err")
                    .map(ServerFnUrlError::<AppError>::decode_err)
            } else {
                None
            }
        }),
    })
}

/// The output of an action's last success, kept in a signal of its own.
///
/// A view that swaps a form for the result (a new secret, say) should switch
/// on this rather than on the action's value: it changes one step later, so
/// the form's own effects have finished before the form is taken down.
pub fn success_of<S>(action: ServerAction<S>) -> RwSignal<Option<S::Output>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let success = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(Ok(output)) = action.value().get() {
            success.set(Some(output));
        }
    });
    success
}

/// The message for one field, from a form's error.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.message_for(field))))
}

/// The form-level message (anything that is not a field error), in a live
/// region; after a failed submit it moves focus to the first invalid field.
#[component]
pub fn FormMessage(error: Signal<Option<AppError>>) -> impl IntoView {
    Effect::new(move |_| {
        if error.with(|e| e.is_some()) {
            focus_first_invalid();
        }
    });
    view! {
        <div class="form-message" role="alert" aria-live="assertive">
            {move || error.get().and_then(|e| e.form_message()).map(|m| view! { <p>{m}</p> })}
        </div>
    }
}

fn focus_first_invalid() {
    #[cfg(feature = "hydrate")]
    request_animation_frame(|| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = document()
            .query_selector("[aria-invalid='true']")
            .ok()
            .flatten()
            .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

/// A full-width panel for an error that stops a page from rendering.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let title = match &error {
        AppError::NotFound(_) => "Not found",
        AppError::Forbidden(_) => "Not allowed",
        AppError::Unauthenticated => "Please sign in",
        AppError::Invalid(_) | AppError::Conflict(_) => "This cannot be done as asked",
        _ => "Something went wrong",
    };
    view! {
        <section class="panel panel-error" role="alert">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
        </section>
    }
}

/// The ids of a field, its hint and its error: `field-{name}`, or
/// `field-{form}-{name}` when two forms on a page share a field name.
fn field_ids(name: &str, form: Option<&str>) -> (String, String, String) {
    let id = match form {
        Some(form) => format!("field-{form}-{name}"),
        None => format!("field-{name}"),
    };
    (id.clone(), format!("{id}-hint"), format!("{id}-error"))
}

/// The field's `aria-describedby`: its hint, and its error while there is one.
fn described_by(
    has_hint: bool,
    hint_id: &str,
    error_id: &str,
    error: Signal<Option<String>>,
) -> impl Fn() -> Option<String> + Send + Sync + Clone + 'static {
    let hint_id = has_hint.then(|| hint_id.to_owned());
    let error_id = error_id.to_owned();
    move || {
        let mut ids: Vec<String> = hint_id.iter().cloned().collect();
        if error.with(Option::is_some) {
            ids.push(error_id.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// A labelled input with its hint and error.
#[component]
pub fn Field(
    /// The visible label.
    label: &'static str,
    /// The input's `name` (and the field name in errors).
    name: &'static str,
    /// The input type.
    #[prop(default = "text")]
    kind: &'static str,
    /// The `autocomplete` token.
    #[prop(optional)]
    autocomplete: Option<&'static str>,
    /// Help shown under the label.
    #[prop(optional, into)]
    hint: Option<String>,
    /// An initial value.
    #[prop(optional, into)]
    value: Option<String>,
    /// The field's error, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Whether the field must be filled in.
    #[prop(optional)]
    required: bool,
    /// Whether the field takes the focus when the page opens.
    #[prop(optional)]
    autofocus: bool,
    /// Longest input accepted.
    #[prop(optional)]
    maxlength: Option<u32>,
    /// Tells apart two fields of the same name on one page (their ids).
    #[prop(optional)]
    form: Option<&'static str>,
    /// The virtual keyboard a phone shows (`numeric` for codes).
    #[prop(optional)]
    inputmode: Option<&'static str>,
) -> impl IntoView {
    let (id, hint_id, error_id) = field_ids(name, form);
    let described_by = described_by(hint.is_some(), &hint_id, &error_id, error);
    let input_ref = NodeRef::<leptos::html::Input>::new();
    if autofocus {
        // `autofocus` acts only when a document loads; a page reached by a
        // client-side navigation (after a redirect) focuses the field here.
        Effect::new(move |_| {
            if let Some(input) = input_ref.get() {
                // After the frame, once the field is in the document, and
                // only if the person has not put the focus elsewhere
                // meanwhile (it never moves under their typing).
                request_animation_frame(move || {
                    let idle = document()
                        .active_element()
                        .is_none_or(|el| el.tag_name().eq_ignore_ascii_case("body"));
                    if idle {
                        let _ = input.focus();
                    }
                });
            }
        });
    }
    view! {
        <div class="field" class:field-invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint
                .map(|h| {
                    view! {
                        <p class="hint" id=hint_id.clone()>
                            {h}
                        </p>
                    }
                })}
            <input
                node_ref=input_ref
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                required=required
                autofocus=autofocus
                maxlength=maxlength
                inputmode=inputmode
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
            />
            <FieldErrorText id=error_id error />
        </div>
    }
}

/// A labelled multi-line input with its hint and error.
#[component]
pub fn TextArea(
    /// The visible label.
    label: &'static str,
    /// The textarea's `name`.
    name: &'static str,
    /// Help shown under the label.
    #[prop(optional, into)]
    hint: Option<String>,
    /// An initial value.
    #[prop(optional, into)]
    value: Option<String>,
    /// The field's error, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Whether the field must be filled in.
    #[prop(optional)]
    required: bool,
    /// Visible lines.
    #[prop(default = 3)]
    rows: u32,
    /// Longest input accepted.
    #[prop(optional)]
    maxlength: Option<u32>,
    /// Tells apart two fields of the same name on one page (their ids).
    #[prop(optional)]
    form: Option<&'static str>,
) -> impl IntoView {
    let (id, hint_id, error_id) = field_ids(name, form);
    let described_by = described_by(hint.is_some(), &hint_id, &error_id, error);
    view! {
        <div class="field" class:field-invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint
                .map(|h| {
                    view! {
                        <p class="hint" id=hint_id.clone()>
                            {h}
                        </p>
                    }
                })}
            <textarea
                id=id
                name=name
                rows=rows
                required=required
                maxlength=maxlength
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
            >
                {value}
            </textarea>
            <FieldErrorText id=error_id error />
        </div>
    }
}

/// The error line under a field.
#[component]
fn FieldErrorText(id: String, error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error.get().map(|message| {
            view! {
                <p class="field-error" id=id.clone()>
                    {message}
                </p>
            }
        })
    }
}

/// A password input with a Show/Hide button and, for new passwords, a live
/// count towards the minimum length.
#[component]
pub fn PasswordField(
    /// The visible label.
    label: &'static str,
    /// The input's `name`.
    name: &'static str,
    /// `current-password` or `new-password`.
    autocomplete: &'static str,
    /// The field's error, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Whether to count characters towards the minimum (new passwords).
    #[prop(optional)]
    new_password: bool,
    /// Tells apart two fields of the same name on one page (their ids).
    #[prop(optional)]
    form: Option<&'static str>,
) -> impl IntoView {
    let (id, hint_id, error_id) = field_ids(name, form);
    let visible = RwSignal::new(false);
    let length = RwSignal::new(0usize);
    let described_by = {
        let hint_id = new_password.then(|| hint_id.clone());
        let error_id = error_id.clone();
        move || {
            let mut ids: Vec<String> = hint_id.iter().cloned().collect();
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field-invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {new_password
                .then(|| {
                    view! {
                        <p class="hint" id=hint_id.clone() aria-live="polite">
                            {move || length_hint(length.get())}
                        </p>
                    }
                })}
            <div class="password-input">
                <input
                    id=id.clone()
                    name=name
                    type=move || if visible.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    required=true
                    aria-invalid=move || error.with(Option::is_some).then_some("true")
                    aria-describedby=described_by
                    on:input=move |ev| length.set(event_target_value(&ev).chars().count())
                />
                <button
                    type="button"
                    class="button-quiet js-only"
                    aria-controls=id
                    aria-pressed=move || visible.get().to_string()
                    on:click=move |_| visible.update(|v| *v = !*v)
                >
                    {move || if visible.get() { "Hide" } else { "Show" }}
                    <span class="visually-hidden">" password"</span>
                </button>
            </div>
            <FieldErrorText id=error_id error />
        </div>
    }
}

/// A submit button that shows progress and refuses a second click while the
/// first is on its way.
#[component]
pub fn SubmitButton(
    /// The button text.
    label: &'static str,
    /// The text while the request is on its way.
    busy_label: &'static str,
    /// Whether a request is on its way.
    #[prop(into)]
    pending: Signal<bool>,
    /// Extra classes.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            class=format!("button button-primary {class}")
            disabled=move || pending.get()
            aria-busy=move || pending.get().then_some("true")
        >
            {move || if pending.get() { busy_label } else { label }}
        </button>
    }
}
