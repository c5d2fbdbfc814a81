//! Issuing keys: generating the key, storing its HMAC and the row, and the
//! create form's data. The secret exists in plaintext only here, long
//! enough to hash it and hand it back once.

use super::change::KeyChange;
use super::read::summary;
use super::row::{display_of, load_for, scopes_of};
use crate::domain::audit::AuditAction;
use crate::server::{
    authz::{authorize_org, key_not_found, Actor, KeyAction, OrgAction},
    db::{
        api_keys::{self, NewKey},
        audit::NewEvent,
        memberships, unique_violation, Conn, Tx,
    },
    errors::internal,
    state::AppState,
    usage::clients::{clients_of, WINDOW_DAYS},
};
use crate::{
    domain::{
        key_format::{ApiKey, Environment},
        keys::{self as rules, Approval, IpAllowlist},
        Role,
    },
    error::{AppError, FieldError},
    model::keys::{CreatedKey, KeyFormData, KeyPrefill},
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::net::IpAddr;

/// What the create form sends.
#[derive(Debug)]
pub struct NewKeyForm {
    /// The form's one-time token.
    pub request_token: String,
    /// The name as typed; it is trimmed and must be one line of 1 to 60 characters.
    pub name: String,
    /// What the key is for, as typed: required, at most 500 characters.
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
    /// Accepted requests allowed a month, as typed; empty for no quota.
    pub monthly_quota: String,
}

/// A new key from the OS CSPRNG.
pub(crate) fn generate_key(state: &AppState, environment: Environment) -> ApiKey {
    let mut buffer = [0u8; 64];
    let mut next = buffer.len();
    ApiKey::generate(&state.config.key_prefix, environment, move || {
        if next == buffer.len() {
            buffer = crate::server::secrets::tokens::random_bytes::<64>();
            next = 0;
        }
        next += 1;
        buffer[next - 1]
    })
}

/// Stores a freshly generated key, retrying if its random key id happens to
/// be taken. Returns the row id and the key.
pub(crate) async fn insert_new_key(
    state: &AppState,
    tx: &mut Tx,
    environment: Environment,
    insert: &impl AsyncInsert,
) -> Result<(i64, ApiKey), AppError> {
    for _ in 0..3 {
        let key = generate_key(state, environment);
        let hash = crate::server::secrets::key_hash::hash_key(&state.secret, key.expose());
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
pub(crate) trait AsyncInsert {
    async fn insert(&self, conn: Conn<'_>, key_id: &str, hash: &str) -> sqlx::Result<i64>;
}

/// The settings a new key row copies.
pub(crate) struct KeyTemplate<'a> {
    pub(crate) org_id: i64,
    pub(crate) owner_id: i64,
    pub(crate) created_by: i64,
    pub(crate) name: &'a str,
    pub(crate) purpose: &'a str,
    pub(crate) service: &'a str,
    pub(crate) environment: Environment,
    pub(crate) scopes: &'a str,
    pub(crate) ip_allowlist: &'a str,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) predecessor_id: Option<i64>,
    pub(crate) create_token: Option<&'a str>,
    pub(crate) rate_limit_per_minute: i64,
    pub(crate) monthly_quota: Option<i64>,
    pub(crate) approval: Approval,
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
                environment: self.environment,
                scopes: self.scopes,
                ip_allowlist: self.ip_allowlist,
                secret_hash: hash,
                created_at: self.created_at,
                expires_at: self.expires_at,
                predecessor_id: self.predecessor_id,
                create_token: self.create_token,
                rate_limit_per_minute: self.rate_limit_per_minute,
                monthly_quota: self.monthly_quota,
                approval: self.approval,
            },
        )
        .await
    }
}

pub(crate) fn map_insert_error(e: sqlx::Error) -> AppError {
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

/// What the create form needs: the catalog, and the organisation's policy
/// as it applies to the actor. With `replace` (a shared key's public id and
/// one of its client addresses), the form comes filled in with a key for
/// that client alone; see [`prefill_for_client`].
pub async fn form_data(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    replace: Option<(&str, &str)>,
) -> Result<KeyFormData, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::CreateKey)?;
    let policy = {
        let mut conn = state.db.acquire().await?;
        crate::server::policy::load(conn.conn(), org_id).await?
    };
    let is_admin = membership.role == Role::Admin;
    let environments = if is_admin {
        Environment::ALL.to_vec()
    } else {
        policy.developer_environments.clone()
    };
    let prefill = match replace {
        Some((key_id, client)) => {
            Some(prefill_for_client(state, actor, org_id, key_id, client, &environments).await?)
        }
        None => None,
    };
    Ok(KeyFormData {
        catalog: (*state.catalog).clone(),
        default_scopes: state.catalog.default_scopes(),
        request_token: crate::server::secrets::tokens::NewToken::generate()
            .reveal()
            .to_owned(),
        prefix: state.config.key_prefix.as_str().to_owned(),
        environments,
        default_rate_limit: state.config.default_rate_limit,
        lifetime_presets: policy.lifetime_presets(),
        approval_applies: policy.approval_for_high_risk_production && !is_admin,
        policy,
        prefill,
    })
}

