//! The Account page's security keys (WebAuthn): the keys registered, adding
//! one (the browser talks to the key), and removing one.

use crate::{
    api::{
        account::{RecoveryCodes, SecondFactorStatus},
        security_keys::{begin_security_key, finish_security_key, RemoveSecurityKey},
    },
    error::AppError,
    ui::{
        format,
        forms::{action_error, field_error, Field, FormMessage, PasswordField, SubmitButton},
        webauthn,
    },
};
use leptos::prelude::*;

/// The security keys part of the two-factor panel. `on_added` gets the
/// recovery codes made with a first second factor (empty otherwise);
/// `on_removed` runs after a key is removed.
#[component]
pub fn SecurityKeys(
    st: SecondFactorStatus,
    on_added: Callback<RecoveryCodes>,
    remove: ServerAction<RemoveSecurityKey>,
) -> impl IntoView {
    let keys = st.security_keys.clone();
    let has_keys = !keys.is_empty();
    view! {
        <section class="second-factor" aria-labelledby="security-keys-heading">
            <h3 id="security-keys-heading">"Security keys"</h3>
            <p>
                "A security key (such as a YubiKey) or a passkey on your phone or computer: after your password, you touch the key instead of typing a code."
            </p>
            {has_keys
                .then(|| {
                    view! {
                        <ul class="security-keys" data-testid="security-keys">
                            {keys
                                .iter()
                                .map(|k| {
                                    let used = match k.last_used_at {
                                        Some(at) => format!("last used {}", format::date(at)),
                                        None => "not used yet".to_owned(),
                                    };
                                    view! {
                                        <li>
                                            <strong>{k.name.clone()}</strong>
                                            <span class="muted">
                                                {format!(
                                                    " — added {}, {used}",
                                                    format::date(k.created_at),
                                                )}
                                            </span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            {if st.security_keys_supported {
                view! { <AddSecurityKey on_added /> }.into_any()
            } else {
                view! {
                    <p class="hint">
                        "This portal is served under an IP address, where browsers do not allow security keys. Use an authenticator app."
                    </p>
                }
                    .into_any()
            }}
            {has_keys.then(|| view! { <RemoveSecurityKeyForm st=st.clone() remove /> })}
        </section>
    }
}

/// What a failed ceremony says above the form: the form-level message, or
/// what the server said of the browser's answer.
fn ceremony_message(error: &AppError) -> Option<String> {
    error
        .form_message()
        .or_else(|| error.message_for("credential"))
}

/// Adding a key: a name and the current password, then the browser asks
/// for the key. Needs JavaScript (the browser's WebAuthn interface).
#[component]
fn AddSecurityKey(on_added: Callback<RecoveryCodes>) -> impl IntoView {
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let waiting_for_key = RwSignal::new(false);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let errors = Signal::derive(move || error.get());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some((name, password)) = form_values(form_ref) else {
            return;
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let outcome = async {
                let options = begin_security_key(password).await?;
                waiting_for_key.set(true);
                let answer = webauthn::create_credential(options).await;
                waiting_for_key.set(false);
                let answer = answer.map_err(AppError::Conflict)?;
                finish_security_key(name, answer).await
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(codes) => {
                    if let Some(form) = form_ref.get_untracked() {
                        form.reset();
                    }
                    on_added.run(codes);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <details class="action js-only" data-testid="add-security-key">
            <summary>"Add a security key"</summary>
            <div class="form-message" role="alert" aria-live="assertive">
                {move || {
                    error
                        .with(|e| e.as_ref().and_then(ceremony_message))
                        .map(|m| view! { <p>{m}</p> })
                }}
            </div>
            <form class="stack" novalidate=true node_ref=form_ref on:submit=on_submit>
                <Field
                    label="Name"
                    name="name"
                    hint="So that you can tell your keys apart, for example \u{201c}YubiKey on my keyring\u{201d}."
                    maxlength=60
                    required=true
                    form="security-key"
                    error=field_error(errors, "name")
                />
                <PasswordField
                    label="Current password"
                    name="password"
                    autocomplete="current-password"
                    form="security-key"
                    error=field_error(errors, "password")
                />
                <p class="hint" role="status" aria-live="polite">
                    {move || {
                        waiting_for_key
                            .get()
                            .then_some(
                                "Your browser is asking for the key: insert it, or use your phone or computer, and touch or unlock it.",
                            )
                    }}
                </p>
                <SubmitButton
                    label="Add the security key"
                    busy_label="Waiting for the key…"
                    pending=busy
                />
            </form>
        </details>
        <noscript>
            <p class="hint">
                "Adding a security key needs JavaScript, which is off in this browser."
            </p>
        </noscript>
    }
}

/// The name and password typed into the add form.
fn form_values(form_ref: NodeRef<leptos::html::Form>) -> Option<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        let form = form_ref.get_untracked()?;
        let data = leptos::web_sys::FormData::new_with_form(&form).ok()?;
        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
        Some((field("name"), field("password")))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = form_ref;
        None
    }
}

/// Removing a key: which one, and the current password.
#[component]
fn RemoveSecurityKeyForm(
    st: SecondFactorStatus,
    remove: ServerAction<RemoveSecurityKey>,
) -> impl IntoView {
    let error = action_error(remove);
    let last = st.security_keys.len() == 1 && st.totp_since.is_none();
    view! {
        <details class="action action-danger">
            <summary>"Remove a security key"</summary>
            {last
                .then(|| {
                    view! {
                        <p>
                            "It is your only second factor: without it, signing in needs only your password, and your recovery codes stop working."
                        </p>
                    }
                })}
            <FormMessage error />
            <ActionForm action=remove attr:novalidate=true attr:class="stack">
                <div class="field">
                    <label for="remove-key-id">"Key"</label>
                    <select id="remove-key-id" name="id">
                        {st
                            .security_keys
                            .iter()
                            .map(|k| {
                                view! { <option value=k.id.to_string()>{k.name.clone()}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <PasswordField
                    label="Current password"
                    name="password"
                    autocomplete="current-password"
                    form="remove-key"
                    error=field_error(error, "password")
                />
                <button type="submit" class="button button-danger">
                    "Remove the security key"
                </button>
            </ActionForm>
        </details>
    }
}
