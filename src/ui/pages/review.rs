//! `/review`: the key hygiene review of the organisation (admins), each
//! finding with the action that fixes it.

use crate::{
    api::{
        account::Me,
        review::{key_review, Finding, FindingKind, NarrowKey},
    },
    ui::{
        format,
        forms::{action_error, success_of, ErrorPanel, FormMessage},
        keys::SecretPanel,
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
        let review = Resource::new(
            move || (org_id, narrow.version().get()),
            |(org, _)| key_review(org),
        );
        let narrowed = success_of(narrow);
        let error = action_error(narrow);
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
                                    "keys or scopes unused for 30 days, keys expiring within 14 days, production keys with high-risk scopes, and traffic on keys that no longer work. "
                                    "Operators get the same list with "
                                    <code>"portico review --org SLUG"</code> "."
                                </p>
                            </div>
                            <FormMessage error />
                            <Transition fallback=|| {
                                view! { <p role="status">"Reviewing…"</p> }
                            }>
                                {move || Suspend::new(async move {
                                    match review.await {
                                        Err(err) => view! { <ErrorPanel error=err /> }.into_any(),
                                        Ok(r) if r.findings.is_empty() => {
                                            view! {
                                                <section class="empty-state" role="status">
                                                    <h2>"Nothing to fix"</h2>
                                                    <p>
                                                        {healthy_summary(
                                                            r.keys_checked,
                                                            &format::date_time(r.generated_at),
                                                        )}
                                                    </p>
                                                </section>
                                            }
                                                .into_any()
                                        }
                                        Ok(r) => {
                                            view! {
                                                <p role="status">
                                                    {format!(
                                                        "{} across {} ({}).",
                                                        format::count(r.findings.len(), "finding", "findings"),
                                                        format::count(
                                                            r.keys_checked,
                                                            "working key",
                                                            "working keys",
                                                        ),
                                                        format::date_time(r.generated_at),
                                                    )}
                                                </p>
                                                <table class="table" data-testid="review">
                                                    <thead>
                                                        <tr>
                                                            <th scope="col">"Key"</th>
                                                            <th scope="col">"Owner"</th>
                                                            <th scope="col">"Finding"</th>
                                                            <th scope="col">"Fix"</th>
                                                        </tr>
                                                    </thead>
                                                    <tbody>
                                                        {r
                                                            .findings
                                                            .into_iter()
                                                            .map(|f| view! { <FindingRow f narrow /> })
                                                            .collect_view()}
                                                    </tbody>
                                                </table>
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
fn FindingRow(f: Finding, narrow: ServerAction<NarrowKey>) -> impl IntoView {
    let link = format!("/keys/{}", f.key_id);
    view! {
        <tr>
            <td>
                <A href=link.clone()>{f.key_name.clone()}</A>
                <div class="mono key-id">{f.display_id.clone()}</div>
            </td>
            <td>{f.owner.clone()}</td>
            <td>{f.reason.clone()}</td>
            <td>
                {if f.kind == FindingKind::UnusedScopes {
                    Either::Left(
                        view! {
                            <ActionForm action=narrow>
                                <input type="hidden" name="key_id" value=f.key_id.clone() />
                                <button type="submit" class="button button-small">
                                    {f.kind.action()}
                                </button>
                            </ActionForm>
                        },
                    )
                } else {
                    Either::Right(view! { <A href=link>{f.kind.action()}</A> })
                }}
            </td>
        </tr>
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
