//! Verification, the hot path: may this key do what this request asks?
//!
//! The checks run cheapest first: the key's shape and checksum (no I/O), the
//! in-process cache (the database only on a miss), the secret (HMAC, constant
//! time), then the key's state, environment, client address, scope and rate.
//! Every answer, allowed or denied, becomes a usage event without waiting.
//!
//! The same core serves `POST /v1/verify` ([`api`]), stock gateways'
//! forward-auth requests ([`forward_auth`]), the tower layer that Rust
//! services mount in-process ([`layer`]) and the token endpoint
//! (`/oauth/token`). Where a key is expected, a short-lived access token
//! minted from one is accepted too: its signature, audience and expiry are
//! checked offline, then its parent key's standing and limits as for the key
//! itself, with the token's scopes as the most it may do.

pub mod api;
pub mod cache;
pub mod forward_auth;
pub mod gateway;
pub mod global_limit;
pub mod invalidation;
pub mod layer;
pub mod openapi;
pub mod quota;
pub mod rate_limit;

use super::{
    db::api_keys,
    oauth::access_token::{self, TokenRefusal},
    secrets::key_hash,
    state::AppState,
    usage::UsageEvent,
};
use crate::{
    domain::{
        key_format::{ApiKey, Environment},
        keys::{IpAllowlist, KeyStatus},
        request_path::CanonicalRequest,
        verify::VerifyCode,
    },
    error::AppError,
};
use cache::VerifyKey;
use chrono::{DateTime, Utc};
use std::{net::IpAddr, sync::Arc, time::Instant};

/// What a caller asks, checked at the edge (`/v1/verify`, the tower layer).
///
/// The scope a request needs is the explicit `scope`, the catalog's scope for
/// `request`, or both when both are given (the key must hold each). Only a
/// caller that names neither gets the key checked without a scope.
#[derive(Clone, Debug, Default)]
pub struct VerifyInput {
    /// The presented key, as sent.
    pub key: String,
    /// The scope needed, if the caller knows it (never empty).
    pub scope: Option<String>,
    /// The request's method and path in canonical form, mapped to a scope by
    /// the catalog.
    pub request: Option<CanonicalRequest>,
    /// The client's address (checked against the key's allowlist), in
    /// canonical form (an IPv4-mapped IPv6 address as IPv4).
    pub client_ip: Option<IpAddr>,
    /// The environment the caller serves.
    pub environment: Option<Environment>,
    /// Further scopes the key must hold, every one (a token request's
    /// `scope`); usually none.
    pub requested_scopes: Vec<String>,
    /// Only an API key will do: an access token is refused as `malformed`
    /// (the token endpoint, where a token must not buy a new token).
    pub keys_only: bool,
}

/// The answer.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// `Ok`, or the first check that refused the key (`Unknown` also for a wrong secret).
    pub code: VerifyCode,
    /// The key, once identified by id and secret.
    pub key: Option<Arc<VerifyKey>>,
    /// The scope checked.
    pub scope: Option<String>,
    /// With `rate_limited`: seconds until a request may succeed.
    pub retry_after_secs: Option<u64>,
    /// For an access token: the scopes it may use (those it was granted that
    /// its key still holds). `None` for a key, which may use all of its own.
    pub granted: Option<Vec<String>>,
    /// For an access token: when it stops working (its `exp`, or its key's
    /// end if sooner), as answers write it.
    pub token_expiry_text: Option<String>,
}

impl Verdict {
    fn new(code: VerifyCode) -> Self {
        Self {
            code,
            key: None,
            scope: None,
            retry_after_secs: None,
            granted: None,
            token_expiry_text: None,
        }
    }

    /// The scopes the presented credential may use: the token's grant, else
    /// every scope of the key; empty when no key was identified.
    pub fn scopes(&self) -> &[String] {
        match (&self.granted, &self.key) {
            (Some(granted), _) => granted,
            (None, Some(key)) => &key.scopes,
            (None, None) => &[],
        }
    }
}

