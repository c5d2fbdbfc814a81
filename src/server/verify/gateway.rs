//! Gateway tokens: the credential the platform's API gateway presents to
//! `POST /v1/verify`.
//!
//! A token is `gwt_` + a 10-character public id + 32 characters of secret.
//! Like keys, only an HMAC is stored and the token is shown once. Staff
//! manage them in the portal; operators with `portico gateway-token`.

use super::cache::TtlCache;
pub use crate::model::staff::{GatewayTokenView, NewGatewayToken};
use crate::{
    error::AppError,
    server::{
        db::{gateway_tokens, unique_violation, Db},
        errors::internal,
        http::bearer::bearer_token,
        secrets::key_hash,
        secrets::tokens::random_bytes,
        state::AppState,
    },
};
use std::time::Duration;

const PREFIX: &str = "gwt_";
const ID_LEN: usize = 10;
const SECRET_LEN: usize = 32;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for byte in random_bytes::<64>() {
            if byte < 248 && out.len() < n {
                out.push(ALPHABET[(byte % 62) as usize] as char);
            }
        }
    }
    out
}

/// The public id inside a presented token, if it is shaped like one.
fn token_id(token: &str) -> Option<&str> {
    let body = token.strip_prefix(PREFIX)?;
    (body.len() == ID_LEN + SECRET_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| &body[..ID_LEN])
}

/// Checks a token name: 1 to 60 letters, digits, `-`, `_` or `.`.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 60
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(
            "Name the token with 1 to 60 letters, digits, '-', '_' or '.', e.g. edge-gateway-eu."
                .to_owned(),
        );
    }
    Ok(name.to_owned())
}

/// Makes a token. The name must be new.
pub async fn create(
    state: &AppState,
    name: &str,
    created_by: Option<i64>,
) -> Result<NewGatewayToken, AppError> {
    let name = check_name(name).map_err(|m| AppError::field("name", m))?;
    let id = random_base62(ID_LEN);
    let token = format!("{PREFIX}{id}{}", random_base62(SECRET_LEN));
    let hash = key_hash::hash_key(&state.secret, &token);
    let mut conn = state.db.acquire().await?;
    match gateway_tokens::insert(
        conn.conn(),
        &id,
        &name,
        &hash,
        created_by,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {}
        Err(e) if unique_violation(&e).as_deref() == Some("gateway_tokens_name_key") => {
            return Err(AppError::field(
                "name",
                format!("A gateway token named {name} already exists. Choose another name."),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    super::invalidation::forget_gateway_token(state, &id);
    tracing::info!(name = %name, id = %id, "gateway token created");
    Ok(NewGatewayToken { name, token })
}

/// Revokes the token called `name`; verification refuses it at once here,
/// and on every other instance (and in a running server, when the CLI
/// revokes) once the database's announcement arrives (see `invalidation`).
pub async fn revoke(state: &AppState, name: &str) -> Result<(), AppError> {
    let mut conn = state.db.acquire().await?;
    let Some(id) = gateway_tokens::revoke(conn.conn(), name.trim(), state.clock.now()).await?
    else {
        return Err(AppError::NotFound(format!(
            "No live gateway token is named {}.",
            name.trim()
        )));
    };
    super::invalidation::forget_gateway_token(state, &id);
    tracing::info!(name = name.trim(), "gateway token revoked");
    Ok(())
}

/// Every token, newest first.
pub async fn list(db: &Db) -> Result<Vec<GatewayTokenView>, AppError> {
    let mut conn = db.acquire().await?;
    Ok(gateway_tokens::list(conn.conn())
        .await?
        .into_iter()
        .map(|t| GatewayTokenView {
            display_id: format!("{PREFIX}{}", t.token_id),
            name: t.name,
            created_by: t.created_by_email,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        })
        .collect())
}

/// What the check needs of a gateway token.
pub struct CachedToken {
    hash: Vec<u8>,
    revoked: bool,
}

impl CachedToken {
    fn admits(&self, state: &AppState, token: &str) -> bool {
        !self.revoked && key_hash::key_matches_bytes(&state.secret, token, &self.hash)
    }
}

/// Gateway tokens by public id, cached like keys.
pub type GatewayCache = TtlCache<CachedToken>;

/// How long a cached gateway token is trusted without a database read.
pub const TOKEN_TTL: Duration = Duration::from_secs(60);

/// Whether the `Authorization` header carries a live gateway token.
pub async fn authenticate(state: &AppState, authorization: Option<&str>) -> Result<bool, AppError> {
    match authorization.and_then(bearer_token) {
        Some(token) => admits(state, token).await,
        None => Ok(false),
    }
}

/// Whether `token` is a live gateway token: from the cache, else the
/// database (and then cached).
pub async fn admits(state: &AppState, token: &str) -> Result<bool, AppError> {
    let Some(id) = token_id(token) else {
        return Ok(false);
    };
    // The common case, a cached token, is checked under the read lock.
    if let Some(admitted) = state
        .gateway_cache
        .read(id, |entry| entry.admits(state, token))
    {
        return Ok(admitted);
    }
    if state.unknown_gateway_tokens.read(id, |()| ()).is_some() {
        return Ok(false);
    }
    let generation = state.gateway_cache.generation();
    let unknown_generation = state.unknown_gateway_tokens.generation();
    let row = {
        let mut conn = state.db.acquire().await?;
        gateway_tokens::find(conn.conn(), id).await?
    };
    let Some(row) = row else {
        state
            .unknown_gateway_tokens
            .insert(unknown_generation, id.to_owned(), ());
        return Ok(false);
    };
    let entry = CachedToken {
        hash: hex::decode(&row.token_hash).map_err(internal)?,
        revoked: row.revoked_at.is_some(),
    };
    let valid = entry.admits(state, token);
    state.gateway_cache.insert(generation, id.to_owned(), entry);
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_a_recognisable_shape() {
        let token = format!(
            "{PREFIX}{}{}",
            random_base62(ID_LEN),
            random_base62(SECRET_LEN)
        );
        assert_eq!(token_id(&token).unwrap(), &token[4..14]);
        assert!(token_id("gwt_short").is_none());
        assert!(token_id(&token.replace("gwt_", "prt_")).is_none());
        assert!(check_name("edge-gateway.eu_1").is_ok());
        assert!(check_name("no spaces").is_err());
        assert!(check_name("").is_err());
    }

    fn live() -> CachedToken {
        CachedToken {
            hash: vec![1, 2, 3],
            revoked: false,
        }
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_cached() {
        let cache = GatewayCache::new(TOKEN_TTL);
        let cached = |cache: &GatewayCache| cache.read("AAAAAAAAAA", |_| ()).is_some();
        let before = cache.generation();
        cache.invalidate("AAAAAAAAAA");
        cache.insert(before, "AAAAAAAAAA".into(), live());
        assert!(!cached(&cache));

        let now = cache.generation();
        cache.insert(now, "AAAAAAAAAA".into(), live());
        assert!(cached(&cache));
        cache.clear();
        assert!(!cached(&cache));
        cache.insert(now, "AAAAAAAAAA".into(), live());
        assert!(!cached(&cache));
    }
}
