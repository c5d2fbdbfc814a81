//! The key lifecycle: create, list, inspect, rotate, retire, revoke and edit
//! keys, with every event in the audit trail.
//!
//! Secrets exist in plaintext only inside [`create`] and [`rotate`], long
//! enough to hash them and hand them back once.

pub mod approvals;
pub mod change;
pub mod hashing;
pub mod quiet;
pub mod suspension;

use super::{
    authz::{
        authorize_key, authorize_org, key_not_found, key_permissions, Actor, KeyAction, OrgAction,
    },
    db::{
        api_keys::{self, KeyRow, NewKey},
        audit::{self, EventRow, NewEvent},
        unique_violation, usage, Conn, Tx,
    },
    errors::internal,
    notify::Notice,
    state::AppState,
};
use crate::{
    api::keys::{
        ApprovalDecision, AuditEntry, AuditPage, ChainLink, CreatedKey, KeyDetail, KeyFormData,
        KeyPermissions, KeySummary, SuspensionView,
    },
    domain::{
        key_format::{display_id, is_key_id, ApiKey, Environment},
        keys::{self as rules, Approval, IpAllowlist, KeyState, KeyStatus, Overlap},
        Role,
    },
    error::{AppError, FieldError},
    ui::format,
};
use change::KeyChange;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::net::IpAddr;

/// What the create form sends.
#[derive(Debug)]
pub struct NewKeyForm {
    /// The form's one-time token.
    pub request_token: String,
    /// Name.
    pub name: String,
    /// Purpose.
    pub purpose: String,
    /// Service or app.
    pub service: String,
    /// `sandbox` or `production`.
    pub environment: String,
    /// Chosen scopes.
    pub scopes: Vec<String>,
    /// `7`, `30`, `90`, `365`, `date` or empty for the default.
    pub expiry: String,
    /// With `date`: `YYYY-MM-DD`.
    pub expiry_date: Option<String>,
    /// CIDR blocks and addresses, or empty.
    pub ip_allowlist: String,
    /// Whether the user confirmed the high-risk scopes.
    pub confirm_high_risk: bool,
    /// Requests per minute; empty for the default.
    pub rate_limit: String,
}

/// What the edit form sends.
#[derive(Debug)]
pub struct KeyChanges {
    /// New name.
    pub name: String,
    /// New purpose.
    pub purpose: String,
    /// New service.
    pub service: String,
    /// The scopes to keep.
    pub scopes: Vec<String>,
}

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

/// The name audit events use for the system itself.
pub const SYSTEM_ACTOR: &str = "system";

fn environment_of(row: &KeyRow) -> Result<Environment, AppError> {
    Environment::parse(&row.environment).map_err(|_| {
        internal(format_args!(
            "key {} has environment {:?}",
            row.key_id, row.environment
        ))
    })
}

/// The recognisable start of a stored key (`prt_live_AbCdEfGhIj`).
pub(crate) fn display_of(state: &AppState, row: &KeyRow) -> Result<String, AppError> {
    Ok(display_id(
        state.config.key_prefix.as_str(),
        environment_of(row)?,
        &row.key_id,
    ))
}

fn scopes_of(row: &KeyRow) -> Vec<String> {
    row.scopes.split_whitespace().map(str::to_owned).collect()
}

/// The facts a key's status is worked out from.
pub(crate) fn state_of(row: &KeyRow) -> KeyState {
    KeyState {
        expires_at: row.expires_at,
        rotating_until: row.rotating_until,
        revoked_at: row.revoked_at,
        suspended_at: row.suspended_at,
        suspended_until: row.suspended_until,
        approval: Approval::parse(&row.approval),
    }
}

pub(crate) fn status_of(row: &KeyRow, now: DateTime<Utc>) -> KeyStatus {
    KeyStatus::of(&state_of(row), now)
}

/// The list form of a key row.
pub(crate) fn summary(
    state: &AppState,
    row: &KeyRow,
    now: DateTime<Utc>,
) -> Result<KeySummary, AppError> {
    let environment = environment_of(row)?;
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
        expires_at: row.expires_at,
        status,
        rotating_until: row.rotating_until.filter(|_| status == KeyStatus::Rotating),
        owner_left: !row.owner_is_member,
    })
}

/// A new key from the OS CSPRNG.
fn generate_key(state: &AppState, environment: Environment) -> ApiKey {
    let mut buffer = [0u8; 64];
    let mut next = buffer.len();
    ApiKey::generate(&state.config.key_prefix, environment, move || {
        if next == buffer.len() {
            buffer = super::tokens::random_bytes::<64>();
            next = 0;
        }
        next += 1;
        buffer[next - 1]
    })
}

