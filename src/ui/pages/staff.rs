//! `/staff`: the platform's status and gateway tokens, for staff.

use crate::{
    api::{
        account::Me,
        staff::{
            gateway_tokens, get_platform_status, CreateGatewayToken, RevokeGatewayToken,
            SharedLimitHealth,
        },
    },
    ui::{
        format,
        forms::{
            action_error, field_error, success_of, ErrorPanel, Field, FormMessage, SubmitButton,
        },
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The staff page.
#[component]
pub fn StaffPage() -> impl IntoView {
    signed_in(|me: Me| {
        if me.staff.is_none() {
            return view! {
                <Title text="Staff" />
                <ErrorPanel error=crate::error::AppError::Forbidden(
                    "This page is for the platform's staff only.".to_owned(),
                ) />
            }
            .into_any();
        }
        let create = ServerAction::<CreateGatewayToken>::new();
        let revoke = ServerAction::<RevokeGatewayToken>::new();
        let created = success_of(create);
        let status = Resource::new(|| (), |_| get_platform_status());
        let tokens = Resource::new(
            move || (create.version().get(), revoke.version().get()),
            |_| gateway_tokens(),
        );
        let create_error = action_error(create);
        let revoke_error = action_error(revoke);
        view! {
            <Title text="Staff" />
            <div class="page-head">
                <h1>"Platform"</h1>
            </div>
            <section aria-labelledby="status-heading" class="panel">
                <h2 id="status-heading">"Usage pipeline"</h2>
                <Suspense fallback=|| {
                    view! { <p role="status">"Loading…"</p> }
                }>
                    {move || Suspend::new(async move {
                        match status.await {
                            Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                            Ok(s) => {
                                view! {
                                    <dl class="details" data-testid="usage-stats">
                                        <dt>"Recorded"</dt>
                                        <dd>{s.usage.accepted}</dd>
                                        <dt>"Written"</dt>
                                        <dd>{s.usage.written}</dd>
                                        <dt>"Waiting"</dt>
                                        <dd>{s.usage.queued}" of "{s.usage.capacity}</dd>
                                        <dt>"Dropped"</dt>
                                        <dd class:status-revoked={s.usage.dropped
                                            > 0}>
                                            {s.usage.dropped}
                                            {(s.usage.dropped > 0)
                                                .then_some(
                                                    " — the buffer was full or the database refused them; see the server log",
                                                )}
                                        </dd>
                                        <dt>"Of which unidentified keys"</dt>
                                        <dd class:status-revoked={s.usage.unidentified_dropped
                                            > 0}>
                                            {s.usage.unidentified_dropped}
                                            {(s.usage.unidentified_dropped > 0)
                                                .then(|| {
                                                    format!(
                                                        " — requests with malformed, unknown or wrong keys beyond their share of the buffer ({} places); a flood of forged keys, most likely",
                                                        s.usage.unidentified_budget,
                                                    )
                                                })}
                                        </dd>
                                        <dt>"Failed batches"</dt>
                                        <dd>{s.usage.failed_batches}</dd>
                                        <dt>"Database"</dt>
                                        <dd>{s.database}</dd>
                                        <dt>"Kept"</dt>
                                        <dd>
                                            {format!(
                                                "raw events {}, hourly counts {}",
                                                format::count(
                                                    s.usage_retention_days as usize,
                                                    "day",
                                                    "days",
                                                ),
                                                format::count(
                                                    s.rollup_retention_days as usize,
                                                    "day",
                                                    "days",
                                                ),
                                            )}
                                        </dd>
                                        <dt>"Rate limits"</dt>
                                        {rate_limits(s.shared_limits)}
                                    </dl>
                                    <p class="hint">
                                        "Counts are for this instance since it started."
                                    </p>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Suspense>
            </section>
            <section aria-labelledby="gateway-heading" class="panel">
                <h2 id="gateway-heading">"Gateway tokens"</h2>
                <p>
                    "The platform's API gateway presents one of these to "
                    <code>"POST /v1/verify"</code> ". Each is shown once."
                </p>
                {move || {
                    created
                        .get()
                        .map(|t| {
                            view! {
                                <div
                                    class="secret-panel"
                                    role="region"
                                    aria-labelledby="new-token-heading"
                                >
                                    <h3 id="new-token-heading">
                                        "Gateway token " {t.name.clone()}
                                    </h3>
                                    <p class="secret-warning">
                                        "Copy it into the gateway's secret store now: it will not be shown again."
                                    </p>
                                    <code class="secret mono" data-testid="new-gateway-token">
                                        {t.token.clone()}
                                    </code>
                                    <button
                                        type="button"
                                        class="button"
                                        on:click=move |_| {
                                            created.set(None);
                                            create.value().set(None);
                                        }
                                    >
                                        "Done"
                                    </button>
                                </div>
                            }
                        })
                }}
                <FormMessage error=create_error />
                <ActionForm action=create attr:novalidate=true attr:class="inline-form">
                    <Field
                        label="Name"
                        name="name"
                        hint="Where it is used, e.g. edge-gateway-eu."
                        required=true
                        error=field_error(create_error, "name")
                    />
                    <SubmitButton
                        label="Create token"
                        busy_label="Creating…"
                        pending=create.pending()
                    />
                </ActionForm>
                <FormMessage error=revoke_error />
                <Transition fallback=|| {
                    view! { <p role="status">"Loading…"</p> }
                }>
                    {move || Suspend::new(async move {
                        match tokens.await {
                            Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! { <p class="empty">"No gateway tokens yet."</p> }.into_any()
                            }
                            Ok(list) => {
                                view! {
                                    <table class="table">
                                        <caption class="visually-hidden">"Gateway tokens"</caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Token"</th>
                                                <th scope="col">"Made"</th>
                                                <th scope="col">"State"</th>
                                                <th scope="col">
                                                    <span class="visually-hidden">"Actions"</span>
                                                </th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|t| {
                                                    let live = t.revoked_at.is_none();
                                                    view! {
                                                        <tr>
                                                            <td>{t.name.clone()}</td>
                                                            <td class="mono">{t.display_id.clone()}"…"</td>
                                                            <td>
                                                                {format::date_time(t.created_at)}" by "
                                                                {t
                                                                    .created_by
                                                                    .clone()
                                                                    .unwrap_or_else(|| "the command line".to_owned())}
                                                            </td>
                                                            <td>
                                                                {t
                                                                    .revoked_at
                                                                    .map(|r| format!("Revoked {}", format::date_time(r)))
                                                                    .unwrap_or_else(|| "Live".to_owned())}
                                                            </td>
                                                            <td>
                                                                {live
                                                                    .then(|| {
                                                                        view! {
                                                                            <ActionForm action=revoke>
                                                                                <input type="hidden" name="name" value=t.name.clone() />
                                                                                <button type="submit" class="button-quiet">
                                                                                    "Revoke"
                                                                                    <span class="visually-hidden">" "{t.name.clone()}</span>
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
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        }
        .into_any()
    })
}

/// The rate-limit backend in words: shared through Redis, or per instance
/// (by configuration, or for now because Redis does not answer).
fn rate_limits(shared: Option<SharedLimitHealth>) -> impl IntoView {
    let (down, text) = match shared {
        None => (
            false,
            "Per instance: each instance counts alone (set PORTICO_REDIS_URL to share limits)"
                .to_owned(),
        ),
        Some(h) if h.up => (
            false,
            format!(
                "Shared through Redis{}",
                if h.fallbacks > 0 {
                    format!(
                        "; {} made alone during {} since start-up",
                        format::count(h.fallbacks as usize, "decision", "decisions"),
                        format::count(h.outages as usize, "outage", "outages"),
                    )
                } else {
                    String::new()
                }
            ),
        ),
        Some(h) => (
            true,
            format!(
                "Per instance for now: Redis does not answer ({}). {} made alone so far; shared limits resume when it answers",
                h.last_error.as_deref().unwrap_or("no answer"),
                format::count(h.fallbacks as usize, "decision", "decisions"),
            ),
        ),
    };
    view! {
        <dd class:status-revoked=down data-testid="rate-limit-backend">
            {text}
        </dd>
    }
}
