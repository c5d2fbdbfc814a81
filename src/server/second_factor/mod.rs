//! Second factors for portal accounts: an authenticator app (TOTP, RFC 6238)
//! and security keys (WebAuthn, [`security_keys`]), with ten single-use
//! recovery codes made with the first of them, checked after the password
//! at sign-in; and the organisation policy that requires one of every
//! member.
//!
//! Wrong codes count in the sign-in throttle (per account and per client
//! address), so a stolen password does not open unlimited guessing
//! (OWASP Multifactor Authentication Cheat Sheet).

pub mod security_keys;
pub mod totp;

use super::{
    accounts::check_current_password,
    audit::record_event,
    auth::throttle,
    authz::{authorize_org, Actor, OrgAction},
    db::{
        account_sessions, audit::NewEvent, organisations, recovery_codes, second_factors,
        security_keys as security_key_rows, totp_authenticators, users, Tx,
    },
    notify::security_notice,
    secrets::{
        sealed::{self, Purpose},
        tokens::random_bytes,
        ServerSecret,
    },
    state::AppState,
};
use crate::{
    domain::{
        audit::AuditAction,
        second_factor::{
            group_for_typing, recovery_code_from, SecondFactorCode, RECOVERY_CODE_CHARS,
            RECOVERY_CODE_COUNT,
        },
    },
    error::AppError,
    model::account::{
        RecoveryCodes, SecondFactorChoice, SecondFactorStatus, TotpEnrolment, SIGN_IN_AGAIN,
    },
};
use hmac::Mac;
use serde_json::json;
use std::net::IpAddr;

/// What a wrong code at sign-in says (a used one too: each works once).
pub const WRONG_CODE: &str = "That code is not right, or it was used already. App codes change every 30 seconds and each works once: enter the one your app shows now, and check that your phone's clock is set automatically. Or use a recovery code.";

/// What the session keeps of the password a sign-in gave, so that the code
/// step can tell whether the password changed since: SHA-256 of the stored
/// argon2 hash (which has a new salt at every change), as hex.
pub fn credential_tag_of(password_hash: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(password_hash.as_bytes()))
}

/// Emails the account that its password was given but the second step
/// failed (the caller sends it once per waiting sign-in): the password may
/// have leaked.
pub async fn warn_of_failed_code(
    state: &AppState,
    user_id: i64,
    addr: IpAddr,
) -> Result<(), AppError> {
    let email = {
        let mut conn = state.db.acquire().await?;
        match users::find(conn.conn(), user_id).await? {
            Some(user) => user.email,
            None => return Ok(()),
        }
    };
    tracing::warn!(user_id, %addr, "right password, wrong second-factor code");
    security_notice::tell(
        state,
        user_id,
        &email,
        "Your password was used, but the code was wrong",
        format!(
            "Someone signed in to your Portico account {email} from {addr} with the right password, \
             then gave a wrong two-factor code.\n\n\
             If this was you, nothing more to do. If it was not, your password is known to someone else: \
             change it now from your Account page."
        ),
    )
    .await;
    Ok(())
}

/// What enrolment says of a wrong first code.
const WRONG_FIRST_CODE: &str = "That code is not right. Enter the 6-digit code your app shows for Portico now (codes change every 30 seconds); if the app shows none, scan the QR code again.";

/// The stored form of a recovery code: HMAC-SHA256 keyed with the server
/// secret, as hex.
fn hash_recovery_code(secret: &ServerSecret, code: &str) -> String {
    let mut mac = secret.hmac();
    mac.update(b"portico recovery code v1: ");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn new_recovery_codes(secret: &ServerSecret) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| recovery_code_from(random_bytes::<RECOVERY_CODE_CHARS>()))
        .collect();
    let hashes = codes
        .iter()
        .map(|c| hash_recovery_code(secret, c))
        .collect();
    (codes, hashes)
}

/// What an account's first second factor (of either kind) brings, in the
/// transaction that adds it: ten new recovery codes (returned, to be shown
/// once) and the end of every other session, which began with the password
/// alone. Returns the codes and how many sessions ended.
async fn on_first_factor(
    tx: &mut Tx,
    state: &AppState,
    user_id: i64,
    keep_session: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<String>, u64), AppError> {
    let (codes, hashes) = new_recovery_codes(&state.secret);
    recovery_codes::replace(tx.conn(), user_id, &hashes, now).await?;
    let ended = account_sessions::end_all(tx.conn(), user_id, keep_session).await?;
    Ok((codes, ended))
}

