//! The access tokens part of `/docs`: when to trade a key for short-lived
//! tokens, how to ask for one, and how a service checks one offline.

use leptos::prelude::*;

const REQUEST: &str = r#"curl -s https://keys.example.com/oauth/token \
  -u "$KEY_ID:$PORTICO_KEY" \
  -d grant_type=client_credentials \
  -d scope=records:read"#;

const ANSWER: &str = r#"{
  "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjYxMjAxLTVmM2EiLCJ0eXAiOiJhdCtqd3QifQ.…",
  "token_type": "Bearer",
  "expires_in": 600,
  "scope": "records:read"
}"#;

const REFUSAL: &str = r#"HTTP/1.1 401 Unauthorized
{
  "error": "invalid_client",
  "error_description": "The key was revoked and can never be used again.",
  "portico_code": "revoked"
}"#;

const RUST_OFFLINE: &str = r#"use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};

// Fetch https://keys.example.com/.well-known/jwks.json now and then (it may
// be cached for an hour), and again when a token names a kid it lacks.
fn check(token: &str, jwks: &JwkSet) -> Result<Claims, jsonwebtoken::errors::Error> {
    let header = decode_header(token)?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
    }
    let kid = header.kid.ok_or(jsonwebtoken::errors::ErrorKind::InvalidToken)?;
    let jwk = jwks.find(&kid).ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&["https://keys.example.com"]);
    validation.set_audience(&["https://api.example.com"]);
    let claims = decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims;
    // Then: does claims.scope (space-separated) hold what this request needs?
    Ok(claims)
}"#;

const INTROSPECT: &str = r#"curl -s https://keys.example.com/oauth/introspect \
  -H "Authorization: Bearer $GATEWAY_TOKEN" \
  -d token=eyJhbGciOi…"#;

/// The access tokens section of the guide.
#[component]
pub fn AccessTokensGuide() -> impl IntoView {
    view! {
        <h2 id="access-tokens">"Short-lived access tokens"</h2>
        <p>
            "An API key lives for months. A service that calls many APIs, or runs where a secret may leak (build logs, crash reports, a browser), "
            "can trade its key for an access token that lives minutes (10 by default; admins set 1 to 60 on the policy page). "
            "Use the key where it is stored safely and calls are few; use tokens when the credential travels, or when the services you call "
            "should check it without asking Portico."
        </p>
        <p>
            "Ask the token endpoint with the OAuth 2.0 client credentials grant (RFC 6749 §4.4): the key's id as client id and the whole key as client secret, "
            "by HTTP Basic or as " <code>"client_id"</code> " and " <code>"client_secret"</code>
            " in the form. " <code>"scope"</code>
            " is optional and may only narrow the key's scopes."
        </p>
        <pre class="code">
            <code>{REQUEST}</code>
        </pre>
        <pre class="code">
            <code>{ANSWER}</code>
        </pre>
        <p>
            "Anything verification refuses is refused here, with the OAuth error and Portico's own code: a revoked, suspended, expired or unapproved key is "
            <code>"invalid_client"</code> ", a scope the key lacks " <code>"invalid_scope"</code>
            ", an address off the allowlist " <code>"unauthorized_client"</code>
            ", and a key over its rate or quota " <code>"slow_down"</code>
            " (429, with Retry-After)."
        </p>
        <pre class="code">
            <code>{REFUSAL}</code>
        </pre>
        <h3 id="access-tokens-check">"Checking a token"</h3>
        <p>
            "Tokens are JWTs in the profile of RFC 9068 (" <code>"typ: at+jwt"</code>
            "), signed with ES256. The claims: " <code>"iss"</code> " (this portal), "
            <code>"sub"</code> " and " <code>"client_id"</code> " (the key's id), "
            <code>"aud"</code> " (your API), " <code>"scope"</code> ", " <code>"iat"</code> ", "
            <code>"exp"</code> ", " <code>"jti"</code> ", " <code>"org_id"</code> " and "
            <code>"environment"</code> ". " "The signing keys are published at "
            <code>"/.well-known/jwks.json"</code>
            " a day before they sign, and stay there until every token they signed has expired; the metadata is at "
            <code>"/.well-known/oauth-authorization-server"</code> "."
        </p>
        <p>"A Rust service checks a token offline with the jsonwebtoken crate:"</p>
        <pre class="code">
            <code>{RUST_OFFLINE}</code>
        </pre>
        <p>
            "Your gateway may also send a token to " <code>"/v1/verify"</code>
            " in place of a key, and the tower layer accepts one as a Bearer token: Portico checks it offline, then its key's standing, limits and scopes, "
            "so revoking or suspending the key stops its tokens at once there. A service that checks offline learns within the token's lifetime. "
            "Services that cannot check tokens themselves can ask (RFC 7662), with a gateway token:"
        </p>
        <pre class="code">
            <code>{INTROSPECT}</code>
        </pre>
    }
}
