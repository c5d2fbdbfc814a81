//! Exports for organisation admins: the key inventory and the audit trail,
//! as CSV or JSON, streamed page by page so that a large export never sits
//! in memory. Every export is itself recorded in the audit trail.
//!
//! `GET /exports/keys.{csv,json}?org_id=…` and
//! `GET /exports/audit.{csv,json}?org_id=…&from=…&to=…&actor=…&key=…&action=…`
//! (`from`/`to` as `YYYY-MM-DD`, UTC).

use super::{
    audit::{parse_filter, record_event, FilterForm},
    auth::session::{AuthSession, Client},
    authz::{authorize_org, OrgAction},
    context::signed_in_actor,
    db::{
        api_keys,
        audit::{self, EventFilter, NewEvent},
    },
    http::client_addr::ClientAddr,
    keys::summary,
    state::AppState,
};
use crate::domain::audit::AuditAction;
use crate::error::AppError;
use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use chrono::Utc;
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

/// Rows fetched per page.
const PAGE: i64 = 500;

/// The export routes (mounted with the portal's sessions).
pub fn routes() -> Router<AppState> {
    Router::new().route("/exports/{file}", get(export))
}

/// The query of an export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    org_id: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    key: Option<String>,
    action: Option<String>,
    /// The key list's filters, for the inventory (as on `/keys`).
    env: Option<String>,
    status: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

/// Refuses an export: a short page for a person's browser (with a way to
/// sign in, or back to the keys), plain text for scripts.
fn refuse(err: AppError, browser: bool, path_and_query: &str, stylesheet: &str) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if browser && err == AppError::Unauthenticated {
        let next = crate::domain::next_path::encode_component(path_and_query);
        return axum::response::Redirect::to(&format!("/signin?next={next}")).into_response();
    }
    if !browser {
        return (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            err.to_string(),
        )
            .into_response();
    }
    let message = html_escape(&err.to_string());
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Export not available · Portico</title>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><main id=\"main\"><section class=\"auth-card\"><h1>Export not available</h1>\
         <p class=\"panel panel-error\" role=\"alert\">{message}</p>\
         <p><a href=\"/keys\">Back to your keys</a> · <a href=\"/audit\">Audit trail</a></p>\
         </section></main></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    Path(file): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    // A person's browser asks for HTML first; scripts and curl do not.
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let path_and_query = uri.path_and_query().map_or("/exports", |p| p.as_str());
    let stylesheet = crate::server::http::bundle::stylesheet_href(&state.leptos_options);
    let query = match query {
        Ok(Query(query)) => query,
        Err(_) => {
            let err = AppError::field(
                "query",
                "This export link is malformed: org_id must be a number, and from and to dates like 2026-11-30.",
            );
            return refuse(err, browser, path_and_query, &stylesheet);
        }
    };
    match prepare(&state, session, addr, &file, query).await {
        Ok(response) => response,
        Err(err) => refuse(err, browser, path_and_query, &stylesheet),
    }
}