/// The organisations of `actor` that require a second factor, by name.
fn required_by(actor: &Actor) -> Vec<String> {
    actor
        .memberships
        .iter()
        .filter(|m| m.requires_second_factor)
        .map(|m| m.org_name.clone())
        .collect()
}

/// The signed-in person's second factors.
pub async fn status(state: &AppState, actor: &Actor) -> Result<SecondFactorStatus, AppError> {
    let mut conn = state.db.acquire().await?;
    let authenticator = totp_authenticators::find(conn.conn(), actor.user_id).await?;
    let recovery_codes_left = recovery_codes::unused(conn.conn(), actor.user_id).await?;
    drop(conn);
    Ok(SecondFactorStatus {
        totp_since: authenticator.and_then(|a| a.confirmed_at),
        security_keys: security_keys::list(state, actor.user_id).await?,
        security_keys_supported: security_keys::supported(state),
        recovery_codes_left,
        required_by: required_by(actor),
        staff: actor.staff.is_some(),
    })
}

/// The second factors `user_id` can finish a sign-in with.
pub async fn choice(state: &AppState, user_id: i64) -> Result<SecondFactorChoice, AppError> {
    let mut conn = state.db.acquire().await?;
    let totp = totp_authenticators::find(conn.conn(), user_id)
        .await?
        .is_some_and(|a| a.confirmed_at.is_some());
    let security_key = !security_key_rows::list(conn.conn(), user_id)
        .await?
        .is_empty();
    Ok(SecondFactorChoice { totp, security_key })
}

/// Starts setting up an authenticator app: a new 160-bit secret, sealed and
/// stored as pending, and what the app needs to learn it. Starting again
/// replaces a pending secret; an account with an app set up is refused.
pub async fn begin_totp(state: &AppState, actor: &Actor) -> Result<TotpEnrolment, AppError> {
    let secret = random_bytes::<{ totp::SECRET_BYTES }>().to_vec();
    let sealed = sealed::seal(&state.secret, Purpose::TotpSecret, actor.user_id, &secret);
    let mut conn = state.db.acquire().await?;
    if !totp_authenticators::begin(conn.conn(), actor.user_id, &sealed, state.clock.now()).await? {
        return Err(AppError::Conflict(
            "Your authenticator app is already set up. To move to another app, turn two-factor authentication off and set it up again.".to_owned(),
        ));
    }
    let generator = totp::generator(secret, &actor.email);
    let otpauth_uri = generator.get_url();
    Ok(TotpEnrolment {
        secret: group_for_typing(&generator.get_secret_base32()),
        qr_svg: totp::qr_svg(&otpauth_uri),
        otpauth_uri,
    })
}

