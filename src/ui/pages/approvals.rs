//! `/approvals`: keys waiting for an admin's approval.

use crate::{
    api::{
        account::Me,
        approvals::{approval_queue, DecideKey},
    },
    ui::{
        format,
        forms::{action_error, ErrorPanel, FormMessage},
        keys::{EnvBadge, HighRiskBadge},
        session::signed_in,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The approval queue.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    signed_in(|me: Me| {
        let org_id = me.active_org().map(|o| o.id).unwrap_or(0);
        let decide = ServerAction::<DecideKey>::new();
        let queue = Resource::new(
            move || (org_id, decide.version().get()),
            |(org, _)| approval_queue(org),
        );
        let error = action_error(decide);
        let done = move || matches!(decide.value().get(), Some(Ok(())));
        view! {
            <Title text="Approvals" />
            <div class="page-head">
                <h1>"Approvals"</h1>
                <p class="lede">
                    "Production keys with high-risk scopes made by developers wait here until an admin decides. "
                    "Approving lets the key work at once; rejecting means it never will. The requester is notified either way. "
                    <A href="/policy">"Change the policy"</A>
                </p>
            </div>
            <FormMessage error />
            {move || {
                done()
                    .then(|| {
                        view! {
                            <p class="notice notice-ok" role="status">
                                "Decision recorded; the requester has been notified."
                            </p>
                        }
                    })
            }}
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(keys) if keys.is_empty() => {
                            view! {
                                <section class="empty-state">
                                    <h2>"Nothing waiting"</h2>
                                    <p>
                                        "Keys that need approval appear here, and you are notified when one arrives."
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(keys) => {
                            view! {
                                <ul class="approval-list" data-testid="approval-queue">
                                    {keys
                                        .into_iter()
                                        .map(|p| {
                                            let key_id = p.key.key_id.clone();
                                            let comment_id = format!("comment-{key_id}");
                                            view! {
                                                <li class="panel">
                                                    <h2>
                                                        <A href=format!("/keys/{key_id}")>{p.key.name.clone()}</A>
                                                    </h2>
                                                    <p class="mono">
                                                        {p.key.display_id.clone()} " "
                                                        <EnvBadge environment=p.key.environment />
                                                    </p>
                                                    <dl class="details">
                                                        <dt>"Requested by"</dt>
                                                        <dd>
                                                            {p.requested_by.clone()}" on "
                                                            {format::date_time(p.key.created_at)}
                                                        </dd>
                                                        <dt>"Purpose"</dt>
                                                        <dd class="pre-line">{p.purpose.clone()}</dd>
                                                        <dt>"Scopes"</dt>
                                                        <dd>
                                                            {p
                                                                .key
                                                                .scopes
                                                                .iter()
                                                                .map(|s| {
                                                                    let high = p.high_risk_scopes.contains(s);
                                                                    view! {
                                                                        <span class="mono scope-chip">
                                                                            {s.clone()}
                                                                            {high
                                                                                .then(|| {
                                                                                    view! {
                                                                                        " "
                                                                                        <HighRiskBadge />
                                                                                    }
                                                                                })}
                                                                        </span>
                                                                        " "
                                                                    }
                                                                })
                                                                .collect_view()}
                                                        </dd>
                                                        <dt>"IP allowlist"</dt>
                                                        <dd>
                                                            {if p.ip_allowlist.is_empty() {
                                                                "Anywhere".to_owned()
                                                            } else {
                                                                p.ip_allowlist.join(", ")
                                                            }}
                                                        </dd>
                                                        <dt>"Expires"</dt>
                                                        <dd>{format::date_time(p.key.expires_at)}</dd>
                                                    </dl>
                                                    <ActionForm action=decide attr:class="stack">
                                                        <input type="hidden" name="key_id" value=key_id.clone() />
                                                        <div class="field">
                                                            <label for=comment_id
                                                                .clone()>"Comment (required to reject)"</label>
                                                            <textarea
                                                                id=comment_id
                                                                name="comment"
                                                                rows="2"
                                                                maxlength="500"
                                                            ></textarea>
                                                        </div>
                                                        <div class="button-row">
                                                            <button
                                                                type="submit"
                                                                name="decision"
                                                                value="approve"
                                                                class="button"
                                                            >
                                                                "Approve"
                                                            </button>
                                                            <button
                                                                type="submit"
                                                                name="decision"
                                                                value="reject"
                                                                class="button button-danger"
                                                            >
                                                                "Reject"
                                                            </button>
                                                        </div>
                                                    </ActionForm>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}