async fn prepare(
    state: &AppState,
    session: Session,
    addr: std::net::IpAddr,
    file: &str,
    query: ExportQuery,
) -> Result<Response, AppError> {
    let (what, format) = match file {
        "keys.csv" => ("keys", Format::Csv),
        "keys.json" => ("keys", Format::Json),
        "audit.csv" => ("audit", Format::Csv),
        "audit.json" => ("audit", Format::Json),
        _ => {
            return Err(AppError::NotFound(
                "No such export. Try keys.csv, keys.json, audit.csv or audit.json.".to_owned(),
            ))
        }
    };
    let session = AuthSession::new(session);
    let client = Client {
        addr,
        user_agent: String::new(),
    };
    let actor = signed_in_actor(state, &session, &client)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Without an org_id, the organisation this session acts in.
    let org_id = match query.org_id {
        Some(id) => id,
        None => {
            let chosen = session.active_org().await?;
            chosen
                .and_then(|id| actor.membership(id))
                .or_else(|| actor.memberships.first())
                .map(|m| m.org_id)
                .ok_or_else(|| {
                    AppError::Conflict(
                        "You belong to no organisation yet, so there is nothing to export."
                            .to_owned(),
                    )
                })?
        }
    };
    let membership = authorize_org(&actor, org_id, OrgAction::Export)?;
    let filter = audit_filter(&query)?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    record_event(
        &mut tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::Exported,
            reason: None,
            details: Some(json!({"what": if what == "keys" { "the key inventory" } else { "the audit trail" }, "format": if format == Format::Csv { "CSV" } else { "JSON" }}).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    tx.commit().await?;

    let body = if what == "keys" {
        let filter = crate::server::keys::KeyFilter::parse(
            query.env.as_deref(),
            query.status.as_deref(),
            None,
        );
        Body::from_stream(key_stream(state.clone(), org_id, filter, format))
    } else {
        Body::from_stream(audit_stream(state.clone(), org_id, filter, format))
    };
    let name = format!(
        "portico-{}-{}-{}.{}",
        membership.org_slug,
        what,
        now.format("%Y%m%d"),
        if format == Format::Csv { "csv" } else { "json" }
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if format == Format::Csv {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn audit_filter(query: &ExportQuery) -> Result<EventFilter, AppError> {
    parse_filter(&FilterForm {
        from: query.from.clone(),
        to: query.to.clone(),
        actor: query.actor.clone(),
        key: query.key.clone(),
        action: query.action.clone(),
    })
}

/// Keeps a spreadsheet from running a cell as a formula (OWASP, "CSV
/// Injection"): a cell whose first character after any leading whitespace
/// or separators (`,` `;`) is `=`, `+`, `-` or `@`, or that starts with a tab
/// or carriage return, gets a leading `'`.
fn cell(value: &str) -> String {
    let first = value
        .chars()
        .find(|c| !(c.is_whitespace() || matches!(c, ',' | ';')));
    let risky = matches!(first, Some('=' | '+' | '-' | '@')) || value.starts_with(['\t', '\r']);
    if risky {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// CSV with every cell quoted, so that no spreadsheet guesses a cell's type.
fn csv_rows(rows: &[Vec<String>]) -> Bytes {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    for row in rows {
        let _ = writer.write_record(row.iter().map(|v| cell(v)));
    }
    Bytes::from(writer.into_inner().unwrap_or_default())
}

/// Streams pages from `fetch` (given the last id, returns rows with their
/// ids) as CSV with `header`, or as a JSON array.
fn paged<F, Fut>(
    format: Format,
    header: &'static [&'static str],
    fetch: F,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<(i64, Vec<String>, serde_json::Value)>, AppError>>
        + Send,
{
    let fetch = std::sync::Arc::new(fetch);
    // State: (last id, started, finished).
    stream::unfold((0i64, false, false), move |(after, started, done)| {
        let fetch = fetch.clone();
        async move {
            if done {
                return None;
            }
            let mut out = Vec::new();
            if !started {
                match format {
                    Format::Csv => out.extend_from_slice(&csv_rows(&[header
                        .iter()
                        .map(|h| (*h).to_owned())
                        .collect()])),
                    Format::Json => out.push(b'['),
                }
            }
            let page = match fetch(after).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "export stopped");
                    return Some((
                        Err(std::io::Error::other("export failed")),
                        (after, true, true),
                    ));
                }
            };
            let last = page.last().map(|(id, ..)| *id);
            let finished = (page.len() as i64) < PAGE;
            match format {
                Format::Csv => {
                    let rows: Vec<Vec<String>> = page.into_iter().map(|(_, row, _)| row).collect();
                    out.extend_from_slice(&csv_rows(&rows));
                }
                Format::Json => {
                    for (i, (_, _, value)) in page.into_iter().enumerate() {
                        if started || i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(value.to_string().as_bytes());
                    }
                    if finished {
                        out.push(b']');
                    }
                }
            }
            Some((
                Ok(Bytes::from(out)),
                (last.unwrap_or(after), true, finished),
            ))
        }
    })
}

const KEY_COLUMNS: &[&str] = &[
    "key_id",
    "display_id",
    "name",
    "environment",
    "status",
    "scopes",
    "owner",
    "owner_left",
    "service",
    "created_at",
    "last_used_at",
    "expires_at",
    "rotating_until",
];

fn key_stream(
    state: AppState,
    org_id: i64,
    filter: crate::server::keys::KeyFilter,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    paged(format, KEY_COLUMNS, move |after| {
        let state = state.clone();
        async move {
            let now = state.clock.now();
            let rows = {
                let mut conn = state.db.acquire().await?;
                api_keys::page_for_org(conn.conn(), org_id, after, PAGE).await?
            };
            rows.iter()
                .map(|row| Ok((row, summary(&state, row, now)?)))
                .filter(|item: &Result<_, AppError>| match item {
                    Ok((_, k)) => filter.admits(k),
                    Err(_) => true,
                })
                .map(|item| {
                    let (row, k) = item?;
                    let time = |t: Option<chrono::DateTime<Utc>>| {
                        t.map(|t| t.to_rfc3339()).unwrap_or_default()
                    };
                    let csv = vec![
                        k.key_id.clone(),
                        k.display_id.clone(),
                        k.name.clone(),
                        k.environment.as_str().to_owned(),
                        k.status.as_str().to_owned(),
                        k.scopes.join(" "),
                        k.owner.clone(),
                        k.owner_left.to_string(),
                        k.service.clone(),
                        k.created_at.to_rfc3339(),
                        time(k.last_used_at),
                        k.expires_at.to_rfc3339(),
                        time(k.rotating_until),
                    ];
                    let value = json!({
                        "key_id": k.key_id, "display_id": k.display_id, "name": k.name,
                        "environment": k.environment.as_str(), "status": k.status.as_str(),
                        "scopes": k.scopes, "owner": k.owner, "owner_left": k.owner_left,
                        "service": k.service, "purpose": row.purpose, "created_at": k.created_at,
                        "last_used_at": k.last_used_at, "expires_at": k.expires_at,
                        "rotating_until": k.rotating_until,
                    });
                    Ok((row.id, csv, value))
                })
                .collect()
        }
    })
}

const AUDIT_COLUMNS: &[&str] = &[
    "id",
    "at",
    "actor",
    "action",
    "key_id",
    "key_name",
    "reason",
    "details",
    "client_addr",
];

fn audit_stream(
    state: AppState,
    org_id: i64,
    filter: EventFilter,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    paged(format, AUDIT_COLUMNS, move |after| {
        let state = state.clone();
        let filter = filter.clone();
        async move {
            let rows = {
                let mut conn = state.db.acquire().await?;
                audit::page_for_export(conn.conn(), org_id, &filter, after, PAGE).await?
            };
            Ok(rows
                .into_iter()
                .map(|e| {
                    let details: serde_json::Value = e
                        .details
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or(serde_json::Value::Null);
                    let csv = vec![
                        e.id.to_string(),
                        e.at.to_rfc3339(),
                        e.actor_email.clone(),
                        e.action.clone(),
                        e.key_public_id.clone().unwrap_or_default(),
                        e.key_name.clone().unwrap_or_default(),
                        e.reason.clone().unwrap_or_default(),
                        e.details.clone().unwrap_or_default(),
                        e.client_addr.clone().unwrap_or_default(),
                    ];
                    let value = json!({
                        "id": e.id, "at": e.at, "actor": e.actor_email, "action": e.action,
                        "key_id": e.key_public_id, "key_name": e.key_name, "reason": e.reason,
                        "details": details, "client_addr": e.client_addr,
                    });
                    (e.id, csv, value)
                })
                .collect())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("Billing sync"), "Billing sync");
        assert_eq!(cell("  =1+1"), "'  =1+1");
        assert_eq!(cell(";@SUM(A1)"), "';@SUM(A1)");
        assert_eq!(cell(", -2"), "', -2");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("a-b"), "a-b");
        assert_eq!(cell(""), "");
        let bytes = csv_rows(&[vec!["a,b".into(), "say \"hi\"".into(), "plain".into()]]);
        assert_eq!(&bytes[..], b"\"a,b\",\"say \"\"hi\"\"\",\"plain\"\n");
    }
}
