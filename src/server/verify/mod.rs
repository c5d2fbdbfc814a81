//! Verification, the hot path: may this key do what this request asks?
//!
//! The checks run cheapest first: the key's shape and checksum (no I/O), the
//! in-process cache (the database only on a miss), the secret (HMAC, constant
//! time), then the key's state, environment, client address, scope and rate.
//! Every answer, allowed or denied, becomes a usage event without waiting.
//!
//! The same core serves `POST /v1/verify` ([`api`]) and the tower layer that
//! Rust services mount in-process ([`layer`]).

pub mod api;
pub mod cache;
pub mod gateway;
pub mod invalidation;
pub mod layer;
pub mod openapi;
pub mod rate_limit;

use super::{db::api_keys, keys::hashing, state::AppState, usage::UsageEvent};
use crate::{
    domain::{
        key_format::{ApiKey, Environment},
        keys::IpAllowlist,
        verify::VerifyCode,
    },
    error::AppError,
};
use cache::VerifyKey;
use chrono::{DateTime, Utc};
use std::{net::IpAddr, sync::Arc, time::Instant};

/// What a caller asks.
#[derive(Clone, Debug, Default)]
pub struct VerifyInput {
    /// The presented key.
    pub key: String,
    /// The scope needed, if the caller knows it.
    pub scope: Option<String>,
    /// The request's method (with `path`, mapped to a scope by the catalog).
    pub method: Option<String>,
    /// The request's path.
    pub path: Option<String>,
    /// The client's address (checked against the key's allowlist).
    pub client_ip: Option<IpAddr>,
    /// The environment the caller serves.
    pub environment: Option<Environment>,
}

/// The answer.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Why.
    pub code: VerifyCode,
    /// The key, once identified by id and secret.
    pub key: Option<Arc<VerifyKey>>,
    /// The scope checked.
    pub scope: Option<String>,
    /// With `rate_limited`: seconds until a request may succeed.
    pub retry_after_secs: Option<u64>,
}

impl Verdict {
    fn new(code: VerifyCode) -> Self {
        Self {
            code,
            key: None,
            scope: None,
            retry_after_secs: None,
        }
    }
}

/// Loads a key for verification: from the cache, else from the database.
async fn load(state: &AppState, key_id: &str) -> Result<Option<Arc<VerifyKey>>, AppError> {
    if let Some(key) = state.key_cache.get_or_claim(key_id) {
        return Ok(Some(key));
    }
    let generation = state.key_cache.generation();
    let row = async {
        let mut conn = state.db.acquire().await?;
        Ok::<_, AppError>(api_keys::for_verification(conn.conn(), key_id).await?)
    }
    .await;
    let row = match row {
        Ok(Some(row)) => row,
        nothing => {
            // Nothing to cache: the next request looks again.
            state.key_cache.forget(key_id);
            return nothing.map(|_| None);
        }
    };
    let answered_expiry_text =
        cache::answer_time(cache::answered_expiry(row.expires_at, row.rotating_until));
    let key = Arc::new(VerifyKey {
        id: row.id,
        environment: Environment::parse(&row.environment).unwrap_or(Environment::Production),
        scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        allowlist: IpAllowlist::parse(&row.ip_allowlist).unwrap_or_default(),
        secret_hash: hex::decode(&row.secret_hash).unwrap_or_default(),
        expires_at: row.expires_at,
        rotating_until: row.rotating_until,
        revoked: row.revoked_at.is_some(),
        suspended_at: row.suspended_at,
        suspended_until: row.suspended_until,
        approval: row.approval,
        rate_limit_per_minute: u32::try_from(row.rate_limit_per_minute).unwrap_or(u32::MAX),
        org_id: row.org_id,
        key_id: row.key_id,
        answered_expiry_text,
    });
    state
        .key_cache
        .insert(generation, key.key_id.clone(), key.clone());
    Ok(Some(key))
}

