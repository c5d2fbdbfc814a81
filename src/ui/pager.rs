//! Links between the pages of a list paged by cursor.

use crate::ui::format;
use leptos::prelude::*;
use leptos_router::components::A;

/// Where this page of a list sits ("Showing 51–100 of 10,000 keys") and
/// links to the pages before and after it; nothing when the list is empty.
#[component]
pub fn Pager(
    /// What the list holds, plural: "keys".
    noun: &'static str,
    /// The position of the page's first item in the whole list, from 1.
    first: usize,
    /// How many items this page shows.
    shown: usize,
    /// How many items the whole list holds.
    total: usize,
    /// The previous page's address, when there is one.
    previous: Option<String>,
    /// The next page's address, when there is one.
    next: Option<String>,
) -> impl IntoView {
    let count = |n: usize| format::number(i64::try_from(n).unwrap_or(i64::MAX));
    (shown > 0).then(|| {
        let last = first + shown - 1;
        view! {
            <nav class="pager" aria-label=format!("Pages of {noun}")>
                <p class="hint" data-testid="pager-position">
                    {format!(
                        "Showing {}–{} of {} {noun}",
                        count(first),
                        count(last),
                        count(total),
                    )}
                </p>
                <p class="pager-links">
                    {previous
                        .map(|href| {
                            view! {
                                <A href=href attr:rel="prev" attr:class="button">
                                    "← Previous page"
                                </A>
                            }
                        })}
                    {next
                        .map(|href| {
                            view! {
                                <A href=href attr:rel="next" attr:class="button">
                                    "Next page →"
                                </A>
                            }
                        })}
                </p>
            </nav>
        }
    })
}

/// The [`Pager`] of `page`, with the addresses of its neighbours made by
/// `href("before" | "after", cursor)`. Call it before the page's items move.
pub fn pager_of<T, C>(
    noun: &'static str,
    page: &crate::model::page::Page<T, C>,
    href: impl Fn(&str, &C) -> String,
) -> AnyView {
    view! {
        <Pager
            noun
            first=page.first
            shown=page.items.len()
            total=page.total
            previous=page.previous_before.as_ref().map(|c| href("before", c))
            next=page.next_after.as_ref().map(|c| href("after", c))
        />
    }
    .into_any()
}
