//! `/account`: the signed-in person's own account: their address, password,
//! second factors, the places they are signed in and their security
//! activity.

mod security_activity;
mod security_keys;
mod two_factor;

use crate::{
    api::account::{
        account_sessions, ChangeEmail, ChangePassword, EndOtherSessions, EndSession, Me,
    },
    ui::{
        format,
        forms::{
            action_error, field_error, ErrorPanel, Field, FormMessage, PasswordField, SubmitButton,
        },
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Bumped by the Account page's panels after a change that sends a
/// security notice, so that the activity list fetches it.
#[derive(Clone, Copy)]
pub(super) struct AccountChanged(RwSignal<u32>);

impl AccountChanged {
    /// Says that the account changed.
    fn bump(self) {
        self.0.update(|n| *n += 1);
    }

    /// Reruns `f` after each change (not when the page opens).
    fn after_each<T: 'static>(self, version: impl Fn() -> T + 'static) {
        Effect::new(move |seen: Option<()>| {
            version();
            if seen.is_some() {
                self.bump();
            }
        });
    }
}

/// The Account page.
#[component]
pub fn AccountPage() -> impl IntoView {
    provide_context(AccountChanged(RwSignal::new(0)));
    signed_in(|me: Me| {
        view! {
            <Title text="Account" />
            <div class="page-head">
                <h1>"Account"</h1>
                <p class="lede">"Signed in as " <strong>{me.email.clone()}</strong> "."</p>
            </div>
            <ChangeEmailPanel />
            <ChangePasswordPanel />
            <two_factor::TwoFactorPanel />
            <SessionsPanel />
            <security_activity::SecurityActivityPanel />
        }
    })
}

#[component]
fn ChangeEmailPanel() -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    expect_context::<AccountChanged>().after_each(move || action.version().get());
    let error = action_error(action);
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <section class="panel" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email address"</h2>
            <p class="hint">
                "We send the new address a link; your address changes when it is opened. We also tell your current address."
            </p>
            <div role="status" aria-live="polite">
                {move || {
                    sent()
                        .then(|| {
                            view! {
                                <p class="notice notice-ok">
                                    "Check the new address's inbox: the change happens when you open the link there (it works for a day)."
                                </p>
                            }
                        })
                }}
            </div>
            <FormMessage error />
            <ActionForm
                action
                attr:novalidate=true
                attr:class="stack"
                attr:data-testid="change-email"
            >
                <Field
                    label="New email address"
                    name="new_email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    error=field_error(error, "new_email")
                />
                <PasswordField
                    label="Current password"
                    name="password"
                    autocomplete="current-password"
                    form="change-email"
                    error=field_error(error, "password")
                />
                <SubmitButton
                    label="Send a link"
                    busy_label="Sending…"
                    pending=action.pending()
                />
            </ActionForm>
        </section>
    }
}

#[component]
fn ChangePasswordPanel() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    expect_context::<AccountChanged>().after_each(move || action.version().get());
    let error = action_error(action);
    let done = move || match action.value().get() {
        Some(Ok(0)) => {
            Some("Your password was changed. No other session was signed in.".to_owned())
        }
        Some(Ok(n)) => Some(format!(
            "Your password was changed, and {} signed out.",
            format::count(n as usize, "other session was", "other sessions were")
        )),
        _ => None,
    };
    view! {
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <p class="hint">
                "Changing it signs out every other session of your account, and we email you that it changed."
            </p>
            <div role="status" aria-live="polite">
                {move || done().map(|m| view! { <p class="notice notice-ok">{m}</p> })}
            </div>
            <FormMessage error />
            <ActionForm
                action
                attr:novalidate=true
                attr:class="stack"
                attr:data-testid="change-password"
            >
                <PasswordField
                    label="Current password"
                    name="current_password"
                    autocomplete="current-password"
                    error=field_error(error, "current_password")
                />
                <PasswordField
                    label="New password"
                    name="new_password"
                    autocomplete="new-password"
                    new_password=true
                    error=field_error(error, "new_password")
                />
                <SubmitButton
                    label="Change password"
                    busy_label="Changing…"
                    pending=action.pending()
                />
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsPanel() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let list = Resource::new(
        move || (end_one.version().get(), end_others.version().get()),
        |_| account_sessions(),
    );
    let one_error = action_error(end_one);
    view! {
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Where you are signed in"</h2>
            <p class="hint">
                "A session ends after a while without use, or when you sign out. If you do not recognise one, sign it out and change your password."
            </p>
            <FormMessage error=one_error />
            <Transition fallback=|| {
                view! { <p role="status">"Loading sessions…"</p> }
            }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(sessions) => {
                            let others = sessions.iter().filter(|s| !s.current).count();
                            view! {
                                <table class="table" data-testid="sessions">
                                    <caption class="visually-hidden">"Your sessions"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Browser"</th>
                                            <th scope="col">"Address"</th>
                                            <th scope="col">"Signed in"</th>
                                            <th scope="col">"Last active"</th>
                                            <th scope="col">
                                                <span class="visually-hidden">"Action"</span>
                                            </th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {sessions
                                            .into_iter()
                                            .map(|s| {
                                                view! {
                                                    <tr>
                                                        <td>
                                                            {s.browser.clone()}
                                                            {s
                                                                .current
                                                                .then(|| {
                                                                    view! {
                                                                        " "
                                                                        <span class="badge">"This session"</span>
                                                                    }
                                                                })}
                                                        </td>
                                                        <td>{s.client_addr.clone()}</td>
                                                        <td>
                                                            <time datetime=format::iso(
                                                                s.created_at,
                                                            )>{format::date_time(s.created_at)}</time>
                                                        </td>
                                                        <td>
                                                            <time datetime=format::iso(
                                                                s.last_seen_at,
                                                            )>{format::date_time(s.last_seen_at)}</time>
                                                        </td>
                                                        <td>
                                                            {(!s.current)
                                                                .then(|| {
                                                                    let label = format!(
                                                                        "Sign out {} from {}",
                                                                        s.browser,
                                                                        s.client_addr,
                                                                    );
                                                                    view! {
                                                                        <ActionForm action=end_one>
                                                                            <input type="hidden" name="id" value=s.id.clone() />
                                                                            <button
                                                                                type="submit"
                                                                                class="button button-small"
                                                                                aria-label=label
                                                                            >
                                                                                "Sign out"
                                                                            </button>
                                                                        </ActionForm>
                                                                    }
                                                                })}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                {if others > 0 {
                                    view! {
                                        <ActionForm action=end_others>
                                            <button type="submit" class="button">
                                                {if others == 1 {
                                                    "Sign out the other session".to_owned()
                                                } else {
                                                    format!("Sign out the {others} other sessions")
                                                }}
                                            </button>
                                        </ActionForm>
                                    }
                                        .into_any()
                                } else {
                                    view! { <p class="hint">"You are signed in nowhere else."</p> }
                                        .into_any()
                                }}
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