/// Loads a key for verification: from the cache, else from the database.
pub(crate) async fn load(
    state: &AppState,
    key_id: &str,
) -> Result<Option<Arc<VerifyKey>>, AppError> {
    if let Some(key) = state.key_cache.get_or_claim(key_id) {
        state.metrics.cache_lookup(true);
        return Ok(Some(key));
    }
    if state.unknown_keys.read(key_id, |()| ()).is_some() {
        // Known to be no key: answered from memory as well.
        state.metrics.cache_lookup(true);
        return Ok(None);
    }
    state.metrics.cache_lookup(false);
    let generation = state.key_cache.generation();
    let unknown_generation = state.unknown_keys.generation();
    let row = async {
        let mut conn = state.db.acquire().await?;
        Ok::<_, AppError>(api_keys::for_verification(conn.conn(), key_id).await?)
    }
    .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => {
            state.key_cache.forget(key_id);
            state
                .unknown_keys
                .insert(unknown_generation, key_id.to_owned(), ());
            return Ok(None);
        }
        Err(e) => {
            // Nothing to cache: the next request looks again.
            state.key_cache.forget(key_id);
            return Err(e);
        }
    };
    let standing = row.standing;
    let key = Arc::new(VerifyKey {
        id: row.id,
        environment: row.environment,
        scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
        allowlist: IpAllowlist::parse(&row.ip_allowlist).unwrap_or_default(),
        secret_hash: hex::decode(&row.secret_hash).unwrap_or_default(),
        answered_expiry_text: cache::answer_time(standing.ends_at()),
        standing,
        rate_limit_per_minute: u32::try_from(row.rate_limit_per_minute).unwrap_or(u32::MAX),
        monthly_quota: row.monthly_quota,
        org_id: row.org_id,
        key_id: row.key_id,
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
    if !input.keys_only && access_token::looks_like_jwt(input.key.trim()) {
        return decide_token(state, input, now).await;
    }
    let Ok(presented) = ApiKey::parse(input.key.trim(), &state.config.key_prefix) else {
        return Ok((Verdict::new(VerifyCode::Malformed), None));
    };
    let presented_id = Some(presented.key_id().to_owned());
    let Some(key) = load(state, presented.key_id()).await? else {
        return Ok((Verdict::new(VerifyCode::Unknown), presented_id));
    };
    if !key_hash::key_matches_bytes(&state.secret, presented.expose(), &key.secret_hash) {
        let mut verdict = Verdict::new(VerifyCode::Unknown);
        verdict.key = Some(key);
        return Ok((verdict, presented_id));
    }
    Ok((judge(state, input, key, None, now).await?, presented_id))
}

/// Decides on an access token: checked offline first, then as its parent
/// key, limited to the scopes the token was granted.
async fn decide_token(
    state: &AppState,
    input: &VerifyInput,
    now: DateTime<Utc>,
) -> Result<(Verdict, Option<String>), AppError> {
    let claims = match access_token::check(state, input.key.trim(), now).await? {
        Ok(claims) => claims,
        Err(TokenRefusal::Malformed) => return Ok((Verdict::new(VerifyCode::Malformed), None)),
        Err(TokenRefusal::Unknown) => return Ok((Verdict::new(VerifyCode::Unknown), None)),
        Err(TokenRefusal::Expired) => return Ok((Verdict::new(VerifyCode::Expired), None)),
    };
    let presented_id = Some(claims.sub.clone());
    let key = match load(state, &claims.sub).await? {
        Some(key) if key.org_id == claims.org_id => key,
        _ => return Ok((Verdict::new(VerifyCode::Unknown), presented_id)),
    };
    let granted = claims.usable(&key.scopes);
    let mut verdict = judge(state, input, key.clone(), Some(granted), now).await?;
    let ends =
        DateTime::from_timestamp(claims.exp, 0).map_or(now, |exp| exp.min(key.answered_expiry()));
    verdict.token_expiry_text = Some(cache::answer_time(ends));
    Ok((verdict, presented_id))
}

/// Checks an identified key (or token, with its `granted` scopes) against
/// the request: standing, environment, client address, scope, rate, quota.
async fn judge(
    state: &AppState,
    input: &VerifyInput,
    key: Arc<VerifyKey>,
    granted: Option<Vec<String>>,
    now: DateTime<Utc>,
) -> Result<Verdict, AppError> {
    let mut verdict = Verdict {
        code: VerifyCode::Ok,
        key: Some(key.clone()),
        scope: None,
        retry_after_secs: None,
        granted: None,
        token_expiry_text: None,
    };
    let usable: &[String] = granted.as_deref().unwrap_or(&key.scopes);

    // The scope this request needs: the endpoint's (none for an endpoint
    // the catalog does not list, which no key may call), and the one given.
    let endpoint_scope = input.request.as_ref().map(|request| {
        state
            .catalog
            .endpoint_for(request)
            .map(|e| e.scope.name.as_str())
    });
    let holds = |scope: &str| usable.iter().any(|k| k == scope);
    let scope_allowed = match (&input.scope, endpoint_scope) {
        (None, None) => true,
        (Some(given), None) => {
            verdict.scope = Some(given.clone());
            holds(given)
        }
        (given, Some(endpoint)) => {
            let endpoint_held = endpoint.is_some_and(holds);
            let given_held = given.as_deref().is_none_or(holds);
            // Name the scope that is missing, else the one the endpoint
            // needs; an endpoint the catalog does not list needs none that
            // a key could hold, so none is named.
            verdict.scope = match (given, endpoint) {
                (Some(g), Some(_)) if !given_held => Some(g.clone()),
                (_, Some(e)) => Some(e.to_owned()),
                (_, None) => None,
            };
            endpoint_held && given_held
        }
    };
    // Every scope a token request asks for, the first missing one named.
    let scope_allowed = scope_allowed
        && match input.requested_scopes.iter().find(|s| !holds(s)) {
            Some(missing) => {
                verdict.scope = Some(missing.clone());
                false
            }
            None => true,
        };
    verdict.granted = granted;

    verdict.code = if let Some(refusal) = VerifyCode::for_status(KeyStatus::of(&key.standing, now))
    {
        refusal
    } else if input.environment.is_some_and(|env| env != key.environment) {
        VerifyCode::EnvMismatch
    } else if !key.allowlist.is_empty()
        && !input.client_ip.is_some_and(|ip| key.allowlist.allows(ip))
    {
        VerifyCode::IpDenied
    } else if !scope_allowed {
        VerifyCode::ScopeDenied
    } else if let Err(wait) = take_from_limit(state, &key).await {
        verdict.retry_after_secs = Some(rate_limit::whole_seconds(wait));
        VerifyCode::RateLimited
    } else if quota_used_up(state, &key, now).await? {
        verdict.retry_after_secs = Some(quota::seconds_to_reset(now));
        VerifyCode::QuotaExceeded
    } else {
        VerifyCode::Ok
    };
    Ok(verdict)
}

/// Takes one request from the key's rate limit: across instances when Redis
/// is configured and answers, else this instance's own. Err: the wait until
/// a request fits.
async fn take_from_limit(state: &AppState, key: &VerifyKey) -> Result<(), std::time::Duration> {
    if let Some(global) = &state.global_limiter {
        match global.check(&key.key_id, key.rate_limit_per_minute).await {
            global_limit::Decision::Accepted => return Ok(()),
            global_limit::Decision::Refused(wait) => return Err(wait),
            global_limit::Decision::Unavailable => {}
        }
    }
    state
        .rate_limiter
        .check(key.id, key.rate_limit_per_minute, Instant::now())
}

/// Counts the request against the key's monthly quota, if it has one;
/// `true` when the quota is used up.
async fn quota_used_up(
    state: &AppState,
    key: &VerifyKey,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    match key.monthly_quota {
        None => Ok(false),
        Some(monthly) => {
            Ok(quota::take(state, key, monthly, now).await? == quota::QuotaOutcome::Exceeded)
        }
    }
}

/// Verifies a key and records the use. An error means the database could
/// not be reached on a cache miss; nothing is recorded then.
pub async fn verify(state: &AppState, input: &VerifyInput) -> Result<Verdict, AppError> {
    let started = Instant::now();
    let now = state.clock.now();
    let (verdict, presented_key_id) = decide(state, input, now).await?;
    let took = started.elapsed();
    state.metrics.verified(verdict.code, took);
    let latency_us = took.as_micros().min(i64::MAX as u128) as i64;
    // A key is identified by its id *and* secret: a wrong secret is not the
    // key's traffic (it names a public id anyone can copy), only the
    // wrong-secret signal, kept with the presented id alone.
    let identified = verdict
        .key
        .as_ref()
        .filter(|_| verdict.code != VerifyCode::Unknown);
    state.usage.record(UsageEvent {
        at: now,
        key_row_id: identified.map(|k| k.id),
        org_id: identified.map(|k| k.org_id),
        presented_key_id,
        scope: used_scopes(&verdict, input),
        method: input.request.as_ref().map(|r| r.method.clone()),
        path: input.request.as_ref().map(|r| truncate(&r.path, 512)),
        outcome: verdict.code,
        client_addr: input.client_ip,
        latency_us,
    });
    Ok(verdict)
}

/// The scopes an answer records as checked: the verdict's, and, when the
/// caller named a scope beside its endpoint and the key was let through,
/// that one too ("records:read customers:read"), so that usage, the review
/// and narrowing count every scope a request needed as used.
fn used_scopes(verdict: &Verdict, input: &VerifyInput) -> Option<String> {
    match (&verdict.scope, &input.scope) {
        (Some(checked), Some(given)) if verdict.code.is_valid() && checked != given => {
            Some(format!("{checked} {given}"))
        }
        _ => verdict.scope.clone(),
    }
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