/// Finishes setting up an authenticator app with its first code and the
/// current password (a session alone must not be able to bind an app the
/// owner does not hold): the app is on from now, ten recovery codes are made
/// (shown once), every other session of the account ends (they began with
/// the password alone), and the account is told by email.
pub async fn confirm_totp(
    state: &AppState,
    actor: &Actor,
    code: &str,
    password: String,
    keep_session: Option<&str>,
    addr: IpAddr,
) -> Result<RecoveryCodes, AppError> {
    let code = match SecondFactorCode::parse(code) {
        Ok(SecondFactorCode::Totp(code)) => code,
        Ok(SecondFactorCode::Recovery(_)) | Err(_) => {
            return Err(AppError::field(
                "code",
                "Enter the 6-digit code your authenticator app shows for Portico.",
            ))
        }
    };
    let now = state.clock.now();
    let pending = {
        let mut conn = state.db.acquire().await?;
        totp_authenticators::find(conn.conn(), actor.user_id).await?
    };
    let pending =
        match pending {
            Some(row) if row.confirmed_at.is_none() => row,
            Some(_) => {
                return Err(AppError::Conflict(
                    "Your authenticator app is already set up.".to_owned(),
                ))
            }
            None => return Err(AppError::Conflict(
                "Start again: choose \u{201c}Set up an authenticator app\u{201d} to get a QR code."
                    .to_owned(),
            )),
        };
    check_current_password(state, actor, password, "password", addr).await?;
    let attempt = throttle::admit(&state.db, &actor.email, addr, now).await?;
    let secret = open_secret(state, actor.user_id, &pending.sealed_secret)?;
    let Some(step) = totp::matching_step(
        &totp::generator(secret, &actor.email),
        &code,
        now.timestamp(),
    ) else {
        attempt.failed(&state.metrics);
        tracing::warn!(user_id = actor.user_id, %addr, "wrong first authenticator code");
        return Err(AppError::field("code", WRONG_FIRST_CODE));
    };
    let first = {
        let mut conn = state.db.acquire().await?;
        !second_factors::any(conn.conn(), actor.user_id).await?
    };
    let mut tx = state.db.begin().await?;
    if !totp_authenticators::confirm(tx.conn(), actor.user_id, &pending.sealed_secret, step, now)
        .await?
    {
        return Err(AppError::Conflict(
            "Setting up was started again or finished in another tab a moment ago. Reload the page and scan the QR code shown there.".to_owned(),
        ));
    }
    let (codes, sessions_ended) = if first {
        on_first_factor(&mut tx, state, actor.user_id, keep_session, now).await?
    } else {
        (Vec::new(), 0)
    };
    tx.commit().await?;
    attempt.succeeded(&state.db).await?;
    tracing::info!(
        user_id = actor.user_id,
        sessions_ended,
        "two-factor authentication on"
    );
    security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "Two-factor authentication is on",
        format!(
            "Signing in to your Portico account {} can now use a code from your authenticator app \
             after the password (set up at {} UTC from {addr}).{}\n\n\
             If this was not you, reset your password now and tell your organisation's admins.",
            actor.email,
            now.format("%Y-%m-%d %H:%M"),
            if first {
                " Every other session was signed out."
            } else {
                ""
            },
        ),
    )
    .await;
    Ok(RecoveryCodes {
        codes,
        sessions_ended,
    })
}

fn open_secret(state: &AppState, user_id: i64, sealed: &str) -> Result<Vec<u8>, AppError> {
    sealed::open(&state.secret, Purpose::TotpSecret, user_id, sealed).ok_or_else(|| {
        super::errors::internal(format_args!(
            "the authenticator secret of user {user_id} does not open with this server secret"
        ))
    })
}

/// Refuses to leave `actor` without a second factor while an organisation
/// of theirs requires one, or they are staff.
fn refuse_if_required(actor: &Actor) -> Result<(), AppError> {
    let orgs = required_by(actor);
    if !orgs.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} requires two-factor authentication of its members, so it stays on while you belong to it.",
            crate::domain::format::join_names(&orgs)
        )));
    }
    if actor.staff.is_some() {
        return Err(AppError::Conflict(
            "Platform staff need two-factor authentication, so it stays on while you are staff."
                .to_owned(),
        ));
    }
    Ok(())
}

/// Turns two-factor authentication off (the current password is needed):
/// the app, the security keys and the recovery codes are forgotten. Refused while an
/// organisation of the person requires a second factor, or they are staff.
pub async fn turn_off(
    state: &AppState,
    actor: &Actor,
    password: String,
    addr: IpAddr,
) -> Result<(), AppError> {
    if !actor.second_factor {
        return Err(AppError::Conflict(
            "Two-factor authentication is not on for your account.".to_owned(),
        ));
    }
    refuse_if_required(actor)?;
    check_current_password(state, actor, password, "password", addr).await?;
    let mut tx = state.db.begin().await?;
    let had_app = totp_authenticators::delete(tx.conn(), actor.user_id).await?;
    let had_keys = security_key_rows::delete_all(tx.conn(), actor.user_id).await?;
    recovery_codes::delete_all(tx.conn(), actor.user_id).await?;
    tx.commit().await?;
    if had_app || had_keys > 0 {
        tracing::info!(user_id = actor.user_id, "two-factor authentication off");
        security_notice::tell(
            state,
        actor.user_id,
            &actor.email,
            "Two-factor authentication is off",
            format!(
                "Two-factor authentication was turned off for your Portico account {} from {addr}: \
                 signing in needs only the password now.\n\n\
                 If this was not you, reset your password now, then set up two-factor authentication again.",
                actor.email
            ),
        )
    .await;
    }
    Ok(())
}