/// Stores a freshly generated key, retrying if its random key id happens to
/// be taken. Returns the row id and the key.
async fn insert_new_key(
    state: &AppState,
    tx: &mut Tx,
    environment: Environment,
    insert: &impl AsyncInsert,
) -> Result<(i64, ApiKey), AppError> {
    for _ in 0..3 {
        let key = generate_key(state, environment);
        let hash = hashing::hash_key(&state.secret, key.expose());
        match insert.insert(tx.conn(), key.key_id(), &hash).await {
            Ok(id) => return Ok((id, key)),
            Err(e)
                if matches!(
                    unique_violation(&e).as_deref(),
                    Some("api_keys_key_id_key" | "api_keys_secret_hash_key")
                ) =>
            {
                continue
            }
            Err(e) => return Err(map_insert_error(e)),
        }
    }
    Err(internal("three key id collisions in a row"))
}

/// Inserting a key row, given its id and hash.
trait AsyncInsert {
    async fn insert(&self, conn: Conn<'_>, key_id: &str, hash: &str) -> sqlx::Result<i64>;
}

/// The settings a new key row copies.
struct KeyTemplate<'a> {
    org_id: i64,
    owner_id: i64,
    created_by: i64,
    name: &'a str,
    purpose: &'a str,
    service: &'a str,
    environment: Environment,
    scopes: &'a str,
    ip_allowlist: &'a str,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    predecessor_id: Option<i64>,
    create_token: Option<&'a str>,
    rate_limit_per_minute: i64,
    approval: Approval,
}

impl AsyncInsert for KeyTemplate<'_> {
    async fn insert(&self, conn: Conn<'_>, key_id: &str, hash: &str) -> sqlx::Result<i64> {
        api_keys::insert(
            conn,
            &NewKey {
                key_id,
                org_id: self.org_id,
                owner_id: self.owner_id,
                created_by: self.created_by,
                name: self.name,
                purpose: self.purpose,
                service: self.service,
                environment: self.environment.as_str(),
                scopes: self.scopes,
                ip_allowlist: self.ip_allowlist,
                secret_hash: hash,
                created_at: self.created_at,
                expires_at: self.expires_at,
                predecessor_id: self.predecessor_id,
                create_token: self.create_token,
                rate_limit_per_minute: self.rate_limit_per_minute,
                approval: self.approval.as_str(),
            },
        )
        .await
    }
}

fn map_insert_error(e: sqlx::Error) -> AppError {
    if unique_violation(&e).as_deref() == Some("api_keys_create_token_key") {
        AppError::Conflict(
            "This form was already submitted and the key was created then; its secret was shown at that moment. \
             Find it in your keys; if nobody copied the secret, revoke it and create another."
                .to_owned(),
        )
    } else {
        e.into()
    }
}

async fn record(tx: &mut Tx, event: NewEvent<'_>) -> Result<(), AppError> {
    audit::insert(tx.conn(), &event).await?;
    Ok(())
}

/// What the create form needs: the catalog, and the organisation's policy
/// as it applies to the actor.
pub async fn form_data(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
) -> Result<KeyFormData, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::CreateKey)?;
    let policy = {
        let mut conn = state.db.acquire().await?;
        super::policy::load(conn.conn(), org_id).await?
    };
    let is_admin = membership.role == Role::Admin;
    Ok(KeyFormData {
        catalog: (*state.catalog).clone(),
        default_scopes: state.catalog.default_scopes(),
        request_token: super::tokens::NewToken::generate().reveal().to_owned(),
        prefix: state.config.key_prefix.as_str().to_owned(),
        environments: if is_admin {
            Environment::ALL.to_vec()
        } else {
            policy.developer_environments.clone()
        },
        default_rate_limit: state.config.default_rate_limit,
        lifetime_presets: policy.lifetime_presets(),
        approval_applies: policy.approval_for_high_risk_production && !is_admin,
        policy,
    })
}

