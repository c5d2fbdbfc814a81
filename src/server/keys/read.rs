//! The read model: keys as lists and pages show them, with filters.

use super::row::{load_for, scopes_of, status_of};
use crate::model::page::Page;
use crate::server::audit::audit_entry;
use crate::server::{
    authz::{authorize_org, key_permissions, Actor, KeyAction, OrgAction},
    db::{
        api_keys::{self, Inventory, InventoryCursor, InventoryOrder, KeyRow},
        audit::{self},
        token_grants, usage,
    },
    state::AppState,
};
use crate::{
    domain::{
        key_format::{display_id, Environment},
        keys::KeyStatus,
        Role,
    },
    error::AppError,
    model::keys::{
        AccessTokensView, ApprovalDecision, ChainLink, KeyCounts, KeyDetail, KeyPage,
        KeyPermissions, KeySummary, QuotaView, Refusal, SuspensionView,
    },
};
use chrono::{DateTime, Duration, Utc};

/// How the inventory is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySort {
    /// Newest first.
    Newest,
    /// Most recently used first; never-used last.
    LastUsed,
    /// Soonest expiry first.
    Expiry,
}

/// Which keys the inventory shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFilter {
    /// Only this environment.
    pub environment: Option<Environment>,
    /// Only this status.
    pub status: Option<KeyStatus>,
    /// The order.
    pub sort: KeySort,
}

impl KeyFilter {
    /// Whether a key passes the filter (the sort aside).
    pub fn admits(&self, key: &KeySummary) -> bool {
        self.environment.is_none_or(|e| key.environment == e)
            && self.status.is_none_or(|s| key.status == s)
    }

    /// Reads the filter from query values; unknown values mean "any".
    pub fn parse(environment: Option<&str>, status: Option<&str>, sort: Option<&str>) -> Self {
        Self {
            environment: environment.and_then(|e| Environment::parse(e).ok()),
            status: status.and_then(KeyStatus::parse),
            sort: match sort {
                Some("last_used") => KeySort::LastUsed,
                Some("expiry") => KeySort::Expiry,
                _ => KeySort::Newest,
            },
        }
    }
}

/// The list form of a key row.
pub(crate) fn summary(
    state: &AppState,
    row: &KeyRow,
    now: DateTime<Utc>,
) -> Result<KeySummary, AppError> {
    let environment = row.environment;
    let status = status_of(row, now);
    Ok(KeySummary {
        display_id: display_id(state.config.key_prefix.as_str(), environment, &row.key_id),
        key_id: row.key_id.clone(),
        name: row.name.clone(),
        environment,
        scopes: scopes_of(row),
        owner: row.owner_email.clone(),
        service: row.service.clone(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        // The one effective expiry: a rotating key's overlap end, if sooner.
        expires_at: row.standing.ends_at(),
        status,
        rotating_until: row
            .standing
            .rotating_until
            .filter(|_| status == KeyStatus::Rotating),
        owner_left: !row.owner_is_member,
    })
}

/// Keys shown on one page of the inventory.
pub const KEY_PAGE_SIZE: usize = 50;

/// Where a page of the inventory starts: at the beginning, or next to a key
/// of another page (its public id), so that keys created meanwhile never
/// shift a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCursor {
    /// The first page.
    Start,
    /// The keys that come after this key in the inventory's order.
    After(String),
    /// The keys that come before this key.
    Before(String),
}

impl KeyCursor {
    /// Reads the cursor from query values; none, or an empty one, means the start.
    pub fn parse(after: Option<&str>, before: Option<&str>) -> Self {
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match (given(after), given(before)) {
            (Some(after), _) => KeyCursor::After(after),
            (None, Some(before)) => KeyCursor::Before(before),
            (None, None) => KeyCursor::Start,
        }
    }
}

