//! Access tokens: JWTs in the profile of RFC 9068, signed with ES256, minted
//! from an API key and checked without the database.

use crate::{
    domain::key_format::Environment,
    error::AppError,
    server::{
        db::token_grants::{self, NewGrant},
        errors::internal,
        secrets::tokens::random_bytes,
        state::AppState,
        verify::cache::VerifyKey,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// The `typ` header of an access token (RFC 9068 §2.1).
pub const TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token (RFC 9068 §2.2, RFC 7519 §4.1), with the
/// key's organisation and environment beside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The issuer: the portal's public URL.
    pub iss: String,
    /// The subject: the parent key's public id.
    pub sub: String,
    /// The audience: the platform's API (`PORTICO_ACCESS_TOKEN_AUDIENCE`).
    pub aud: String,
    /// The client: the parent key's public id, as for `sub` (RFC 9068 §2.2).
    pub client_id: String,
    /// The granted scopes, space-separated (RFC 8693 §4.2).
    pub scope: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// The token's unique id.
    pub jti: String,
    /// The parent key's organisation.
    pub org_id: i64,
    /// The parent key's environment.
    pub environment: Environment,
}

impl AccessTokenClaims {
    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    /// What the token may use now: the scopes it was granted that its key
    /// (`held`, as verification caches it) still holds, in the key's order.
    pub fn usable(&self, held: &[String]) -> Vec<String> {
        held.iter()
            .filter(|h| self.scopes().any(|g| g == h.as_str()))
            .cloned()
            .collect()
    }
}

/// Whether `presented` is shaped like a JWT (a JOSE header, then two more
/// dot-separated parts) rather than an API key: decided before anything is
/// parsed.
pub fn looks_like_jwt(presented: &str) -> bool {
    presented.starts_with("eyJ") && presented.bytes().filter(|&b| b == b'.').count() == 2
}

/// A minted token.
#[derive(Debug)]
pub struct Minted {
    /// The compact JWS.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// Mints a token for `key` carrying `scopes` (already checked to be the
/// key's), living `lifetime` (less if the key ends sooner), and records the
/// grant.
pub async fn mint(
    state: &AppState,
    key: &VerifyKey,
    scopes: &[String],
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<Minted, AppError> {
    let ring = state.signing_keys.ring_for_signing(state, now).await?;
    let Some((signer, private)) = ring.signer(now) else {
        return Err(internal(
            "no signing key can sign: check the server secret (portico signing-key list)",
        ));
    };
    // Never past the key's own end (its expiry, or its rotation overlap's).
    let expires_at = (now + lifetime).min(key.answered_expiry());
    let claims = AccessTokenClaims {
        iss: state.config.public_url.clone(),
        sub: key.key_id.clone(),
        aud: state.config.access_token_audience.clone(),
        client_id: key.key_id.clone(),
        scope: scopes.join(" "),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
        org_id: key.org_id,
        environment: key.environment,
    };
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(signer.kid.clone());
    let access_token = jsonwebtoken::encode(&header, &claims, private)
        .map_err(|e| internal(format!("signing an access token failed: {e}")))?;
    let mut conn = state.db.acquire().await?;
    token_grants::insert(
        conn.conn(),
        &NewGrant {
            jti: &claims.jti,
            key_row_id: key.id,
            org_id: key.org_id,
            scope: &claims.scope,
            kid: &signer.kid,
            issued_at: now,
            expires_at,
        },
    )
    .await?;
    Ok(Minted {
        access_token,
        expires_in: (expires_at - now).num_seconds(),
        scope: claims.scope,
    })
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a JWT at all.
    Malformed,
    /// Not signed by a published key of this portal, for this audience, as
    /// an access token.
    Unknown,
    /// Past its `exp`.
    Expired,
}

/// Checks a token's signature, type, issuer, audience and expiry (against
/// the portal's clock) with the published keys. The parent key's standing is
/// the caller's to check.
pub async fn check(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<AccessTokenClaims, TokenRefusal>, AppError> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(Err(TokenRefusal::Malformed));
    };
    if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some(TOKEN_TYPE) {
        return Ok(Err(TokenRefusal::Unknown));
    }
    let Some(kid) = header.kid else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    let ring = state.signing_keys.ring(state).await?;
    let Some(key) = ring.verifier(&kid, now) else {
        return Ok(Err(TokenRefusal::Unknown));
    };
    let mut validation = Validation::new(Algorithm::ES256);
    // Expiry is checked below against the portal's clock, to the second.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_audience(&[&state.config.access_token_audience]);
    validation.set_issuer(&[&state.config.public_url]);
    let claims = match jsonwebtoken::decode::<AccessTokenClaims>(token, &key.decoding, &validation)
    {
        Ok(data) => data.claims,
        Err(e) => {
            return Ok(Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_)
                | jsonwebtoken::errors::ErrorKind::Json(_)
                | jsonwebtoken::errors::ErrorKind::Utf8(_)
                | jsonwebtoken::errors::ErrorKind::InvalidToken => TokenRefusal::Malformed,
                _ => TokenRefusal::Unknown,
            }))
        }
    };
    if claims.exp <= now.timestamp() {
        return Ok(Err(TokenRefusal::Expired));
    }
    Ok(Ok(claims))
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn only_three_part_jose_objects_look_like_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("pk_live_abc.def"));
        assert!(!looks_like_jwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
        assert!(!looks_like_jwt(""));
    }
}
