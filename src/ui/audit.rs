//! The audit table: the one way an audit trail is shown, on a key's page
//! and on the organisation's audit page.

use crate::{
    domain::{audit::AuditAction, format},
    model::keys::AuditEntry,
};
use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

/// A table of audit events, newest first. `with_key` adds a column naming
/// the key each event is about (for the organisation's trail).
#[component]
pub fn AuditTable(
    entries: Vec<AuditEntry>,
    /// Read to screen readers before the table.
    caption: &'static str,
    #[prop(optional)] with_key: bool,
) -> impl IntoView {
    view! {
        <table class="table audit-table">
            <caption class="visually-hidden">{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"What"</th>
                    {with_key.then(|| view! { <th scope="col">"Key"</th> })}
                    <th scope="col">"Details"</th>
                    <th scope="col">"From"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        let key = with_key
                            .then(|| {
                                view! {
                                    <td>
                                        {match e.key.clone() {
                                            Some((id, display)) => {
                                                Either::Left(
                                                    view! {
                                                        <A href=format!("/keys/{id}")>{e.key_name.clone()}</A>
                                                        <div class="mono key-id">{display}</div>
                                                    },
                                                )
                                            }
                                            None => Either::Right(view! { "—" }),
                                        }}
                                    </td>
                                }
                            });
                        view! {
                            <tr>
                                <td>
                                    <time datetime=format::iso(e.at) title=format::exact_time(e.at)>
                                        {format::date_time(e.at)}
                                    </time>
                                </td>
                                <td>{e.actor.clone()}</td>
                                <td>
                                    <span class=format!(
                                        "event event-{}",
                                        e.action,
                                    )>{AuditAction::label_of(&e.action)}</span>
                                </td>
                                {key}
                                <td>
                                    {e.details.clone()}
                                    {e
                                        .reason
                                        .clone()
                                        .map(|r| view! { <div>"Reason: " <q>{r}</q></div> })}
                                </td>
                                <td class="mono">
                                    {e.client_addr.clone().unwrap_or_else(|| "—".to_owned())}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