/// The create form filled in to replace the shared key `key_id` for the
/// client at `client`: the scopes that client's accepted requests used in
/// the last 30 days (those the shared key still holds), its address as the
/// allowlist, and the shared key's service, environment (when the actor may
/// create keys there; else the first they may) and rate limit. Errors: not
/// found for a key of another organisation or one the actor may not see, a
/// field error (`client`) for an address with no accepted requests.
async fn prefill_for_client(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    key_id: &str,
    client: &str,
    environments: &[Environment],
) -> Result<KeyPrefill, AppError> {
    let row = load_for(state, actor, key_id, KeyAction::View).await?;
    if row.org_id != org_id {
        return Err(key_not_found());
    }
    let client: IpAddr = client
        .trim()
        .parse::<IpAddr>()
        .map_err(|_| {
            AppError::field(
                "client",
                "That is not a client address. Open the proposal again from the key review.",
            )
        })?
        .to_canonical();
    let since = state.clock.now() - chrono::Duration::days(WINDOW_DAYS);
    let held = scopes_of(&row);
    let used = {
        let mut conn = state.db.acquire().await?;
        clients_of(conn.conn(), row.id, &held, since, Some(&client.to_string())).await?
    };
    let Some(use_) = used.first().filter(|c| c.accepted > 0) else {
        return Err(AppError::field(
            "client",
            format!(
                "{client} made no accepted requests with this key in the last {WINDOW_DAYS} days, so there is nothing to give it a key for."
            ),
        ));
    };
    if !use_.proposed() {
        return Err(AppError::field(
            "client",
            format!(
                "{client} used only scopes this key no longer holds ({}), so it needs no key from it.",
                use_.no_longer_held.join(", ")
            ),
        ));
    }
    // A client whose requests named no scope starts from the default.
    let scopes = if use_.scopes.is_empty() {
        state.catalog.default_scopes()
    } else {
        use_.scopes.clone()
    };
    let display = display_of(state, &row);
    let environment = row.environment;
    let environment = if environments.contains(&environment) {
        environment
    } else {
        environments
            .first()
            .copied()
            .unwrap_or(Environment::Sandbox)
    };
    Ok(KeyPrefill {
        replaces_key_id: row.key_id.clone(),
        replaces_display_id: display.clone(),
        client_addr: client.to_string(),
        name: truncate_chars(&format!("{} ({client})", row.name), rules::MAX_NAME_CHARS),
        purpose: truncate_chars(
            &format!(
                "Replaces {display} for the client at {client}. {}",
                row.purpose
            ),
            rules::MAX_PURPOSE_CHARS,
        ),
        service: Some(row.service.clone()).filter(|s| !s.is_empty()),
        environment,
        scopes,
        ip_allowlist: client.to_string(),
        rate_limit: u32::try_from(row.rate_limit_per_minute)
            .unwrap_or(state.config.default_rate_limit),
        monthly_quota: row.monthly_quota,
    })
}

/// At most `max` characters of `text`.
fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
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
        crate::server::policy::load(conn.conn(), org_id).await?
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
        .and_then(|env| {
            crate::server::authz::authorize_environment(actor, env)
                .map(|()| env)
                .map_err(|e| e.message_for("environment").unwrap_or_default())
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
    let monthly_quota = crate::domain::quota::parse_monthly_quota(&form.monthly_quota)
        .map_err(|m| errors.push(FieldError::new("monthly_quota", m)))
        .ok()
        .flatten();
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
        monthly_quota,
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
            action: AuditAction::Created,
            reason: None,
            details: Some(
                json!({"environment": environment.as_str(), "scopes": scopes, "expires_at": expires_at, "ip_allowlist": allowlist.entries(), "rate_limit_per_minute": rate_limit, "monthly_quota": monthly_quota, "approval": approval.as_str()})
                    .to_string(),
            ),
            client_addr: Some(addr.to_string()),
            at: now,
        })
    .await?;
    if approval == Approval::Pending {
        super::approvals::request_in(&mut tx, org_id, id, &key, &name, actor).await?;
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
    let approvers = if approval == Approval::Pending {
        memberships::members_of(conn.conn(), org_id)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Admin)
            .map(|m| m.email)
            .collect()
    } else {
        Vec::new()
    };
    Ok(CreatedKey {
        key: summary(state, &row, now)?,
        secret: key.expose().to_owned(),
        approvers,
        replaces: None,
    })
}