/// Replaces the recovery codes with ten new ones (the current password is
/// needed); the old ones stop working.
pub async fn replace_recovery_codes(
    state: &AppState,
    actor: &Actor,
    password: String,
    addr: IpAddr,
) -> Result<RecoveryCodes, AppError> {
    if !actor.second_factor {
        return Err(AppError::Conflict(
            "Recovery codes come with a second factor: set up an authenticator app or add a security key first.".to_owned(),
        ));
    }
    check_current_password(state, actor, password, "password", addr).await?;
    let (codes, hashes) = new_recovery_codes(&state.secret);
    let mut conn = state.db.acquire().await?;
    recovery_codes::replace(conn.conn(), actor.user_id, &hashes, state.clock.now()).await?;
    tracing::info!(user_id = actor.user_id, "new recovery codes");
    security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "New recovery codes were made",
        format!(
            "New recovery codes were made for your Portico account {} from {addr}; the earlier ones no longer work.\n\n\
             If this was not you, reset your password now and tell your organisation's admins.",
            actor.email
        ),
    )
    .await;
    Ok(RecoveryCodes {
        codes,
        sessions_ended: 0,
    })
}

/// Checks the second factor of a sign-in whose password was right: a code
/// from the app (not one already used, RFC 6238 §5.2) or an unused recovery
/// code (which is then used up, and the account told how many are left).
/// Wrong codes count in the sign-in throttle.
pub async fn check_at_sign_in(
    state: &AppState,
    user_id: i64,
    credential_tag: &str,
    code: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let code = SecondFactorCode::parse(code).map_err(|m| AppError::field("code", m))?;
    let now = state.clock.now();
    let (email, authenticator, any, password_hash) = {
        let mut conn = state.db.acquire().await?;
        let user = users::find(conn.conn(), user_id).await?;
        let authenticator = totp_authenticators::find(conn.conn(), user_id)
            .await?
            .filter(|a| a.confirmed_at.is_some());
        let any = second_factors::any(conn.conn(), user_id).await?;
        let hash = match &user {
            Some(u) => users::credentials(conn.conn(), &u.email)
                .await?
                .map(|(_, h)| h),
            None => None,
        };
        (user.map(|u| u.email), authenticator, any, hash)
    };
    // The password given was for this credential: a password changed or
    // reset since then (or the second factor turned off) voids the sign-in.
    let current = password_hash.as_deref().map(credential_tag_of);
    let (Some(email), true, true) = (email, any, current.as_deref() == Some(credential_tag)) else {
        return Err(AppError::Conflict(SIGN_IN_AGAIN.to_owned()));
    };
    let attempt = throttle::admit(&state.db, &email, addr, now).await?;
    let accepted = match &code {
        // An app code for an account with security keys only is wrong too.
        SecondFactorCode::Totp(code) => match &authenticator {
            Some(authenticator) => {
                let secret = open_secret(state, user_id, &authenticator.sealed_secret)?;
                match totp::matching_step(&totp::generator(secret, &email), code, now.timestamp()) {
                    Some(step) => {
                        let mut conn = state.db.acquire().await?;
                        totp_authenticators::use_step(conn.conn(), user_id, step).await?
                    }
                    None => false,
                }
            }
            None => false,
        },
        SecondFactorCode::Recovery(code) => {
            let hash = hash_recovery_code(&state.secret, code);
            let mut conn = state.db.acquire().await?;
            let used = recovery_codes::use_code(conn.conn(), user_id, &hash, now).await?;
            if used {
                let left = recovery_codes::unused(conn.conn(), user_id).await?;
                security_notice::tell(
                    state,
        user_id,
                    &email,
                    "A recovery code was used",
                    format!(
                        "Someone signed in to your Portico account {email} from {addr} with a recovery code \
                         instead of the authenticator app or security key. {}\n\n\
                         If this was not you, reset your password now and make new recovery codes from your Account page.",
                        crate::domain::format::count(left as usize, "recovery code is left.", "recovery codes are left."),
                    ),
                )
    .await;
            }
            used
        }
    };
    if !accepted {
        attempt.failed(&state.metrics);
        tracing::warn!(user_id, %addr, "wrong second-factor code");
        return Err(AppError::field("code", WRONG_CODE));
    }
    attempt.succeeded(&state.db).await?;
    tracing::info!(user_id, %addr, "second factor accepted");
    Ok(())
}