/// Decides, without recording.
async fn decide(
    state: &AppState,
    input: &VerifyInput,
    now: DateTime<Utc>,
) -> Result<(Verdict, Option<String>), AppError> {
    let Ok(presented) = ApiKey::parse(input.key.trim(), &state.config.key_prefix) else {
        return Ok((Verdict::new(VerifyCode::Malformed), None));
    };
    let presented_id = Some(presented.key_id().to_owned());
    let Some(key) = load(state, presented.key_id()).await? else {
        return Ok((Verdict::new(VerifyCode::Unknown), presented_id));
    };
    let mut verdict = Verdict {
        code: VerifyCode::Ok,
        key: Some(key.clone()),
        scope: None,
        retry_after_secs: None,
    };
    if !hashing::key_matches_bytes(&state.secret, presented.expose(), &key.secret_hash) {
        verdict.code = VerifyCode::Unknown;
        return Ok((verdict, presented_id));
    }

    // The scope this request needs: given, or found from the endpoint.
    verdict.scope = match (&input.scope, &input.method, &input.path) {
        (Some(scope), _, _) => Some(scope.clone()),
        (None, Some(method), Some(path)) => state
            .catalog
            .endpoint_for(method, path)
            .map(|e| e.scope.name.clone()),
        _ => None,
    };
    let needs_scope = input.scope.is_some() || (input.method.is_some() && input.path.is_some());

    verdict.code = if key.revoked || key.approval == "rejected" {
        VerifyCode::Revoked
    } else if key.suspended_at.is_some() && key.suspended_until.is_none_or(|until| now < until) {
        VerifyCode::Suspended
    } else if key.approval == "pending" {
        VerifyCode::PendingApproval
    } else if key.expires_at <= now || key.rotating_until.is_some_and(|until| until <= now) {
        VerifyCode::Expired
    } else if input.environment.is_some_and(|env| env != key.environment) {
        VerifyCode::EnvMismatch
    } else if !key.allowlist.is_empty()
        && !input.client_ip.is_some_and(|ip| key.allowlist.allows(ip))
    {
        VerifyCode::IpDenied
    } else if needs_scope
        && !verdict
            .scope
            .as_ref()
            .is_some_and(|s| key.scopes.iter().any(|k| k == s))
    {
        VerifyCode::ScopeDenied
    } else if let Err(wait) =
        state
            .rate_limiter
            .check(key.id, key.rate_limit_per_minute, Instant::now())
    {
        verdict.retry_after_secs = Some(wait.as_secs().max(1));
        VerifyCode::RateLimited
    } else {
        VerifyCode::Ok
    };
    Ok((verdict, presented_id))
}

/// Verifies a key and records the use. An error means the database could
/// not be reached on a cache miss; nothing is recorded then.
pub async fn verify(state: &AppState, input: &VerifyInput) -> Result<Verdict, AppError> {
    let started = Instant::now();
    let now = state.clock.now();
    let (verdict, presented_key_id) = decide(state, input, now).await?;
    let latency_us = started.elapsed().as_micros().min(i64::MAX as u128) as i64;
    state.usage.record(UsageEvent {
        at: now,
        key_row_id: verdict.key.as_ref().map(|k| k.id),
        org_id: verdict.key.as_ref().map(|k| k.org_id),
        presented_key_id,
        scope: verdict.scope.clone(),
        method: input.method.as_deref().map(|m| {
            let mut method = truncate(m, 16);
            method.make_ascii_uppercase();
            method
        }),
        path: input.path.as_deref().map(|p| truncate(p, 512)),
        outcome: verdict.code,
        client_addr: input.client_ip,
        latency_us,
    });
    Ok(verdict)
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        // No more bytes than `max`, so no more characters.
        return s.to_owned();
    }
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("GET", 16), "GET");
        assert_eq!(truncate("/v1/records", 3), "/v1");
        assert_eq!(truncate("/é/ü", 3), "/é/");
        assert_eq!(truncate("", 3), "");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
