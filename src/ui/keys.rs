//! Building blocks of the key pages: badges, the scope picker and the panel
//! that shows a new secret once.

use crate::ui::shown_once::{CopyButton, StoredThenDone};
use crate::{
    api::keys::CreatedKey,
    domain::{
        key_format::Environment,
        keys::{KeyStatus, Overlap},
        scopes::{Catalog, Risk},
    },
};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// Sandbox or Production; production is loud on purpose.
#[component]
pub fn EnvBadge(environment: Environment) -> impl IntoView {
    let class = match environment {
        Environment::Sandbox => "badge badge-sandbox",
        Environment::Production => "badge badge-live",
    };
    view! { <span class=class>{environment.label()}</span> }
}

/// A key's status.
#[component]
pub fn StatusBadge(status: KeyStatus) -> impl IntoView {
    view! { <span class=format!("status status-{}", status.as_str())>{status.label()}</span> }
}

/// "High risk", next to a scope.
#[component]
pub fn HighRiskBadge() -> impl IntoView {
    view! { <span class="badge badge-danger">"High risk"</span> }
}

/// Checkboxes for every scope of the catalog, grouped by resource, with the
/// high-risk ones marked. Choosing a high-risk scope asks for confirmation.
#[component]
pub fn ScopePicker(
    /// Every scope there is, with its resource and risk; the picker groups them by resource.
    catalog: Catalog,
    /// The ticked scopes (kept in sync as boxes change).
    selected: RwSignal<BTreeSet<String>>,
    /// Only these scopes are offered (editing a key); `None` offers all.
    #[prop(optional)]
    only: Option<Vec<String>>,
    /// The error for the scopes.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// The error for the high-risk confirmation.
    #[prop(into)]
    confirm_error: Signal<Option<String>>,
    /// Whether to ask for the high-risk confirmation.
    #[prop(optional)]
    ask_confirmation: bool,
) -> impl IntoView {
    let high_risk: Vec<String> = catalog
        .scopes
        .iter()
        .filter(|s| s.risk == Risk::High)
        .map(|s| s.name.clone())
        .collect();
    let chosen_high = Memo::new(move |_| {
        selected.with(|sel| {
            high_risk
                .iter()
                .filter(|h| sel.contains(*h))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let offered = move |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    let groups = catalog
        .resources
        .iter()
        .filter_map(|resource| {
            let scopes: Vec<(usize, crate::domain::scopes::Scope)> = catalog
                .scopes
                .iter()
                .enumerate()
                .filter(|(_, s)| s.resource() == resource.name && offered(&s.name))
                .map(|(i, s)| (i, s.clone()))
                .collect();
            (!scopes.is_empty()).then(|| (resource.clone(), scopes))
        })
        .collect::<Vec<_>>();
    view! {
        <div class="scope-picker" class:field-invalid=move || error.with(Option::is_some)>
            <p class="field-label" id="scopes-label">
                "Scopes"
            </p>
            <p class="hint" id="scopes-hint">
                "What this key may do. Read-only scopes are ticked to start with: add only what the integration needs."
            </p>
            {move || {
                error
                    .get()
                    .map(|m| {
                        view! {
                            <p class="field-error" id="field-scopes-error">
                                {m}
                            </p>
                        }
                    })
            }}
            {groups
                .into_iter()
                .map(|(resource, scopes)| {
                    view! {
                        <fieldset class="scope-group">
                            <legend>{resource.title.clone()}</legend>
                            {(!resource.description.is_empty())
                                .then(|| {
                                    view! { <p class="hint">{resource.description.clone()}</p> }
                                })}
                            {scopes
                                .into_iter()
                                .map(|(i, scope)| {
                                    let name = scope.name.clone();
                                    let checked = selected.with_untracked(|s| s.contains(&name));
                                    let high = scope.risk == Risk::High;
                                    let toggle_name = name.clone();
                                    view! {
                                        <label class="scope-option" class:scope-high=high>
                                            <input
                                                type="checkbox"
                                                name=format!("scopes[{i}]")
                                                value=name.clone()
                                                checked=checked
                                                aria-describedby=format!("scope-desc-{i}")
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    selected
                                                        .update(|s| {
                                                            if on {
                                                                s.insert(toggle_name.clone());
                                                            } else {
                                                                s.remove(&toggle_name);
                                                            }
                                                        });
                                                }
                                            />
                                            <span class="scope-name mono">{name.clone()}</span>
                                            {high.then(|| view! { <HighRiskBadge /> })}
                                            <span class="scope-desc" id=format!("scope-desc-{i}")>
                                                {scope.description.clone()}
                                            </span>
                                        </label>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                    }
                })
                .collect_view()}
            {ask_confirmation
                .then(|| {
                    view! {
                        <Show when=move || {
                            !chosen_high.with(Vec::is_empty) || confirm_error.with(Option::is_some)
                        }>
                            <div class="confirm-high-risk" role="alert">
                                <p>
                                    <strong>"High-risk scopes chosen: "</strong>
                                    <span class="mono">{move || chosen_high.get().join(", ")}</span>
                                    ". A key with these can move money, delete data, export personal data or redirect events. Anyone who gets hold of it can do the same."
                                </p>
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        name="confirm_high_risk"
                                        value="true"
                                        aria-invalid=move || {
                                            confirm_error.with(Option::is_some).then_some("true")
                                        }
                                    />
                                    " I confirm this key needs these high-risk scopes"
                                </label>
                                {move || {
                                    confirm_error
                                        .get()
                                        .map(|m| view! { <p class="field-error">{m}</p> })
                                }}
                            </div>
                        </Show>
                    }
                })}
        </div>
    }
}

/// Shows a new key's secret, once. It closes only after the person confirms
/// they stored it; then `on_done` runs (which should forget the secret).
/// How long the old key keeps working after a rotation: one radio button
/// per [`Overlap`], 24 hours chosen, submitted as `overlap`.
#[component]
pub fn OverlapChoice(legend: String) -> impl IntoView {
    view! {
        <fieldset class="radio-group">
            <legend>{legend}</legend>
            {Overlap::ALL
                .into_iter()
                .map(|o| {
                    view! {
                        <label>
                            <input
                                type="radio"
                                name="overlap"
                                value=o.as_str()
                                checked=o == Overlap::OneDay
                            />
                            " "
                            {o.label()}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

#[component]
pub fn SecretPanel(
    created: CreatedKey,
    on_done: Callback<()>,
    #[prop(optional)] heading: Option<&'static str>,
) -> impl IntoView {
    let production = created.key.environment == Environment::Production;
    let pending = created.key.status == KeyStatus::PendingApproval;
    let approvers_text = if created.approvers.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            crate::domain::format::join_names(&created.approvers)
        )
    };
    let panel_ref = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(panel) = panel_ref.get() {
            let _ = panel.focus();
        }
    });
    view! {
        <section
            class="secret-panel"
            class:secret-panel-live=production
            role="region"
            aria-labelledby="secret-heading"
            tabindex="-1"
            node_ref=panel_ref
        >
            <h2 id="secret-heading">{heading.unwrap_or("Copy your new key now")}</h2>
            <p>
                <strong>{created.key.name.clone()}</strong>
                " · "
                <EnvBadge environment=created.key.environment />
                " · "
                <span class="mono">{created.key.display_id.clone()}</span>
            </p>
            <p class="secret-warning">
                "This is the only time Portico shows this key. Store it in your secret manager now; "
                "if it is lost, rotate the key to get a new one."
            </p>
            <div class="copy-row">
                <code class="secret mono" data-testid="new-secret" id="new-secret">
                    {created.secret.clone()}
                </code>
                <CopyButton
                    text=created.secret.clone()
                    label="Copy key"
                    announced="Key copied to the clipboard."
                    describes="new-secret"
                />
            </div>
            {created
                .replaces
                .clone()
                .map(|(old, until)| {
                    let stops = if until <= created.key.created_at {
                        format!("{old} stopped working now, as you chose no overlap.")
                    } else {
                        format!(
                            "{old} keeps working until {}, so you can deploy this key first; retire it early from its page once your services use the new one.",
                            crate::domain::format::date_time(until),
                        )
                    };
                    view! {
                        <p class="note" data-testid="rotation-overlap">
                            {stops}
                        </p>
                    }
                })}
            {pending
                .then(|| {
                    view! {
                        <p class="notice notice-warn" data-testid="secret-pending">
                            <strong>"This key does not work yet."</strong>
                            " It has high-risk scopes, so an admin must approve it first"
                            {approvers_text.clone()}
                            ". They have been asked; you are told when they decide. Store the key now anyway: it is not shown again."
                        </p>
                    }
                })}
            {production
                .then(|| {
                    view! {
                        <p class="note">
                            {if pending {
                                "This is a production key: once approved, it works on real data. Never put it in source code or a ticket."
                            } else {
                                "This is a production key: it works on real data. Never put it in source code or a ticket."
                            }}
                        </p>
                    }
                })}
            <StoredThenDone confirm="I have stored this key somewhere safe" on_done />
        </section>
    }
}
