//! `/review`: the key hygiene review of the organisation (admins), each
//! finding with the action that fixes it.

use crate::{
    api::{
        account::Me,
        review::{
            key_review, AcceptFinding, ClientProposal, Finding, FindingKind, NarrowKey,
            NarrowPreview, ReopenFinding,
        },
    },
    ui::{
        format,
        forms::{action_error, success_of, ErrorPanel, FormMessage},
        keys::{OverlapChoice, SecretPanel},
        session::signed_in,
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_navigate, NavigateOptions};

/// The review page.
#[component]
pub fn ReviewPage() -> impl IntoView {
    signed_in(|me: Me| {
        let org_id = me.active_org().map(|o| o.id).unwrap_or(0);
        let narrow = ServerAction::<NarrowKey>::new();
        let accept = ServerAction::<AcceptFinding>::new();
        let reopen = ServerAction::<ReopenFinding>::new();
        let review = Resource::new(
            move || {
                (
                    org_id,
                    narrow.version().get(),
                    accept.version().get(),
                    reopen.version().get(),
                )
            },
            |(org, ..)| key_review(org),
        );
        let narrowed = success_of(narrow);
        let error = action_error(narrow);
        let accept_error = action_error(accept);
        let reopen_error = action_error(reopen);
        let navigate = use_navigate();
        view! {
            {move || match narrowed.get() {
                Some(created) => {
                    let navigate = navigate.clone();
                    let next = created.key.key_id.clone();
                    let on_done = Callback::new(move |_| {
                        narrowed.set(None);
                        narrow.value().set(None);
                        navigate(&format!("/keys/{next}"), NavigateOptions::default());
                    });
                    Either::Left(
                        view! {
                            <Title text="Key narrowed" />
                            <SecretPanel created on_done heading="Copy the narrowed key now" />
                        },
                    )
                }
                None => {
                    Either::Right(
                        view! {
                            <Title text="Key review" />
                            <div class="page-head">
                                <h1>"Key review"</h1>
                                <p class="lede">
                                    "The recurring check of every key, made routine: owners who left, keys overdue for rotation (the intervals are in the key policy), "
                                    "keys or scopes unused for 30 days, keys expiring within 14 days, production keys with high-risk scopes, keys shared by several clients, and traffic on keys that no longer work. "
                                    "Operators get the same list with "
                                    <code>"portico review --org SLUG"</code> "."
                                </p>
                            </div>
                            <FormMessage error />
                            <FormMessage error=accept_error />
                            <FormMessage error=reopen_error />
                            <Transition fallback=|| {
                                view! { <p role="status">"Reviewing…"</p> }
                            }>
                                {move || Suspend::new(async move {
                                    match review.await {
                                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                                        Ok(r) => {
                                            let (accepted, open): (Vec<Finding>, Vec<Finding>) = r
                                                .findings
                                                .into_iter()
                                                .partition(|f| f.accepted.is_some());
                                            let when = format::date_time(r.generated_at);
                                            let open_part = if open.is_empty() {
                                                view! {
                                                    <section class="empty-state" role="status">
                                                        <h2>"Nothing to fix"</h2>
                                                        <p>{healthy_summary(r.keys_checked, &when)}</p>
                                                    </section>
                                                }
                                                    .into_any()
                                            } else {
                                                view! {
                                                    <p role="status">
                                                        {format!(
                                                            "{} across {} ({when}).",
                                                            format::count(open.len(), "finding", "findings"),
                                                            format::count(r.keys_checked, "working key", "working keys"),
                                                        )}
                                                    </p>
                                                    <table class="table" data-testid="review">
                                                        <caption class="visually-hidden">"Findings to fix"</caption>
                                                        <thead>
                                                            <tr>
                                                                <th scope="col">"Key"</th>
                                                                <th scope="col">"Owner"</th>
                                                                <th scope="col">"Finding"</th>
                                                                <th scope="col">"Fix"</th>
                                                            </tr>
                                                        </thead>
                                                        <tbody>
                                                            {open
                                                                .into_iter()
                                                                .map(|f| view! { <FindingRow f narrow accept /> })
                                                                .collect_view()}
                                                        </tbody>
                                                    </table>
                                                }
                                                    .into_any()
                                            };
                                            view! {
                                                {open_part}
                                                <AcceptedFindings accepted reopen />
                                            }
                                                .into_any()
                                        }
                                    }
                                })}
                            </Transition>
                        },
                    )
                }
            }}
        }
    })
}

#[component]
fn FindingRow(
    f: Finding,
    narrow: ServerAction<NarrowKey>,
    accept: ServerAction<AcceptFinding>,
) -> impl IntoView {
    let link = format!("/keys/{}", f.key_id);
    let fix = match f.narrow.clone() {
        Some(preview) if f.kind == FindingKind::UnusedScopes => Either::Left(
            view! { <NarrowForm key_id=f.key_id.clone() key_name=f.key_name.clone() preview narrow /> },
        ),
        _ if f.kind == FindingKind::SharedByClients && !f.clients.is_empty() => {
            Either::Right(Either::Left(view! {
                <ClientProposals
                    key_id=f.key_id.clone()
                    key_name=f.key_name.clone()
                    clients=f.clients.clone()
                    unlisted=f.unlisted_clients
                />
            }))
        }
        _ => Either::Right(Either::Right(
            view! { <A href=f.kind.fix_href(&f.key_id)>{f.kind.action()}</A> },
        )),
    };
    let note_id = format!("note-{}-{}", f.key_id, f.kind.as_str());
    view! {
        <tr>
            <td>
                <A href=link>{f.key_name.clone()}</A>
                <div class="mono key-id">{f.display_id.clone()}</div>
            </td>
            <td>{f.owner.clone()}</td>
            <td>{f.reason.clone()}</td>
            <td>
                {fix} <details class="action accept">
                    <summary>"Accept with a note"</summary>
                    <ActionForm action=accept attr:class="stack">
                        <input type="hidden" name="key_id" value=f.key_id.clone() />
                        <input type="hidden" name="kind" value=f.kind.as_str() />
                        <div class="field">
                            <label for=note_id.clone()>"Why this is acceptable"</label>
                            <textarea
                                id=note_id
                                name="note"
                                rows="2"
                                maxlength="500"
                                required
                            ></textarea>
                        </div>
                        <button type="submit" class="button-quiet">
                            "Accept"
                        </button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}

/// Findings admins accepted, with who, when and why, each reopenable.
#[component]
fn AcceptedFindings(accepted: Vec<Finding>, reopen: ServerAction<ReopenFinding>) -> impl IntoView {
    if accepted.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="accepted-findings" aria-labelledby="accepted-heading">
            <h2 id="accepted-heading">"Accepted"</h2>
            <p class="hint">
                "Findings an admin accepted, with their reason. They stay here, not among the findings to fix, until someone reopens them."
            </p>
            <table class="table" data-testid="accepted">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Finding"</th>
                        <th scope="col">"Why it is accepted"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"Reopen"</th>
                    </tr>
                </thead>
                <tbody>
                    {accepted
                        .into_iter()
                        .filter_map(|f| f.accepted.clone().map(|a| (f, a)))
                        .map(|(f, a)| {
                            let reopen_label = format!(
                                "Reopen “{}” for {}",
                                f.kind.label(),
                                f.key_name,
                            );
                            view! {
                                <tr>
                                    <td>
                                        <A href=format!(
                                            "/keys/{}",
                                            f.key_id,
                                        )>{f.key_name.clone()}</A>
                                    </td>
                                    <td>{f.reason.clone()}</td>
                                    <td class="accepted-note">{a.note.clone()}</td>
                                    <td>
                                        {a.by.clone()} <br />
                                        <time
                                            datetime=a.at.to_rfc3339()
                                            title=format::exact_time(a.at)
                                        >
                                            {format::date_time(a.at)}
                                        </time>
                                    </td>
                                    <td>
                                        <ActionForm action=reopen>
                                            <input type="hidden" name="key_id" value=f.key_id.clone() />
                                            <input type="hidden" name="kind" value=f.kind.as_str() />
                                            <button
                                                type="submit"
                                                class="button-quiet"
                                                aria-label=reopen_label
                                            >
                                                "Reopen"
                                            </button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// "Narrow to the scopes in use", previewed: what the new key keeps and
/// loses and how long the old one keeps working, confirmed by the button.
#[component]
fn NarrowForm(
    key_id: String,
    key_name: String,
    preview: NarrowPreview,
    narrow: ServerAction<NarrowKey>,
) -> impl IntoView {
    let legend = format!("Keep {key_name} working for");
    view! {
        <details class="action narrow">
            <summary>{FindingKind::UnusedScopes.action()}</summary>
            <p>
                "Rotates " <strong>{key_name.clone()}</strong> " into a new key that keeps "
                <span class="mono">{preview.keep.join(", ")}</span> " and drops "
                <span class="mono">{preview.remove.join(", ")}</span>
                ". The new key's secret is shown once."
            </p>
            <ActionForm action=narrow attr:class="stack">
                <input type="hidden" name="key_id" value=key_id />
                {preview
                    .keep
                    .iter()
                    .enumerate()
                    .map(|(i, scope)| {
                        view! {
                            <input type="hidden" name=format!("keep[{i}]") value=scope.clone() />
                        }
                    })
                    .collect_view()}
                <OverlapChoice legend />
                <button type="submit" class="button button-small">
                    "Rotate into the narrowed key"
                </button>
            </ActionForm>
        </details>
    }
}

/// "Give each client its own key", previewed: per client address, what it
/// called and the key proposed for it (its scopes, its address as the
/// allowlist), each a link to the create form filled in for it.
#[component]
fn ClientProposals(
    key_id: String,
    key_name: String,
    clients: Vec<ClientProposal>,
    unlisted: usize,
) -> impl IntoView {
    let usage = FindingKind::SharedByClients.fix_href(&key_id);
    let caption = format!("The clients of {key_name} and the key proposed for each");
    view! {
        <details class="action clients">
            <summary>{FindingKind::SharedByClients.action()}</summary>
            <p>
                "One key per client, each with only the scopes that client used and allowed from its address only. "
                "Create each, move the client to it, then revoke " <strong>{key_name}</strong> ". "
                <A href=usage>"Who calls what"</A> " is on its usage page."
            </p>
            <table class="table table-compact">
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Client"</th>
                        <th scope="col">"Requests (30 days)"</th>
                        <th scope="col">"Its own key would hold"</th>
                    </tr>
                </thead>
                <tbody>
                    {clients
                        .into_iter()
                        .map(|c| {
                            let requests = if c.refused == 0 {
                                format!("{} accepted", c.accepted)
                            } else {
                                format!("{} accepted, {} refused", c.accepted, c.refused)
                            };
                            let proposal = if c.proposed() {
                                let label = format!("Create a key for {}", c.client_addr);
                                let holds = if c.scopes.is_empty() {
                                    "the default scopes (its requests named none)".to_owned()
                                } else {
                                    c.scopes.join(", ")
                                };
                                Either::Left(
                                    view! {
                                        <span class="mono">{holds}</span>
                                        " "
                                        <A
                                            href=c.create_href(&key_id)
                                            attr:class="button button-small"
                                            attr:aria-label=label
                                        >
                                            "Create its key"
                                        </A>
                                    },
                                )
                            } else {
                                let why = if c.accepted == 0 {
                                    "Nothing: it was only refused, so it needs no key.".to_owned()
                                } else {
                                    format!(
                                        "Nothing: it used only scopes this key no longer holds ({}).",
                                        c.no_longer_held.join(", "),
                                    )
                                };
                                Either::Right(view! { <span class="hint">{why}</span> })
                            };
                            view! {
                                <tr>
                                    <td class="mono" data-label="Client">
                                        {c.client_addr.clone()}
                                    </td>
                                    <td data-label="Requests (30 days)">{requests}</td>
                                    <td data-label="Its own key would hold">{proposal}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {(unlisted > 0)
                .then(|| {
                    view! {
                        <p class="hint">
                            {format!(
                                "And {}, less busy: find them on its usage page.",
                                format::count(unlisted, "more client", "more clients"),
                            )}
                        </p>
                    }
                })}
        </details>
    }
}

/// What the review says when it found nothing: how many keys it looked at,
/// and when.
fn healthy_summary(keys: usize, when: &str) -> String {
    match keys {
        0 => format!("There are no working keys to review yet ({when})."),
        1 => format!("The one working key looks healthy ({when})."),
        n => format!("All {n} working keys look healthy ({when})."),
    }
}

#[cfg(test)]
mod tests {
    use super::healthy_summary;

    #[test]
    fn an_empty_review_reads_right_for_any_number_of_keys() {
        let when = "28 Nov 2026, 12:42 UTC";
        assert_eq!(
            healthy_summary(0, when),
            "There are no working keys to review yet (28 Nov 2026, 12:42 UTC)."
        );
        assert_eq!(
            healthy_summary(1, when),
            "The one working key looks healthy (28 Nov 2026, 12:42 UTC)."
        );
        assert_eq!(
            healthy_summary(4, when),
            "All 4 working keys look healthy (28 Nov 2026, 12:42 UTC)."
        );
    }
}