/// One page of the keys `actor` may see in `org_id` (their own, or every
/// key for admins) that pass `filter`, in its order, from `cursor`. A
/// cursor naming no key the actor can see starts at the top.
///
/// The database orders and filters the whole organisation's keys (the
/// status by the same rule as [`KeyStatus::of`]); whole rows are read for
/// the page's keys alone.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    filter: &KeyFilter,
    cursor: &KeyCursor,
) -> Result<KeyPage, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::View)?;
    let now = state.clock.now();
    let inventory = Inventory {
        org_id,
        owner_id: (membership.role != Role::Admin).then_some(actor.user_id),
        environment: filter.environment,
        status: filter.status,
        order: match filter.sort {
            KeySort::Newest => InventoryOrder::Newest,
            KeySort::LastUsed => InventoryOrder::LastUsed,
            KeySort::Expiry => InventoryOrder::Expiry,
        },
        now,
    };
    let size = KEY_PAGE_SIZE as i64;
    let mut conn = state.db.acquire().await?;
    let from = match cursor {
        KeyCursor::Start => InventoryCursor::Start,
        KeyCursor::After(key_id) => InventoryCursor::After(key_id),
        KeyCursor::Before(key_id) => InventoryCursor::Before(key_id),
    };
    let mut listed = api_keys::inventory_page(conn.conn(), &inventory, from, size + 1).await?;
    let backwards = matches!(cursor, KeyCursor::Before(_));
    // A cursor that names no key of this list (or, before, too few keys to
    // fill a page) starts at the top, with a full first page.
    if (listed.is_empty() && *cursor != KeyCursor::Start)
        || (backwards && listed.len() <= KEY_PAGE_SIZE)
    {
        listed =
            api_keys::inventory_page(conn.conn(), &inventory, InventoryCursor::Start, size).await?;
    } else if listed.len() > KEY_PAGE_SIZE {
        if backwards {
            listed.remove(0);
        } else {
            listed.pop();
        }
    }
    let total =
        usize::try_from(api_keys::inventory_total(conn.conn(), &inventory).await?).unwrap_or(0);
    let ids: Vec<i64> = listed.iter().map(|l| l.id).collect();
    let mut rows = api_keys::find_many(conn.conn(), &ids).await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    let keys = rows
        .iter()
        .map(|row| summary(state, row, now))
        .collect::<Result<Vec<_>, _>>()?;
    let first = listed
        .first()
        .map_or(0, |l| usize::try_from(l.rank).unwrap_or(0));
    let last = listed
        .last()
        .map_or(0, |l| usize::try_from(l.rank).unwrap_or(0));
    Ok(Page {
        total,
        first,
        next_after: (last < total)
            .then(|| keys.last().map(|k| k.key_id.clone()))
            .flatten(),
        previous_before: (first > 1)
            .then(|| keys.first().map(|k| k.key_id.clone()))
            .flatten(),
        items: keys,
    })
}

/// How the keys `actor` may see in `org_id` stand (see [`KeyCounts`]).
pub async fn counts(state: &AppState, actor: &Actor, org_id: i64) -> Result<KeyCounts, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::View)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let c = api_keys::inventory_counts(
        conn.conn(),
        org_id,
        (membership.role != Role::Admin).then_some(actor.user_id),
        now,
        now + Duration::days(14),
    )
    .await?;
    let n = |v: i64| usize::try_from(v).unwrap_or(0);
    Ok(KeyCounts {
        total: n(c.total),
        sandbox: n(c.sandbox),
        production: n(c.production),
        rotating: n(c.rotating),
        expiring_soon: n(c.expiring_soon),
        never_used: n(c.never_used),
    })
}

/// Everything about one key: fields, rotation chain, usage and history.
pub async fn detail(state: &AppState, actor: &Actor, key_id: &str) -> Result<KeyDetail, AppError> {
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    let permissions = key_permissions(actor, row.org_id, row.owner_id);
    detail_of(state, row, permissions).await
}