/// Creates a key owned by `actor`. Every field problem is reported at once.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    form: NewKeyForm,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::CreateKey)?;
    let is_admin = membership.role == Role::Admin;
    let token = form.request_token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::Conflict(
            "This form is out of date. Reload the page and try again.".to_owned(),
        ));
    }
    let now = state.clock.now();
    let policy = {
        let mut conn = state.db.acquire().await?;
        super::policy::load(conn.conn(), org_id).await?
    };
    let mut errors = Vec::new();
    let mut check = |field: &str, result: Result<String, String>| match result {
        Ok(v) => Some(v),
        Err(m) => {
            errors.push(FieldError::new(field, m));
            None
        }
    };
    let name = check("name", rules::parse_name(&form.name));
    let purpose = check("purpose", rules::parse_purpose(&form.purpose));
    let service = check("service", rules::parse_service(&form.service));
    let environment = Environment::parse(&form.environment)
        .and_then(|env| {
            if is_admin {
                Ok(env)
            } else {
                policy.check_developer_environment(env).map(|()| env)
            }
        })
        .map_err(|m| errors.push(FieldError::new("environment", m)))
        .ok();
    let scopes = state
        .catalog
        .parse_selection(&form.scopes)
        .map_err(|m| errors.push(FieldError::new("scopes", m)))
        .ok();
    let expires_at = rules::parse_expiry(&form.expiry, form.expiry_date.as_deref(), now, &policy)
        .map_err(|m| errors.push(FieldError::new("expiry", m)))
        .ok();
    let allowlist = IpAllowlist::parse(&form.ip_allowlist)
        .map_err(|m| errors.push(FieldError::new("ip_allowlist", m)))
        .ok();
    let rate_limit = rules::parse_rate_limit(&form.rate_limit, state.config.default_rate_limit)
        .map_err(|m| errors.push(FieldError::new("rate_limit", m)))
        .ok();
    if let Some(scopes) = &scopes {
        let high: Vec<&str> = state
            .catalog
            .high_risk(scopes)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        if !high.is_empty() && !form.confirm_high_risk {
            errors.push(FieldError::new(
                "confirm_high_risk",
                format!(
                    "Confirm that this key needs the high-risk scope{} {}.",
                    if high.len() == 1 { "" } else { "s" },
                    high.join(", ")
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let rate_limit = rate_limit.expect("checked");
    let (name, purpose, service, environment, scopes, expires_at, allowlist) = (
        name.expect("checked"),
        purpose.expect("checked"),
        service.expect("checked"),
        environment.expect("checked"),
        scopes.expect("checked"),
        expires_at.expect("checked"),
        allowlist.expect("checked"),
    );

    let high_risk = !state.catalog.high_risk(&scopes).is_empty();
    let approval = if !is_admin && policy.needs_approval(environment, high_risk) {
        Approval::Pending
    } else {
        Approval::NotRequired
    };
    let scopes_text = scopes.join(" ");
    let allowlist_text = allowlist.to_stored();
    let template = KeyTemplate {
        org_id,
        owner_id: actor.user_id,
        created_by: actor.user_id,
        name: &name,
        purpose: &purpose,
        service: &service,
        environment,
        scopes: &scopes_text,
        ip_allowlist: &allowlist_text,
        created_at: now,
        expires_at,
        predecessor_id: None,
        create_token: Some(token),
        rate_limit_per_minute: i64::from(rate_limit),
        approval,
    };
    let mut tx = KeyChange::begin(state, std::iter::empty::<String>()).await?;
    let (id, key) = insert_new_key(state, &mut tx, environment, &template).await?;
    tx.touch(key.key_id());
    tx.audit(NewEvent {
            org_id,
            key_id: Some(id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: "created",
            reason: None,
            details: Some(
                json!({"environment": environment.as_str(), "scopes": scopes, "expires_at": expires_at, "ip_allowlist": allowlist.entries(), "rate_limit_per_minute": rate_limit, "approval": approval.as_str()})
                    .to_string(),
            ),
            client_addr: Some(addr.to_string()),
            at: now,
        })
    .await?;
    if approval == Approval::Pending {
        approvals::request_in(&mut tx, org_id, id, &key, &name, actor).await?;
    }
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        key = key.display_id(),
        "key created"
    );

    let mut conn = state.db.acquire().await?;
    let row = api_keys::find(conn.conn(), id)
        .await?
        .ok_or_else(|| internal("new key vanished"))?;
    Ok(CreatedKey {
        key: summary(state, &row, now)?,
        secret: key.expose().to_owned(),
    })
}

/// The keys `actor` may see in `org_id`: their own, or every key for admins.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    filter: &KeyFilter,
) -> Result<Vec<KeySummary>, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::View)?;
    let owner = (membership.role != Role::Admin).then_some(actor.user_id);
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let rows = api_keys::list_for_org(conn.conn(), org_id, owner).await?;
    let mut keys = rows
        .iter()
        .map(|row| summary(state, row, now))
        .collect::<Result<Vec<_>, _>>()?;
    keys.retain(|k| {
        filter.environment.is_none_or(|e| k.environment == e)
            && filter.status.is_none_or(|s| k.status == s)
    });
    match filter.sort {
        KeySort::Newest => {}
        KeySort::LastUsed => keys.sort_by_key(|k| std::cmp::Reverse(k.last_used_at)),
        KeySort::Expiry => keys.sort_by_key(|k| k.expires_at),
    }
    Ok(keys)
}

/// The key with this public id, before any authorisation (the caller
/// decides who may see it); "not found" for ids that cannot exist.
pub(crate) async fn find_row(state: &AppState, key_id: &str) -> Result<KeyRow, AppError> {
    if !is_key_id(key_id) {
        return Err(key_not_found());
    }
    let mut conn = state.db.acquire().await?;
    api_keys::find_by_key_id(conn.conn(), key_id)
        .await?
        .ok_or_else(key_not_found)
}

/// Loads a key `actor` may act on, or answers "not found".
pub(crate) async fn load_for(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    action: KeyAction,
) -> Result<KeyRow, AppError> {
    let row = find_row(state, key_id).await?;
    authorize_key(actor, row.org_id, row.owner_id, action)?;
    Ok(row)
}

fn describe(action: &str, details: Option<&str>) -> Option<String> {
    let d: serde_json::Value = serde_json::from_str(details?).ok()?;
    let date = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| format::date_time(t.with_timezone(&Utc)))
            .unwrap_or_else(|| "an unrecorded time".to_owned())
    };
    let list = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    Some(match action {
        "created" => {
            let env = if d["environment"] == "production" {
                "Production"
            } else {
                "Sandbox"
            };
            let mut text = format!(
                "{env} key with {}; expires {}",
                Some(list(&d["scopes"]))
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| "no scopes".to_owned()),
                date(&d["expires_at"])
            );
            if let Some(from) = d["rotated_from"].as_str() {
                text.push_str(&format!("; replaces {from}"));
            }
            if !list(&d["ip_allowlist"]).is_empty() {
                text.push_str(&format!("; only from {}", list(&d["ip_allowlist"])));
            }
            text
        }
        "rotated" => {
            let mut text = format!(
                "Replaced by {}; keeps working until {}",
                d["successor"].as_str().unwrap_or("a new key"),
                date(&d["overlap_until"])
            );
            if let Some(minutes) = d["quiet_minutes"].as_i64() {
                text.push_str(&format!(", or until {minutes} minutes without traffic"));
            }
            if d["narrowed_to"].is_array() {
                text.push_str(&format!("; the successor holds only {}", list(&d["narrowed_to"])));
            }
            text
        }
        "retired" => "Stopped working before its rotation overlap ended".to_owned(),
        "expired" => {
            if d["cause"] == "rotation" {
                "Its rotation overlap ended".to_owned()
            } else {
                "Reached its expiry date".to_owned()
            }
        }
        "renamed" => match (d["from"].as_str(), d["to"].as_str()) {
            (Some(from), Some(to)) => format!("Renamed from “{from}” to “{to}”"),
            _ => "Renamed".to_owned(),
        },
        "scopes_changed" => format!("Removed {}", list(&d["removed"])),
        "details_changed" => "Purpose or service changed".to_owned(),
        "suspended" => match d["until"].as_str() {
            Some(_) => format!("Suspended until {}", date(&d["until"])),
            None => "Suspended until someone reinstates it".to_owned(),
        },
        "reinstated" => "Reinstated: works again".to_owned(),
        "approved" => "Approved: works from now on".to_owned(),
        "rejected" => "Rejected: will never work".to_owned(),
        "owner_changed" => format!(
            "Owner changed from {} to {}",
            d["from"].as_str().unwrap_or("a former owner"),
            d["to"].as_str().unwrap_or("another member")
        ),
        "policy_changed" => format!(
            "Key policy: at most {} days, {} by default; developers may use {}; approval for high-risk production keys {}",
            d["max_lifetime_days"],
            d["default_expiry_days"],
            list(&d["developer_environments"]),
            if d["approval_for_high_risk_production"] == true { "on" } else { "off" }
        ) + &match (d["rotate_high_risk_days"].as_i64(), d["rotate_low_risk_days"].as_i64()) {
            (Some(h), Some(l)) => format!("; rotation every {h} days (high risk) and {l} days (others)"),
            _ => String::new(),
        },
        "member_role_changed" => format!(
            "{} is now {}",
            d["member"].as_str().unwrap_or("A member"),
            d["role"].as_str().unwrap_or("in another role")
        ),
        "member_removed" => format!("{} left the organisation", d["member"].as_str().unwrap_or("A member")),
        "member_invited" => format!(
            "Invited {} as {}",
            d["email"].as_str().unwrap_or("someone with a link"),
            d["role"].as_str().unwrap_or("a member")
        ),
        "alert_acknowledged" => match d["alert"].as_str() {
            Some(kind) => format!("Acknowledged a {} alert", kind.replace('_', " ")),
            None => "Acknowledged an alert".to_owned(),
        },
        "alert_resolved" => match d["alert"].as_str() {
            Some(kind) => format!("Resolved a {} alert", kind.replace('_', " ")),
            None => "Resolved an alert".to_owned(),
        },
        "alert_settings_changed" => format!(
            "Alert thresholds: spike ×{} and at least {} in 5 minutes; {} wrong secrets in 10 minutes",
            d["spike_factor"], d["spike_floor"], d["wrong_secret_threshold"]
        ),
        "exported" => match (d["what"].as_str(), d["format"].as_str()) {
            (Some(what), Some(format)) => format!("Exported {what} as {format}"),
            (Some(what), None) => format!("Exported {what}"),
            _ => "Exported data".to_owned(),
        },
        _ => return None,
    })
}