/// Sets whether `org_id` requires a second factor of its members (admins
/// only). An admin without one cannot require it: they would be the first
/// locked out. The change is audited; who has none yet is returned.
pub async fn set_org_requirement(
    state: &AppState,
    actor: &Actor,
    org_id: i64,
    required: bool,
    addr: IpAddr,
) -> Result<Vec<String>, AppError> {
    let membership = authorize_org(actor, org_id, OrgAction::SetPolicy)?;
    if membership.requires_second_factor == required {
        // Nothing changes, so nothing is recorded.
        let mut conn = state.db.acquire().await?;
        return Ok(if required {
            organisations::members_without_second_factor(conn.conn(), org_id).await?
        } else {
            Vec::new()
        });
    }
    if required && !actor.second_factor {
        return Err(AppError::Conflict(
            "Set up two-factor authentication for yourself first (on your Account page), so that requiring it does not lock you out.".to_owned(),
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    organisations::set_require_second_factor(tx.conn(), org_id, required).await?;
    record_event(
        &mut tx,
        NewEvent {
            org_id,
            key_id: None,
            actor_id: Some(actor.user_id),
            actor_email: &actor.email,
            action: AuditAction::SecondFactorRequirementChanged,
            reason: None,
            details: Some(json!({ "required": required }).to_string()),
            client_addr: Some(addr.to_string()),
            at: now,
        },
    )
    .await?;
    let without = organisations::members_without_second_factor(tx.conn(), org_id).await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        org_id,
        required,
        "two-factor requirement changed"
    );
    Ok(if required { without } else { Vec::new() })
}

/// Removes the second factors of the account `email` for someone who lost
/// their authenticator app or security keys and their recovery codes, once
/// the operator has checked who they are (`portico second-factor reset
/// EMAIL`): the app, the keys and the codes are forgotten, every session of the account ends, and the account is
/// told (the email is sent before this returns). Organisations that require
/// a second factor send the person to set one up again at their next
/// sign-in. Returns how many sessions ended.
pub async fn reset(state: &AppState, email: &str) -> Result<u64, AppError> {
    let email = crate::domain::Email::parse(email).map_err(|m| AppError::field("email", m))?;
    let mut tx = state.db.begin().await?;
    let Some(user) = users::find_by_email(tx.conn(), email.as_str()).await? else {
        return Err(AppError::NotFound(format!("No account uses {email}.")));
    };
    let had_app = totp_authenticators::delete(tx.conn(), user.id).await?;
    let had_keys = security_key_rows::delete_all(tx.conn(), user.id).await?;
    if !had_app && had_keys == 0 {
        return Err(AppError::Conflict(format!(
            "{email} has no second factor to reset."
        )));
    }
    recovery_codes::delete_all(tx.conn(), user.id).await?;
    let ended = account_sessions::end_all(tx.conn(), user.id, None).await?;
    tx.commit().await?;
    tracing::warn!(
        user_id = user.id,
        sessions_ended = ended,
        "second factor reset by an operator"
    );
    // Recorded for the Account page, and sent before this returns (the
    // operator's command ends the process).
    let body = format!(
            "The platform's operators reset two-factor authentication on your Portico account {email}, \
             and every session of it was signed out. Sign in with your password, then set up an \
             authenticator app or a security key again from your Account page.\n\n\
             If you did not ask for this, reset your password now and contact the platform's support."
    );
    let subject = "Your two-factor authentication was reset";
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    crate::server::db::security_notices::insert(
        conn.conn(),
        user.id,
        subject,
        &body,
        now,
        now - chrono::Duration::days(365),
    )
    .await?;
    drop(conn);
    super::notify::mailer::send_now(state, email.as_str(), subject, &body).await;
    Ok(ended)
}