/// Everything about a key already authorised for viewing.
pub(crate) async fn detail_of(
    state: &AppState,
    row: KeyRow,
    permissions: KeyPermissions,
) -> Result<KeyDetail, AppError> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;

    let link = |r: &KeyRow| -> Result<ChainLink, AppError> {
        let s = summary(state, r, now)?;
        Ok(ChainLink {
            key_id: s.key_id,
            display_id: s.display_id,
            status: s.status,
            created_at: s.created_at,
        })
    };
    let mut before = Vec::new();
    let mut cursor = row.predecessor_id;
    while let (Some(id), true) = (cursor, before.len() < 50) {
        let Some(prev) = api_keys::find(conn.conn(), id).await? else {
            break;
        };
        cursor = prev.predecessor_id;
        before.push(link(&prev)?);
    }
    before.reverse();
    let mut chain = before;
    chain.push(link(&row)?);
    let mut cursor = row.successor_id;
    while let (Some(id), true) = (cursor, chain.len() < 100) {
        let Some(next) = api_keys::find(conn.conn(), id).await? else {
            break;
        };
        cursor = next.successor_id;
        chain.push(link(&next)?);
    }

    let requests_7d = usage::requests_since(conn.conn(), row.id, now - Duration::days(7)).await?;
    let quota = match row.monthly_quota {
        Some(monthly) => Some(QuotaView {
            monthly,
            used: usage::accepted_since(
                conn.conn(),
                row.id,
                crate::domain::quota::month_start(now),
            )
            .await?,
            resets_at: crate::domain::quota::next_month_start(now),
        }),
        None => None,
    };
    let refused_7d = usage::refused_since(conn.conn(), row.id, now - Duration::days(7)).await?;
    let last_refused = usage::last_refusal(conn.conn(), row.id)
        .await?
        .map(|r| Refusal {
            code: r.outcome,
            at: r.at,
            client_addr: r.client_addr,
        });
    let audit = audit::for_key(conn.conn(), row.id)
        .await?
        .into_iter()
        .map(|e| audit_entry(state, e))
        .collect();
    let scopes = scopes_of(&row);
    let high_risk_scopes = state
        .catalog
        .high_risk(&scopes)
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let try_it = try_it_line(state, &scopes);
    let access_tokens = AccessTokensView {
        minted_24h: token_grants::count_since(conn.conn(), row.id, now - Duration::hours(24))
            .await?,
        lifetime_secs: crate::server::policy::load(conn.conn(), row.org_id)
            .await?
            .access_token_lifetime_secs,
        request_line: format!(
            "curl -u \"{}:$PORTICO_KEY\" -d grant_type=client_credentials {}/oauth/token",
            row.key_id, state.config.public_url
        ),
    };
    let new_owner_choices = if !row.owner_is_member && permissions.administer {
        crate::server::db::memberships::members_of(conn.conn(), row.org_id)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.email))
            .collect()
    } else {
        Vec::new()
    };
    Ok(KeyDetail {
        summary: summary(state, &row, now)?,
        purpose: row.purpose.clone(),
        ip_allowlist: row
            .ip_allowlist
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        created_by: row.created_by_email.clone(),
        last_used_addr: row.last_used_addr.clone(),
        requests_7d,
        refused_7d,
        last_refused,
        revoked_at: row.standing.revoked_at,
        revoked_by: row.revoked_by_email.clone(),
        revoked_reason: row.revoked_reason.clone(),
        rate_limit_per_minute: row.rate_limit_per_minute,
        quota,
        chain,
        audit,
        high_risk_scopes,
        try_it,
        access_tokens,
        org_id: row.org_id,
        org_name: row.org_name.clone(),
        suspension: row
            .standing
            .suspended_at
            .filter(|_| row.standing.is_suspended(now))
            .map(|at| SuspensionView {
                at,
                by: row
                    .suspended_by_email
                    .clone()
                    .unwrap_or_else(|| "Portico (automatically)".to_owned()),
                reason: row.suspended_reason.clone().unwrap_or_default(),
                until: row.standing.suspended_until,
            }),
        approval: row.standing.approval,
        approval_decision: row.approval_decided_at.map(|at| ApprovalDecision {
            by: row.approval_decided_by_email.clone().unwrap_or_default(),
            at,
            comment: row.approval_comment.clone().unwrap_or_default(),
        }),
        permissions,
        new_owner_choices,
    })
}

/// A `curl` line that calls the sample API with the key: a read endpoint
/// without parameters if the key has one, else its first endpoint.
pub(crate) fn try_it_line(state: &AppState, scopes: &[String]) -> Option<String> {
    let endpoints: Vec<&String> = scopes
        .iter()
        .filter_map(|s| state.catalog.get(s))
        .flat_map(|s| s.endpoints.iter())
        .collect();
    let endpoint = endpoints
        .iter()
        .find(|e| e.starts_with("GET ") && !e.contains('{'))
        .or_else(|| endpoints.first())?;
    let (method, path) = endpoint.split_once(' ')?;
    let path = path.replace("{id}", "1");
    let method = if method == "GET" {
        String::new()
    } else {
        format!("-X {method} ")
    };
    Some(format!(
        "curl {method}-H \"Authorization: Bearer $PORTICO_KEY\" {}/sample{path}",
        state.config.public_url
    ))
}
