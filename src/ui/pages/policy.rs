//! `/policy`: the organisation's key policy. Every member may read it;
//! admins change it.

use crate::{
    api::{
        account::Me,
        policy::{get_org_policy, PolicyView, SetOrgPolicy, SetSecondFactorRequirement},
    },
    domain::key_format::Environment,
    ui::{
        format,
        forms::{action_error, field_error, ErrorPanel, Field, FormMessage, SubmitButton},
        session::{signed_in, use_session},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The policy page.
#[component]
pub fn PolicyPage() -> impl IntoView {
    signed_in(|me: Me| {
        let org = me.active_org().cloned();
        let org_id = org.as_ref().map(|o| o.id).unwrap_or(0);
        let set = ServerAction::<SetOrgPolicy>::new();
        let require = ServerAction::<SetSecondFactorRequirement>::new();
        let view_ = Resource::new(
            move || (org_id, set.version().get(), require.version().get()),
            |(org, _, _)| get_org_policy(org),
        );
        view! {
            <Title text="Key policy" />
            <div class="page-head">
                <h1>"Key policy"</h1>
                <p class="lede">
                    "The rules every new key of " {org.map(|o| o.name)}
                    " follows. A request that breaks one is refused with the rule named."
                </p>
            </div>
            <Transition fallback=|| {
                view! { <p role="status">"Loading…"</p> }
            }>
                {move || Suspend::new(async move {
                    match view_.await {
                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                        Ok(p) => {
                            view! {
                                <PolicyDetails view=p.clone() org_id set />
                                <SecondFactorRequirement view=p org_id require />
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        }
    })
}

#[component]
fn PolicyDetails(view: PolicyView, org_id: i64, set: ServerAction<SetOrgPolicy>) -> impl IntoView {
    let p = view.policy.clone();
    let error = action_error(set);
    let saved = move || matches!(set.value().get(), Some(Ok(())));
    let envs = |list: &[Environment]| {
        list.iter()
            .map(|e| e.label())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    view! {
        <section class="panel" aria-labelledby="policy-heading">
            <h2 id="policy-heading">"In force"</h2>
            <dl class="details" data-testid="policy">
                <dt>"Maximum key lifetime"</dt>
                <dd>{format::count(p.max_lifetime_days as usize, "day", "days")}</dd>
                <dt>"Default expiry"</dt>
                <dd>{format::count(p.default_expiry_days as usize, "day", "days")}</dd>
                <dt>"Environments for developers"</dt>
                <dd>{envs(&p.developer_environments)}" (admins may use both)"</dd>
                <dt>"Approval for production keys with high-risk scopes"</dt>
                <dd>
                    {if p.approval_for_high_risk_production {
                        "Required: a developer's key waits for an admin"
                    } else {
                        "Not required"
                    }}
                </dd>
                <dt>"Rotation expected"</dt>
                <dd>
                    {format!(
                        "every {} for keys with high-risk scopes, every {} for the rest (the key review flags overdue keys)",
                        format::count(p.rotate_high_risk_days as usize, "day", "days"),
                        format::count(p.rotate_low_risk_days as usize, "day", "days"),
                    )}
                </dd>
                <dt>"Access token lifetime"</dt>
                <dd data-testid="token-lifetime">
                    {format!(
                        "{} (short-lived tokens a key is exchanged for at /oauth/token)",
                        format::count(
                            (p.access_token_lifetime_secs / 60) as usize,
                            "minute",
                            "minutes",
                        ),
                    )}
                </dd>
                <dt>"Last changed"</dt>
                <dd>
                    {match view.updated.clone() {
                        Some((at, by)) => format!("{} by {by}", format::date_time(at)),
                        None => "Never: these are Portico's defaults".to_owned(),
                    }}
                </dd>
            </dl>
        </section>
        {view
            .can_edit
            .then(|| {
                view! {
                    <section class="panel" aria-labelledby="edit-policy-heading">
                        <h2 id="edit-policy-heading">"Change the policy"</h2>
                        <p class="hint">
                            "Changes apply to keys created or rotated from now on; existing keys keep their expiry. Every change is in the audit trail."
                        </p>
                        <FormMessage error />
                        {move || {
                            saved()
                                .then(|| {
                                    view! {
                                        <p class="notice notice-ok" role="status">
                                            "Policy saved."
                                        </p>
                                    }
                                })
                        }}
                        <ActionForm action=set attr:novalidate=true attr:class="stack">
                            <input type="hidden" name="org_id" value=org_id.to_string() />
                            <Field
                                label="Maximum key lifetime (days)"
                                name="max_lifetime_days"
                                kind="number"
                                value=p.max_lifetime_days.to_string()
                                hint="1 to 365."
                                required=true
                                error=field_error(error, "max_lifetime_days")
                            />
                            <Field
                                label="Default expiry (days)"
                                name="default_expiry_days"
                                kind="number"
                                value=p.default_expiry_days.to_string()
                                hint="What the create form picks unless the developer chooses otherwise."
                                required=true
                                error=field_error(error, "default_expiry_days")
                            />
                            <fieldset class="checkbox-group">
                                <legend>"Developers may create keys in"</legend>
                                {Environment::ALL
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, env)| {
                                        view! {
                                            <label>
                                                <input
                                                    type="checkbox"
                                                    name=format!("developer_environments[{i}]")
                                                    value=env.as_str()
                                                    checked=p.developer_environments.contains(&env)
                                                />
                                                " "
                                                {env.label()}
                                            </label>
                                        }
                                    })
                                    .collect_view()}
                                {move || {
                                    field_error(error, "developer_environments")
                                        .get()
                                        .map(|m| view! { <p class="field-error">{m}</p> })
                                }}
                            </fieldset>
                            <Field
                                label="Rotate keys with high-risk scopes every (days)"
                                name="rotate_high_risk_days"
                                kind="number"
                                value=p.rotate_high_risk_days.to_string()
                                hint="The key review flags keys older than this."
                                error=field_error(error, "rotate_high_risk_days")
                            />
                            <Field
                                label="Rotate other keys every (days)"
                                name="rotate_low_risk_days"
                                kind="number"
                                value=p.rotate_low_risk_days.to_string()
                                error=field_error(error, "rotate_low_risk_days")
                            />
                            <Field
                                label="Access tokens live (minutes)"
                                name="access_token_lifetime_minutes"
                                kind="number"
                                value=(p.access_token_lifetime_secs / 60).to_string()
                                hint="1 to 60. Tokens minted from now on; a shorter life means a leaked token is worth less."
                                error=field_error(error, "access_token_lifetime_minutes")
                            />
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    name="approval_for_high_risk_production"
                                    value="on"
                                    checked=p.approval_for_high_risk_production
                                />
                                " Production keys with high-risk scopes need an admin's approval"
                            </label>
                            <SubmitButton
                                label="Save policy"
                                busy_label="Saving…"
                                pending=set.pending()
                            />
                        </ActionForm>
                    </section>
                }
            })}
    }
}

/// Whether members must sign in with a second factor; admins change it.
#[component]
fn SecondFactorRequirement(
    view: PolicyView,
    org_id: i64,
    require: ServerAction<SetSecondFactorRequirement>,
) -> impl IntoView {
    let error = action_error(require);
    let session = use_session();
    Effect::new(move |_| {
        if matches!(require.value().get(), Some(Ok(_))) {
            session.me.refetch();
        }
    });
    let required = view.requires_second_factor;
    let without = view.members_without_second_factor.clone();
    view! {
        <section class="panel" aria-labelledby="two-factor-policy-heading">
            <h2 id="two-factor-policy-heading">"Two-factor authentication"</h2>
            <p data-testid="two-factor-policy">
                {if required {
                    "Required: every member signs in with a code from an authenticator app after the password. Members without one are sent to set it up before anything else."
                } else {
                    "Not required: members choose whether to use a second factor."
                }}
            </p>
            {view
                .can_edit
                .then(|| {
                    view! {
                        {(!without.is_empty())
                            .then(|| {
                                view! {
                                    <p class:notice=true class:notice-warn=required>
                                        {format!(
                                            "{} no second factor yet: {}.{}",
                                            format::count(without.len(), "member has", "members have"),
                                            without.join(", "),
                                            if required {
                                                " They are asked to set one up when they next open a page."
                                            } else {
                                                " Requiring it sends them to set one up when they next open a page."
                                            },
                                        )}
                                    </p>
                                }
                            })}
                        <FormMessage error />
                        <ActionForm action=require attr:class="inline-form">
                            <input type="hidden" name="org_id" value=org_id.to_string() />
                            <input
                                type="hidden"
                                name="required"
                                value=if required { "false" } else { "true" }
                            />
                            <SubmitButton
                                label=if required {
                                    "Stop requiring two-factor authentication"
                                } else {
                                    "Require two-factor authentication"
                                }
                                busy_label="Saving…"
                                pending=require.pending()
                            />
                        </ActionForm>
                    }
                })}
        </section>
    }
}
