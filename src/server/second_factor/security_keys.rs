//! Security keys and passkeys as a second factor, through WebAuthn Level 3
//! (the relying party's side, by `webauthn-rs`).
//!
//! Registering a key and signing in with one are each a two-step ceremony:
//! the server makes a challenge (kept in the session, used once, for five
//! minutes), the browser has the authenticator sign it, and the server
//! checks the answer. A touch of the key (user presence) is what it adds to
//! the password; no PIN is asked for. The relying party id is the host of the portal's
//! public URL, so a portal served under an IP address cannot use them
//! (browsers refuse WebAuthn there); its people use an authenticator app.

use super::credential_tag_of;
use crate::{
    error::AppError,
    model::account::{RecoveryCodes, SecurityKeyView, SIGN_IN_AGAIN},
    server::{
        accounts::check_current_password,
        auth::{session::AuthSession, throttle},
        authz::Actor,
        db::{recovery_codes, second_factors, security_keys, users},
        notify::security_notice,
        state::AppState,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::Mac;
use std::net::IpAddr;
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// How many security keys one account may register.
pub const MAX_KEYS: usize = 10;

const REGISTER: &str = "register";
const SIGN_IN: &str = "sign_in";

/// What a failed security-key sign-in says.
pub const KEY_NOT_ACCEPTED: &str = "Your security key's answer was not accepted. Try again with a key registered to this account, or use a code from your authenticator app or a recovery code.";

/// What registering a key twice says.
const ALREADY_REGISTERED: &str = "This security key is registered already.";

/// What an unsupported portal says.
const UNSUPPORTED: &str = "Security keys need the portal to be served under a domain name, and this one is served under an IP address. Use an authenticator app instead.";

/// The relying party for the portal at `public_url`: its id is the URL's
/// host (WebAuthn §5.1.2), and only that origin is accepted. `None` when
/// the host is not a domain (an IP address), which WebAuthn does not allow.
pub fn relying_party(public_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    let rp_id = origin.domain()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Portico")
        // A second factor after the password: a touch proves presence, and
        // no PIN is asked for (WebAuthn `userVerification: "discouraged"`),
        // as for security keys on GitHub and Google accounts.
        .danger_set_user_presence_only_security_keys(true)
        .build()
        .ok()
}

fn too_many_keys() -> AppError {
    AppError::Conflict(format!(
        "An account can have at most {MAX_KEYS} security keys. Remove one you no longer use first."
    ))
}

fn relying_party_of(state: &AppState) -> Result<Webauthn, AppError> {
    relying_party(&state.config.public_url)
        .ok_or_else(|| AppError::Conflict(UNSUPPORTED.to_owned()))
}

/// The WebAuthn user handle of an account (§14.6.1: opaque, no personal
/// data): 16 bytes of an HMAC of its id keyed with the server secret.
fn user_handle(state: &AppState, user_id: i64) -> Uuid {
    let mut mac = state.secret.hmac();
    mac.update(b"portico webauthn user handle v1: ");
    mac.update(&user_id.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn parse_key(row: &security_keys::SecurityKeyRow) -> Result<SecurityKey, AppError> {
    serde_json::from_str(&row.credential).map_err(|e| {
        crate::server::errors::internal(format_args!("security key {} does not parse: {e}", row.id))
    })
}

fn to_json(key: &SecurityKey) -> Result<String, AppError> {
    serde_json::to_string(key)
        .map_err(|e| crate::server::errors::internal(format_args!("a security key: {e}")))
}

fn internal(e: impl std::fmt::Display) -> AppError {
    crate::server::errors::internal(format_args!("WebAuthn: {e}"))
}

/// The security keys of `user_id`, for the Account page.
pub async fn list(state: &AppState, user_id: i64) -> Result<Vec<SecurityKeyView>, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(security_keys::list(conn.conn(), user_id)
        .await?
        .into_iter()
        .map(|row| SecurityKeyView {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

/// Whether this portal can use security keys at all.
pub fn supported(state: &AppState) -> bool {
    relying_party(&state.config.public_url).is_some()
}

/// Starts registering a security key (the current password is needed, so
/// that a session alone cannot bind a key the owner does not hold): the
/// options for `navigator.credentials.create()` as JSON
/// (`CredentialCreationOptions`, WebAuthn §5.4), keys already registered
/// excluded. The challenge is kept in the session for five minutes.
pub async fn begin_registration(
    state: &AppState,
    session: &AuthSession,
    actor: &Actor,
    password: String,
    addr: IpAddr,
) -> Result<String, AppError> {
    let relying_party = relying_party_of(state)?;
    let existing = {
        let mut conn = state.db.acquire().await?;
        security_keys::list(conn.conn(), actor.user_id).await?
    };
    if existing.len() >= MAX_KEYS {
        return Err(too_many_keys());
    }
    check_current_password(state, actor, password, "password", addr).await?;
    let exclude = existing
        .iter()
        .map(|row| parse_key(row).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (options, registration) = relying_party
        .start_securitykey_registration(
            user_handle(state, actor.user_id),
            &actor.email,
            &actor.email,
            Some(exclude),
            None,
            None,
        )
        .map_err(internal)?;
    session
        .begin_ceremony(REGISTER, actor.user_id, &registration, state.clock.now())
        .await?;
    serde_json::to_string(&options).map_err(internal)
}

/// Finishes registering a security key with the browser's answer
/// (`PublicKeyCredential.toJSON()`, WebAuthn §5.1) under `name`. When it is
/// the account's first second factor, ten recovery codes are made (shown
/// once) and every other session ends, as when an authenticator app is set
/// up; the account is told by email either way.
pub async fn finish_registration(
    state: &AppState,
    session: &AuthSession,
    actor: &Actor,
    name: &str,
    credential: &str,
    keep_session: Option<&str>,
    addr: IpAddr,
) -> Result<RecoveryCodes, AppError> {
    // The rule every key name follows: trimmed, 1 to 60 characters, one
    // line, nothing hidden.
    let name = crate::domain::keys::parse_name(name).map_err(|m| AppError::field("name", m))?;
    let name = name.as_str();
    let relying_party = relying_party_of(state)?;
    let now = state.clock.now();
    let Some(registration) = session
        .take_ceremony::<SecurityKeyRegistration>(REGISTER, actor.user_id, now)
        .await?
    else {
        return Err(AppError::Conflict(
            "Adding this key took more than 5 minutes, or was started in another tab. Start again: choose \u{201c}Add a security key\u{201d}.".to_owned(),
        ));
    };
    let answer: RegisterPublicKeyCredential = serde_json::from_str(credential).map_err(|_| {
        AppError::field(
            "credential",
            "Your browser's answer could not be read. Try again.",
        )
    })?;
    // A key of this account again (the browser should have refused it: the
    // options excluded it) says so, rather than that it could not be checked.
    let registered = {
        let mut conn = state.db.acquire().await?;
        security_keys::list(conn.conn(), actor.user_id).await?
    };
    for row in &registered {
        if parse_key(row)?.cred_id().as_slice() == answer.raw_id.as_slice() {
            return Err(AppError::Conflict(ALREADY_REGISTERED.to_owned()));
        }
    }
    let key = relying_party
        .finish_securitykey_registration(&answer, &registration)
        .map_err(|e| {
            tracing::warn!(user_id = actor.user_id, %addr, error = %e, "security key not registered");
            AppError::field(
                "credential",
                "Your security key's answer could not be checked, so it was not added. Try again, or try another key.",
            )
        })?;
    let credential_id = URL_SAFE_NO_PAD.encode(key.cred_id());
    let first = {
        let mut conn = state.db.acquire().await?;
        !second_factors::any(conn.conn(), actor.user_id).await?
    };
    let mut tx = state.db.begin().await?;
    // Counted again here: two ceremonies begun side by side must not pass
    // the limit together.
    if security_keys::list(tx.conn(), actor.user_id).await?.len() >= MAX_KEYS {
        return Err(too_many_keys());
    }
    let Some(_) = security_keys::insert(
        tx.conn(),
        actor.user_id,
        name,
        &credential_id,
        &to_json(&key)?,
        now,
    )
    .await?
    else {
        return Err(AppError::Conflict(ALREADY_REGISTERED.to_owned()));
    };
    let (codes, sessions_ended) = if first {
        super::on_first_factor(&mut tx, state, actor.user_id, keep_session, now).await?
    } else {
        (Vec::new(), 0)
    };
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, first, "security key added");
    security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "A security key was added",
        format!(
            "The security key \u{201c}{name}\u{201d} was added to your Portico account {} at {} UTC from {addr}. \
             Signing in can now use it after the password.{}\n\n\
             If this was not you, reset your password now and tell your organisation's admins.",
            actor.email,
            now.format("%Y-%m-%d %H:%M"),
            if first { " Every other session was signed out." } else { "" },
        ),
    )
    .await;
    Ok(RecoveryCodes {
        codes,
        sessions_ended,
    })
}

/// Removes security key `id` of the signed-in person (the current password
/// is needed). Refused when it is their last second factor and an
/// organisation of theirs (or a staff role) requires one; when it was the
/// last, the recovery codes go with it.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    id: i64,
    password: String,
    addr: IpAddr,
) -> Result<(), AppError> {
    let (keys, app) = {
        let mut conn = state.db.acquire().await?;
        (
            security_keys::list(conn.conn(), actor.user_id).await?,
            crate::server::db::totp_authenticators::find(conn.conn(), actor.user_id)
                .await?
                .is_some_and(|a| a.confirmed_at.is_some()),
        )
    };
    let Some(key) = keys.iter().find(|k| k.id == id) else {
        return Err(AppError::NotFound(
            "That security key is not registered to your account (it may have been removed already)."
                .to_owned(),
        ));
    };
    let last = keys.len() == 1 && !app;
    if last {
        super::refuse_if_required(actor)?;
    }
    check_current_password(state, actor, password, "password", addr).await?;
    let mut tx = state.db.begin().await?;
    if !security_keys::delete(tx.conn(), actor.user_id, id).await? {
        return Err(AppError::NotFound(
            "That security key was removed a moment ago.".to_owned(),
        ));
    }
    if !second_factors::any(tx.conn(), actor.user_id).await? {
        recovery_codes::delete_all(tx.conn(), actor.user_id).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = actor.user_id, key = id, "security key removed");
    security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "A security key was removed",
        format!(
            "The security key \u{201c}{}\u{201d} was removed from your Portico account {} from {addr}.{}\n\n\
             If this was not you, reset your password now and tell your organisation's admins.",
            key.name,
            actor.email,
            if last {
                " Signing in needs only the password now."
            } else {
                ""
            },
        ),
    )
    .await;
    Ok(())
}

/// Starts signing in with a security key, for the account whose password
/// was given on this session: the options for `navigator.credentials.get()`
/// as JSON (`CredentialRequestOptions`, WebAuthn §5.5), naming the
/// account's keys. The challenge is kept in the session for five minutes.
pub async fn begin_sign_in(
    state: &AppState,
    session: &AuthSession,
    user_id: i64,
) -> Result<String, AppError> {
    let relying_party = relying_party_of(state)?;
    let rows = {
        let mut conn = state.db.acquire().await?;
        security_keys::list(conn.conn(), user_id).await?
    };
    if rows.is_empty() {
        return Err(AppError::Conflict(
            "No security key is registered to this account. Use a code from your authenticator app or a recovery code.".to_owned(),
        ));
    }
    let keys = rows.iter().map(parse_key).collect::<Result<Vec<_>, _>>()?;
    let (options, authentication) = relying_party
        .start_securitykey_authentication(&keys)
        .map_err(internal)?;
    session
        .begin_ceremony(SIGN_IN, user_id, &authentication, state.clock.now())
        .await?;
    serde_json::to_string(&options).map_err(internal)
}

/// Checks the browser's answer to the sign-in challenge
/// (`PublicKeyCredential.toJSON()`) for the account whose password was
/// given with `credential_tag`. A wrong answer counts in the sign-in
/// throttle, as a wrong code does; a key whose signature counter went
/// backwards (a cloned key, §6.1.1) is refused.
pub async fn check_at_sign_in(
    state: &AppState,
    session: &AuthSession,
    user_id: i64,
    credential_tag: &str,
    credential: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let relying_party = relying_party_of(state)?;
    let now = state.clock.now();
    let (email, password_hash, rows) = {
        let mut conn = state.db.acquire().await?;
        let user = users::find(conn.conn(), user_id).await?;
        let hash = match &user {
            Some(u) => users::credentials(conn.conn(), &u.email)
                .await?
                .map(|(_, h)| h),
            None => None,
        };
        let rows = security_keys::list(conn.conn(), user_id).await?;
        (user.map(|u| u.email), hash, rows)
    };
    let current = password_hash.as_deref().map(credential_tag_of);
    let (Some(email), true) = (email, current.as_deref() == Some(credential_tag)) else {
        return Err(AppError::Conflict(SIGN_IN_AGAIN.to_owned()));
    };
    let attempt = throttle::admit(&state.db, &email, addr, now).await?;
    let Some(authentication) = session
        .take_ceremony::<SecurityKeyAuthentication>(SIGN_IN, user_id, now)
        .await?
    else {
        return Err(AppError::Conflict(
            "The security key took more than 5 minutes to answer, or the sign-in was started again in another tab. Choose \u{201c}Use a security key\u{201d} again.".to_owned(),
        ));
    };
    let checked = serde_json::from_str::<PublicKeyCredential>(credential)
        .map_err(|e| e.to_string())
        .and_then(|answer| {
            relying_party
                .finish_securitykey_authentication(&answer, &authentication)
                .map_err(|e| e.to_string())
        });
    let result = match checked {
        Ok(result) => result,
        Err(error) => {
            attempt.failed(&state.metrics);
            tracing::warn!(user_id, %addr, %error, "security key not accepted");
            return Err(AppError::field("credential", KEY_NOT_ACCEPTED));
        }
    };
    let mut used = None;
    for row in &rows {
        let mut key = parse_key(row)?;
        if key.cred_id() == result.cred_id() {
            key.update_credential(&result);
            used = Some((row.id, key));
            break;
        }
    }
    let Some((id, key)) = used else {
        // Removed between the challenge and the answer.
        attempt.failed(&state.metrics);
        return Err(AppError::field("credential", KEY_NOT_ACCEPTED));
    };
    {
        let mut conn = state.db.acquire().await?;
        security_keys::record_use(conn.conn(), user_id, id, &to_json(&key)?, now).await?;
    }
    attempt.succeeded(&state.db).await?;
    tracing::info!(user_id, %addr, key = id, "security key accepted");
    Ok(())
}
