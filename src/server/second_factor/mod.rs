//! Second factors for portal accounts: an authenticator app (TOTP, RFC 6238)
//! with ten single-use recovery codes, checked after the password at
//! sign-in; and the organisation policy that requires one of every member.
//!
//! Wrong codes count in the sign-in throttle (per account and per client
//! address), so a stolen password does not open unlimited guessing
//! (OWASP Multifactor Authentication Cheat Sheet).

pub mod totp;

use super::{
    accounts::check_current_password,
    audit::record_event,
    auth::throttle,
    authz::{authorize_org, Actor, OrgAction},
    db::{
        account_sessions, audit::NewEvent, organisations, recovery_codes, totp_authenticators,
        users,
    },
    notify::mailer::send_soon,
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
    model::account::{RecoveryCodes, SecondFactorStatus, TotpEnrolment},
};
use hmac::Mac;
use serde_json::json;
use std::net::IpAddr;

/// What a wrong code at sign-in or enrolment says.
pub const WRONG_CODE: &str = "That code is not right. Codes change every 30 seconds: enter the one your app shows now, and check that your phone's clock is set automatically. Or use a recovery code.";

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
    Ok(SecondFactorStatus {
        totp_since: authenticator.and_then(|a| a.confirmed_at),
        recovery_codes_left,
        required_by: required_by(actor),
        staff: actor.staff.is_some(),
    })
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

/// Finishes setting up an authenticator app with its first code: the app is
/// on from now, ten recovery codes are made (shown once), every other
/// session of the account ends (they began with the password alone), and
/// the account is told by email.
pub async fn confirm_totp(
    state: &AppState,
    actor: &Actor,
    code: &str,
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
    let attempt = throttle::admit(&state.db, &actor.email, addr, now).await?;
    let secret = open_secret(state, actor.user_id, &pending.sealed_secret)?;
    let Some(step) = totp::matching_step(
        &totp::generator(secret, &actor.email),
        &code,
        now.timestamp(),
    ) else {
        attempt.failed();
        tracing::warn!(user_id = actor.user_id, %addr, "wrong first authenticator code");
        return Err(AppError::field("code", WRONG_FIRST_CODE));
    };
    let (codes, hashes) = new_recovery_codes(&state.secret);
    let mut tx = state.db.begin().await?;
    if !totp_authenticators::confirm(tx.conn(), actor.user_id, step, now).await? {
        return Err(AppError::Conflict(
            "Your authenticator app was set up a moment ago, in another tab.".to_owned(),
        ));
    }
    recovery_codes::replace(tx.conn(), actor.user_id, &hashes, now).await?;
    let sessions_ended = account_sessions::end_all(tx.conn(), actor.user_id, keep_session).await?;
    tx.commit().await?;
    attempt.succeeded(&state.db).await?;
    tracing::info!(
        user_id = actor.user_id,
        sessions_ended,
        "two-factor authentication on"
    );
    tell(
        state,
        &actor.email,
        "Two-factor authentication is on",
        format!(
            "Signing in to your Portico account {} now needs a code from your authenticator app \
             after the password (set up at {} UTC from {addr}). Every other session was signed out.\n\n\
             If this was not you, reset your password now and tell your organisation's admins.",
            actor.email,
            now.format("%Y-%m-%d %H:%M"),
        ),
    );
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

/// Turns two-factor authentication off (the current password is needed):
/// the app and the recovery codes are forgotten. Refused while an
/// organisation of the person requires a second factor, or they are staff.
pub async fn turn_off(
    state: &AppState,
    actor: &Actor,
    password: String,
    addr: IpAddr,
) -> Result<(), AppError> {
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
    check_current_password(state, actor, password, "password", addr).await?;
    let mut tx = state.db.begin().await?;
    let had = totp_authenticators::delete(tx.conn(), actor.user_id).await?;
    recovery_codes::delete_all(tx.conn(), actor.user_id).await?;
    tx.commit().await?;
    if had {
        tracing::info!(user_id = actor.user_id, "two-factor authentication off");
        tell(
            state,
            &actor.email,
            "Two-factor authentication is off",
            format!(
                "Two-factor authentication was turned off for your Portico account {} from {addr}: \
                 signing in needs only the password now.\n\n\
                 If this was not you, reset your password now, then set up your authenticator app again.",
                actor.email
            ),
        );
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
            "Recovery codes come with an authenticator app: set one up first.".to_owned(),
        ));
    }
    check_current_password(state, actor, password, "password", addr).await?;
    let (codes, hashes) = new_recovery_codes(&state.secret);
    let mut conn = state.db.acquire().await?;
    recovery_codes::replace(conn.conn(), actor.user_id, &hashes, state.clock.now()).await?;
    tracing::info!(user_id = actor.user_id, "new recovery codes");
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
    code: &str,
    addr: IpAddr,
) -> Result<(), AppError> {
    let code = SecondFactorCode::parse(code).map_err(|m| AppError::field("code", m))?;
    let now = state.clock.now();
    let (email, authenticator) = {
        let mut conn = state.db.acquire().await?;
        let user = users::find(conn.conn(), user_id).await?;
        let authenticator = totp_authenticators::find(conn.conn(), user_id).await?;
        (user.map(|u| u.email), authenticator)
    };
    let (Some(email), Some(authenticator)) = (email, authenticator) else {
        return Err(AppError::Unauthenticated);
    };
    let attempt = throttle::admit(&state.db, &email, addr, now).await?;
    let accepted = match &code {
        SecondFactorCode::Totp(code) => {
            let secret = open_secret(state, user_id, &authenticator.sealed_secret)?;
            match totp::matching_step(&totp::generator(secret, &email), code, now.timestamp()) {
                Some(step) => {
                    let mut conn = state.db.acquire().await?;
                    totp_authenticators::use_step(conn.conn(), user_id, step).await?
                }
                None => false,
            }
        }
        SecondFactorCode::Recovery(code) => {
            let hash = hash_recovery_code(&state.secret, code);
            let mut conn = state.db.acquire().await?;
            let used = recovery_codes::use_code(conn.conn(), user_id, &hash, now).await?;
            if used {
                let left = recovery_codes::unused(conn.conn(), user_id).await?;
                tell(
                    state,
                    &email,
                    "A recovery code was used",
                    format!(
                        "Someone signed in to your Portico account {email} from {addr} with a recovery code \
                         instead of the authenticator app. {}\n\n\
                         If this was not you, reset your password now and make new recovery codes from your Account page.",
                        crate::domain::format::count(left as usize, "recovery code is left.", "recovery codes are left."),
                    ),
                );
            }
            used
        }
    };
    if !accepted {
        attempt.failed();
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
    authorize_org(actor, org_id, OrgAction::SetPolicy)?;
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

/// Sends an account a security notice in the background.
fn tell(state: &AppState, email: &str, subject: &'static str, body: String) {
    send_soon(state, email.to_owned(), subject, body);
}
