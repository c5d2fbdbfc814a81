//! Charts drawn on the server as SVG: no JavaScript, with a text summary
//! and a table for screen readers and anyone who prefers numbers.

use crate::api::usage::{UsageBucket, UsageRange};
use leptos::prelude::*;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

fn bucket_label(range: UsageRange, bucket: &UsageBucket) -> String {
    match range {
        UsageRange::Day => bucket.start.format("%H:%M").to_string(),
        UsageRange::Week => bucket.start.format("%a %H:%M").to_string(),
        UsageRange::Month => bucket.start.format("%-d %b").to_string(),
    }
}

/// Where the label under bar `i` of `n` goes, and how it is anchored: the
/// first starts at its bar's left edge and the last ends at its bar's right
/// edge, so neither runs off the chart; the others are centred.
fn tick_position(i: usize, n: usize, slot: f64) -> (f64, &'static str) {
    let left = LEFT + slot * i as f64;
    if i == 0 && n > 1 {
        (left, "start")
    } else if i + 1 == n && n > 1 {
        (left + slot, "end")
    } else {
        (left + slot / 2.0, "middle")
    }
}

/// Requests over time as stacked bars: allowed below, refused above.
#[component]
pub fn UsageChart(
    /// The bars.
    buckets: Vec<UsageBucket>,
    /// The period.
    range: UsageRange,
    /// A unique id prefix for the chart's title and description.
    id: &'static str,
) -> impl IntoView {
    let total: i64 = buckets.iter().map(|b| b.ok + b.denied).sum();
    let denied: i64 = buckets.iter().map(|b| b.denied).sum();
    let peak = buckets.iter().max_by_key(|b| b.ok + b.denied).cloned();
    let max = peak.as_ref().map_or(0, |b| b.ok + b.denied).max(1) as f64;
    let n = buckets.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / n;
    let bar = (slot * 0.8).max(1.0);
    let plot = HEIGHT - BOTTOM - TOP;
    let y = |v: f64| TOP + plot - v / max * plot;
    let summary = match (&peak, total) {
        (_, 0) => format!("No requests in the {}.", range.label()),
        (Some(p), _) => format!(
            "{} in the {}, {denied} refused. Busiest: {} with {}.",
            crate::domain::format::count(total as usize, "request", "requests"),
            range.label(),
            bucket_label(range, p),
            crate::domain::format::count((p.ok + p.denied) as usize, "request", "requests")
        ),
        (None, _) => String::new(),
    };
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    // First, middle and last bar; fewer when there are fewer bars.
    let mut ticks = vec![0usize, buckets.len() / 2, buckets.len().saturating_sub(1)];
    ticks.dedup();
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-labelledby=labelled_by
                preserveAspectRatio="none"
            >
                <title id=title_id>{format!("Requests over the {}", range.label())}</title>
                <desc id=desc_id>{summary.clone()}</desc>
                <line class="axis" x1=LEFT y1=TOP + plot x2=WIDTH y2=TOP + plot />
                <text class="axis-label" x=LEFT - 6.0 y=TOP + 10.0 text-anchor="end">
                    {max as i64}
                </text>
                <text class="axis-label" x=LEFT - 6.0 y=TOP + plot text-anchor="end">
                    "0"
                </text>
                {buckets
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                        let ok_top = y(b.ok as f64);
                        let all_top = y((b.ok + b.denied) as f64);
                        view! {
                            <g>
                                <rect
                                    class="bar-ok"
                                    x=x
                                    y=ok_top
                                    width=bar
                                    height=(TOP + plot - ok_top).max(0.0)
                                />
                                <rect
                                    class="bar-denied"
                                    x=x
                                    y=all_top
                                    width=bar
                                    height=(ok_top - all_top).max(0.0)
                                />
                            </g>
                        }
                    })
                    .collect_view()}
                {ticks
                    .into_iter()
                    .filter_map(|i| buckets.get(i).map(|b| (i, b)))
                    .map(|(i, b)| {
                        let (x, anchor) = tick_position(i, buckets.len(), slot);
                        view! {
                            <text class="axis-label" x=x y=HEIGHT - 6.0 text-anchor=anchor>
                                {bucket_label(range, b)}
                            </text>
                        }
                    })
                    .collect_view()}
            </svg>
            <figcaption>
                {summary} <span class="legend">
                    <span class="swatch swatch-ok"></span>
                    "allowed "
                    <span class="swatch swatch-denied"></span>
                    "refused"
                </span>
            </figcaption>
            <details class="chart-table">
                <summary>"Show as a table"</summary>
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"From (UTC)"</th>
                            <th scope="col">"Allowed"</th>
                            <th scope="col">"Refused"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {buckets
                            .iter()
                            .map(|b| {
                                view! {
                                    <tr>
                                        <td>{bucket_label(range, b)}</td>
                                        <td>{b.ok}</td>
                                        <td>{b.denied}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

/// Links to switch the period, keeping the rest of the address.
#[component]
pub fn RangeTabs(
    current: UsageRange,
    base: String,
    /// More of the query to keep when the period changes (`&addr=…`).
    #[prop(optional)]
    query: String,
) -> impl IntoView {
    view! {
        <nav class="range-tabs" aria-label="Period">
            {UsageRange::ALL
                .into_iter()
                .map(|r| {
                    let href = format!("{base}?range={}{query}", r.as_str());
                    view! {
                        <a
                            href=href
                            aria-current=(r == current).then_some("page")
                            class:active=r == current
                        >
                            {match r {
                                UsageRange::Day => "24 hours",
                                UsageRange::Week => "7 days",
                                UsageRange::Month => "30 days",
                            }}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// A small table of labels and counts; with `link`, each label that it
/// gives an address for is a link (to narrow the page to that label).
#[component]
pub fn CountTable(
    caption: &'static str,
    label: &'static str,
    rows: Vec<crate::api::usage::Count>,
    empty: &'static str,
    #[prop(optional)] link: Option<Callback<String, Option<String>>>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <section class="count-table">
                <h3>{caption}</h3>
                <p class="empty">{empty}</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="count-table">
            <h3>{caption}</h3>
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">{label}</th>
                        <th scope="col">"Requests"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|c| {
                            let href = link.and_then(|link| link.run(c.label.clone()));
                            let label = match href {
                                Some(href) => view! { <a href=href>{c.label}</a> }.into_any(),
                                None => c.label.into_any(),
                            };
                            view! {
                                <tr>
                                    <td class="mono">{label}</td>
                                    <td>{c.requests}</td>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_stay_inside_the_chart() {
        for n in [3usize, 7, 24, 30] {
            let slot = (WIDTH - LEFT) / n as f64;
            assert_eq!(tick_position(0, n, slot), (LEFT, "start"));
            let (x, anchor) = tick_position(n - 1, n, slot);
            assert_eq!(anchor, "end");
            assert!(
                (x - WIDTH).abs() < 1e-9,
                "the last label ends at the right edge, not {x}"
            );
            let (x, anchor) = tick_position(n / 2, n, slot);
            assert_eq!(anchor, "middle");
            assert!(x > LEFT && x < WIDTH);
        }
        // One bar: its label is centred under it.
        let slot = WIDTH - LEFT;
        assert_eq!(tick_position(0, 1, slot), (LEFT + slot / 2.0, "middle"));
    }
}