fn audit_entry(state: &AppState, row: EventRow) -> AuditEntry {
    let key = row.key_public_id.as_ref().map(|id| {
        let env = row
            .key_environment
            .as_deref()
            .and_then(|e| Environment::parse(e).ok())
            .unwrap_or(Environment::Sandbox);
        (
            id.clone(),
            display_id(state.config.key_prefix.as_str(), env, id),
        )
    });
    AuditEntry {
        details: describe(&row.action, row.details.as_deref()),
        id: row.id,
        at: row.at,
        actor: row.actor_email,
        action: row.action,
        key,
        key_name: row.key_name,
        reason: row.reason,
        client_addr: row.client_addr,
    }
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
    let new_owner_choices = if !row.owner_is_member && permissions.administer {
        super::db::memberships::members_of(conn.conn(), row.org_id)
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
        revoked_at: row.revoked_at,
        revoked_by: row.revoked_by_email.clone(),
        revoked_reason: row.revoked_reason.clone(),
        rate_limit_per_minute: row.rate_limit_per_minute,
        chain,
        audit,
        high_risk_scopes,
        try_it,
        org_id: row.org_id,
        org_name: row.org_name.clone(),
        suspension: row
            .suspended_at
            .filter(|_| state_of(&row).is_suspended(now))
            .map(|at| SuspensionView {
                at,
                by: row
                    .suspended_by_email
                    .clone()
                    .unwrap_or_else(|| "Portico (automatically)".to_owned()),
                reason: row.suspended_reason.clone().unwrap_or_default(),
                until: row.suspended_until,
            }),
        approval: Approval::parse(&row.approval),
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
fn try_it_line(state: &AppState, scopes: &[String]) -> Option<String> {
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

fn refuse_unless_active(row: &KeyRow, now: DateTime<Utc>, doing: &str) -> Result<(), AppError> {
    match status_of(row, now) {
        KeyStatus::Active => Ok(()),
        KeyStatus::Rotating => Err(AppError::Conflict(format!(
            "This key has already been rotated. {doing} its successor instead."
        ))),
        KeyStatus::Expired => Err(AppError::Conflict(format!(
            "This key has expired, so it cannot be changed. Create a new key instead of trying to {}.",
            doing.to_lowercase()
        ))),
        KeyStatus::Revoked => Err(AppError::Conflict(format!(
            "This key is revoked, and revocation is permanent. Create a new key instead of trying to {}.",
            doing.to_lowercase()
        ))),
        KeyStatus::Suspended => Err(AppError::Conflict(format!(
            "This key is suspended. It can be reinstated by an admin or support; {} it after that.",
            doing.to_lowercase()
        ))),
        KeyStatus::PendingApproval => Err(AppError::Conflict(
            "This key is waiting for an admin's approval; it cannot be changed until they decide.".to_owned(),
        )),
        KeyStatus::Rejected => Err(AppError::Conflict(
            "An admin rejected this key, so it will never work. Create a new key instead.".to_owned(),
        )),
    }
}

/// Replaces a key with a successor that has the same settings; the old key
/// keeps working until the overlap ends, or, with `quiet` minutes, until it
/// has seen no traffic for that long (whichever comes first). Returns the
/// successor's secret, once.
pub async fn rotate(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    overlap: &str,
    quiet: &str,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let old = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let overlap = Overlap::parse(overlap).map_err(|m| AppError::field("overlap", m))?;
    let quiet = quiet::parse_quiet(quiet).map_err(|m| AppError::field("quiet", m))?;
    rotate_row(state, actor, old, overlap, quiet, None, addr).await
}

/// Rotates a key into one holding only the scopes it used (with an allowed
/// answer) in the last 30 days, with a 24-hour overlap. Returns the new
/// key's secret, once.
pub async fn narrow_to_used(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let old = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    let used: std::collections::BTreeSet<String> = {
        let mut conn = state.db.acquire().await?;
        usage::hourly_for_key(
            conn.conn(),
            old.id,
            now - Duration::days(super::review::UNUSED_DAYS),
        )
        .await?
        .into_iter()
        .filter(|h| h.outcome == "ok" && !h.scope.is_empty())
        .map(|h| h.scope)
        .collect()
    };
    let keep: Vec<String> = scopes_of(&old)
        .into_iter()
        .filter(|s| used.contains(s))
        .collect();
    if keep.is_empty() {
        return Err(AppError::Conflict(
            "This key used none of its scopes in the last 30 days. If nothing needs it, revoke it instead.".to_owned(),
        ));
    }
    if keep.len() == scopes_of(&old).len() {
        return Err(AppError::Conflict(
            "This key used every one of its scopes in the last 30 days; there is nothing to narrow.".to_owned(),
        ));
    }
    rotate_row(state, actor, old, Overlap::OneDay, None, Some(keep), addr).await
}

async fn rotate_row(
    state: &AppState,
    actor: &Actor,
    old: KeyRow,
    overlap: Overlap,
    quiet: Option<i32>,
    narrowed: Option<Vec<String>>,
    addr: IpAddr,
) -> Result<CreatedKey, AppError> {
    let now = state.clock.now();
    refuse_unless_active(&old, now, "Rotate")?;
    let environment = environment_of(&old)?;
    let policy = {
        let mut conn = state.db.acquire().await?;
        super::policy::load(conn.conn(), old.org_id).await?
    };
    let lifetime = (old.expires_at - old.created_at)
        .clamp(Duration::days(1), Duration::days(policy.max_lifetime_days));
    let overlap_until = now + overlap.duration();
    let old_display = display_id(state.config.key_prefix.as_str(), environment, &old.key_id);

    let scopes_text = narrowed
        .as_ref()
        .map_or(old.scopes.clone(), |s| s.join(" "));
    let template = KeyTemplate {
        org_id: old.org_id,
        owner_id: old.owner_id,
        created_by: actor.user_id,
        name: &old.name,
        purpose: &old.purpose,
        service: &old.service,
        environment,
        scopes: &scopes_text,
        ip_allowlist: &old.ip_allowlist,
        created_at: now,
        expires_at: now + lifetime,
        predecessor_id: Some(old.id),
        create_token: None,
        rate_limit_per_minute: old.rate_limit_per_minute,
        // An approved key's successor has the same powers: the decision holds.
        approval: match Approval::parse(&old.approval) {
            Approval::Approved => Approval::Approved,
            _ => Approval::NotRequired,
        },
    };
    let mut tx = KeyChange::begin(state, [&old.key_id]).await?;
    let (new_id, key) = insert_new_key(state, &mut tx, environment, &template).await?;
    tx.touch(key.key_id());
    if !api_keys::start_rotation(tx.conn(), old.id, new_id, overlap_until).await? {
        return Err(AppError::Conflict(
            "This key was rotated or revoked a moment ago. Reload the page to see its state."
                .to_owned(),
        ));
    }
    let client_addr = Some(addr.to_string());
    tx.audit(NewEvent {
            org_id: old.org_id,
            key_id: Some(old.id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: "rotated",
            reason: None,
            details: Some(json!({"successor": key.display_id(), "overlap": overlap.as_str(), "overlap_until": overlap_until, "quiet_minutes": quiet, "narrowed_to": narrowed}).to_string()),
            client_addr: client_addr.clone(),
            at: now,
        })
    .await?;
    tx.audit(NewEvent {
            org_id: old.org_id,
            key_id: Some(new_id),
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: "created",
            reason: None,
            details: Some(
                json!({"environment": environment.as_str(), "scopes": scopes_text.split_whitespace().collect::<Vec<_>>(), "expires_at": now + lifetime,
                       "ip_allowlist": old.ip_allowlist.split_whitespace().collect::<Vec<_>>(), "rotated_from": old_display})
                .to_string(),
            ),
            client_addr: client_addr.clone(),
            at: now,
        })
    .await?;
    if quiet.is_some() && overlap != Overlap::Immediate {
        api_keys::set_quiet_minutes(tx.conn(), old.id, quiet).await?;
    }
    if overlap == Overlap::Immediate {
        retire_in(
            &mut tx,
            &old,
            actor,
            now,
            client_addr,
            Some("Rotated with no overlap"),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, old = %old_display, new = key.display_id(), overlap = overlap.as_str(), "key rotated");

    let mut conn = state.db.acquire().await?;
    let row = api_keys::find(conn.conn(), new_id)
        .await?
        .ok_or_else(|| internal("new key vanished"))?;
    Ok(CreatedKey {
        key: summary(state, &row, now)?,
        secret: key.expose().to_owned(),
    })
}

/// Records that a rotating key stopped working now, and that its expiry is
/// accounted for.
async fn retire_in(
    tx: &mut KeyChange<'_>,
    key: &KeyRow,
    actor: &Actor,
    now: DateTime<Utc>,
    client_addr: Option<String>,
    reason: Option<&str>,
) -> Result<(), AppError> {
    api_keys::mark_expiry_recorded(tx.conn(), key.id, now).await?;
    tx.audit(NewEvent {
        org_id: key.org_id,
        key_id: Some(key.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: "retired",
        reason,
        details: None,
        client_addr,
        at: now,
    })
    .await
}

/// Ends a rotation overlap now: the old key stops working at once.
pub async fn retire(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    if status_of(&row, now) != KeyStatus::Rotating {
        return Err(AppError::Conflict(
            "Only a key in its rotation overlap can be retired early. To stop any other key, revoke it.".to_owned(),
        ));
    }
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::end_overlap(tx.conn(), row.id, now).await? {
        return Err(AppError::Conflict(
            "This key stopped working a moment ago.".to_owned(),
        ));
    }
    retire_in(&mut tx, &row, actor, now, Some(addr.to_string()), None).await?;
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key retired");
    Ok(())
}

/// Revokes a key at once and for good.
pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    reason: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let reason = reason.trim();
    let already = |row: &KeyRow| {
        AppError::Conflict(format!(
            "This key was already revoked{}{}. Revocation is permanent; nothing more to do.",
            row.revoked_at
                .map(|t| format!(" on {}", format::date_time(t)))
                .unwrap_or_default(),
            row.revoked_by_email
                .as_ref()
                .map(|w| format!(" by {w}"))
                .unwrap_or_default(),
        ))
    };
    if row.revoked_at.is_some() {
        return Err(already(&row));
    }
    let n = reason.chars().count();
    if !(3..=500).contains(&n) {
        return Err(AppError::field(
            "reason",
            "Say why you are revoking this key, in 3 to 500 characters. It is kept in the audit trail.",
        ));
    }
    let now = state.clock.now();
    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    if !api_keys::revoke(tx.conn(), row.id, actor.user_id, reason, now).await? {
        let mut conn = state.db.acquire().await?;
        let fresh = api_keys::find(conn.conn(), row.id).await?.unwrap_or(row);
        return Err(already(&fresh));
    }
    tx.audit(NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action: "revoked",
        reason: Some(reason),
        details: None,
        client_addr: Some(addr.to_string()),
        at: now,
    })
    .await?;
    if actor.user_id != row.owner_id {
        let shown = display_of(state, &row)?;
        let notice = Notice {
            kind: "revoked",
            org_id: row.org_id,
            key_row_id: Some(row.id),
            subject: format!("Key {shown} ({}) was revoked", row.name),
            body: format!(
                "{} revoked the key {shown} ({}) on {}. Reason: {reason}. Revocation is permanent: requests with this key are refused from now on. Create a new key if it is still needed.",
                actor.email,
                row.name,
                format::date_time(now)
            ),
            link: format!("/keys/{}", row.key_id),
            dedupe_key: None,
        };
        let audience = tx
            .key_audience(row.org_id, row.owner_id, Some(actor.user_id))
            .await?;
        tx.notify(&audience, &notice).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = %row.key_id, "key revoked");
    Ok(())
}

/// Renames a key, changes its purpose or service, or removes scopes. Scopes
/// can only be removed: a key never gains power in place.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    key_id: &str,
    changes: KeyChanges,
    addr: IpAddr,
) -> Result<(), AppError> {
    let row = load_for(state, actor, key_id, KeyAction::Manage).await?;
    let now = state.clock.now();
    if status_of(&row, now).is_final() {
        return Err(AppError::Conflict(
            "Revoked, rejected and expired keys cannot be changed.".to_owned(),
        ));
    }
    let mut errors = Vec::new();
    let name = rules::parse_name(&changes.name)
        .map_err(|m| errors.push(FieldError::new("name", m)))
        .ok();
    let purpose = rules::parse_purpose(&changes.purpose)
        .map_err(|m| errors.push(FieldError::new("purpose", m)))
        .ok();
    let service = rules::parse_service(&changes.service)
        .map_err(|m| errors.push(FieldError::new("service", m)))
        .ok();
    let current = scopes_of(&row);
    let scopes = match state.catalog.parse_selection(&changes.scopes) {
        Ok(new) => {
            let added: Vec<&str> = new
                .iter()
                .filter(|s| !current.contains(s))
                .map(String::as_str)
                .collect();
            if added.is_empty() {
                Some(new)
            } else {
                errors.push(FieldError::new(
                    "scopes",
                    format!(
                        "A key can only lose scopes. To get {}, create a new key with {}.",
                        added.join(", "),
                        if added.len() == 1 { "it" } else { "them" }
                    ),
                ));
                None
            }
        }
        Err(m) => {
            errors.push(FieldError::new("scopes", m));
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (name, purpose, service, scopes) = (
        name.expect("checked"),
        purpose.expect("checked"),
        service.expect("checked"),
        scopes.expect("checked"),
    );
    let removed: Vec<&String> = current.iter().filter(|s| !scopes.contains(s)).collect();

    let mut tx = KeyChange::begin(state, [&row.key_id]).await?;
    api_keys::update_details(
        tx.conn(),
        row.id,
        &name,
        &purpose,
        &service,
        &scopes.join(" "),
    )
    .await?;
    let event = |action: &'static str, details: Option<String>| NewEvent {
        org_id: row.org_id,
        key_id: Some(row.id),
        actor_id: Some(actor.user_id),
        actor_email: &actor.email,
        action,
        reason: None,
        details,
        client_addr: Some(addr.to_string()),
        at: now,
    };
    if name != row.name {
        tx.audit(event(
            "renamed",
            Some(json!({"from": row.name, "to": name}).to_string()),
        ))
        .await?;
    }
    if !removed.is_empty() {
        tx.audit(event(
            "scopes_changed",
            Some(json!({"removed": removed, "scopes": scopes}).to_string()),
        ))
        .await?;
    }
    if purpose != row.purpose || service != row.service {
        tx.audit(event(
            "details_changed",
            Some(json!({"purpose": purpose, "service": service}).to_string()),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records an event (for the other services that act on keys and orgs).
pub(crate) async fn record_event(tx: &mut Tx, event: NewEvent<'_>) -> Result<(), AppError> {
    record(tx, event).await
}

/// A page of the organisation's audit trail, for its admins.
pub async fn org_audit(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    authorize_org(actor, org_id, OrgAction::ViewAudit)?;
    const PAGE: usize = 50;
    let mut conn = state.db.acquire().await?;
    let mut rows = audit::for_org(conn.conn(), org_id, before, PAGE as i64 + 1).await?;
    let next_before = (rows.len() > PAGE).then(|| rows[PAGE - 1].id);
    rows.truncate(PAGE);
    Ok(AuditPage {
        entries: rows.into_iter().map(|e| audit_entry(state, e)).collect(),
        next_before,
    })
}

/// Writes an `expired` event for every key that has stopped working by time
/// since the last call. Safe to run on several instances at once: each
/// expiry is recorded once. Returns how many were recorded.
pub async fn record_expiries(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let due = {
        let mut conn = state.db.acquire().await?;
        api_keys::newly_expired(conn.conn(), now).await?
    };
    let mut recorded = 0;
    for (id, org_id, by_rotation) in due {
        let mut tx = state.db.begin().await?;
        if !api_keys::mark_expiry_recorded(tx.conn(), id, now).await? {
            continue;
        }
        record(
            &mut tx,
            NewEvent {
                org_id,
                key_id: Some(id),
                actor_id: None,
                actor_email: SYSTEM_ACTOR,
                action: "expired",
                reason: None,
                details: Some(
                    json!({"cause": if by_rotation { "rotation" } else { "expiry" }}).to_string(),
                ),
                client_addr: None,
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        recorded += 1;
    }
    Ok(recorded)
}
