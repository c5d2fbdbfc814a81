//! Accounts: signing up and signing in.

use super::{
    auth::{passwords, throttle},
    db::{
        account_sessions, email_verifications::OpenVerification, invitations, memberships,
        organisations, second_factors, unique_violation, users, Tx,
    },
    members::{join, JoinedBy, Joiner},
    state::AppState,
};
use crate::{
    domain::{
        invitation::InvitationStatus,
        password::{MAX_PASSWORD_BYTES, TOO_LONG},
        Email, OrgName, Password, Role,
    },
    error::{AppError, FieldError},
    server::secrets::tokens::hash_token,
};
use std::net::IpAddr;

/// What the sign-up form sends.
#[derive(Debug)]
pub struct SignUpForm {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: String,
    /// Name of a new organisation (when not joining one).
    pub org_name: Option<String>,
    /// Invitation token (when joining an organisation).
    pub invitation: Option<String>,
}

/// A signed-in (or just signed-up) user and the organisation to act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The user's id (`users.id`).
    pub user_id: i64,
    /// Their first organisation, if any.
    pub org_id: Option<i64>,
    /// Whether the account has a second factor, still to be checked before
    /// a session begins (see `second_factor::check_at_sign_in`).
    pub second_factor_due: bool,
    /// What the waiting sign-in keeps of the password it was given
    /// (`second_factor::credential_tag_of`); empty unless a second factor
    /// is due.
    pub credential_tag: String,
}

/// What sign-up says when the address is taken (only the setup link, made
/// for an empty platform, can meet this).
const EMAIL_TAKEN: &str =
    "An account with this email already exists. Sign in instead, or use another email.";

/// The refusal when someone uses an invitation sent to another address.
pub fn invitation_for(invited: &str) -> String {
    format!("This invitation was sent to {invited}. Use that address, or ask an admin for a link of your own.")
}

/// Signs up: checks the form (every problem at once), then either creates
/// an unverified account, with a new organisation (the user becomes its
/// admin) or a membership through an invitation, and emails a link to
/// confirm the address; or, when the address already has an account, emails
/// it that someone tried. Both answer the same, so sign-up tells nobody
/// which addresses have accounts (OWASP Authentication Cheat Sheet,
/// "Authentication and Error Messages"). Sign-ups are throttled per client
/// address. An invitation bound to the address is accepted once the address
/// is confirmed.
///
/// Returns the new account (`None` when the address had one), for callers
/// inside the server; the sign-up page answers the same either way.
pub async fn sign_up(
    state: &AppState,
    form: SignUpForm,
    addr: IpAddr,
) -> Result<Option<SignedIn>, AppError> {
    let now = state.clock.now();
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();

    let token = form
        .invitation
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let mut org_name: Option<OrgName> = None;
    let mut invitation = None;
    let mut conn = state.db.acquire().await?;
    match token {
        Some(token) => match invitations::find_by_token_hash(conn.conn(), &hash_token(token)).await? {
            Some(inv) => {
                let status = InvitationStatus::at(now, inv.expires_at, inv.accepted_at, inv.revoked_at);
                match status.problem() {
                    Some(problem) => errors.push(FieldError::new("invitation", problem)),
                    None => {
                        if let (Some(invited), Some(email)) = (&inv.email, &email) {
                            if invited != email.as_str() {
                                errors.push(FieldError::new("email", invitation_for(invited)));
                            }
                        }
                        invitation = Some(inv);
                    }
                }
            }
            None => errors.push(FieldError::new(
                "invitation",
                "This invitation link is not valid. Check that you copied all of it, or ask an admin for a new one.",
            )),
        },
        None => match OrgName::parse(form.org_name.as_deref().unwrap_or("")) {
            Ok(name) => org_name = Some(name),
            Err(m) => errors.push(FieldError::new("org_name", m)),
        },
    }
    drop(conn);

    let password = Password::parse(form.password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    if let Some(password) = &password {
        let mut context = vec![form.email.as_str()];
        if let Some(name) = &org_name {
            context.push(name.as_str());
        }
        if let Some(inv) = &invitation {
            context.push(inv.org_name.as_str());
        }
        if let Some(problem) = passwords::strength_problem(password, &context) {
            errors.push(FieldError::new("password", problem));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let policy =
        crate::domain::throttle::ThrottlePolicy::sign_up(state.config.sign_ups_per_address);
    throttle::admit_sign_up(&state.db, policy, addr, now).await?;
    let (email, password) = (email.expect("checked"), password.expect("checked"));

    // Hashed whether or not the address is registered, so that both answers
    // take the same time.
    let password_hash = passwords::hash(password).await?;
    let registered = {
        let mut conn = state.db.acquire().await?;
        users::find_by_email(conn.conn(), email.as_str())
            .await?
            .is_some()
    };
    if registered {
        tell_registered_address(state, &email);
        return Ok(None);
    }
    let mut tx = state.db.begin().await?;
    let user_id = match users::insert(tx.conn(), email.as_str(), &password_hash, now).await {
        Ok(id) => id,
        Err(e) if unique_violation(&e).as_deref() == Some("users_email_key") => {
            // A sign-up for the same address won a race: it is registered now.
            drop(tx);
            tell_registered_address(state, &email);
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let mut waiting_invitation = None;
    let org_id = if let Some(inv) = invitation {
        if inv.email.is_some() {
            // Bound to this address: joined once the address is confirmed.
            waiting_invitation = Some(inv.id);
            None
        } else {
            if !invitations::accept(tx.conn(), inv.id, user_id, now).await? {
                return Err(AppError::field(
                    "invitation",
                    "This invitation link was used or withdrawn a moment ago. Ask an admin for a new one.",
                ));
            }
            join(
                &mut tx,
                inv.org_id,
                Joiner {
                    user_id,
                    email: email.as_str(),
                    role: inv.role,
                    by: JoinedBy::Invitation,
                    addr: Some(addr),
                },
                now,
            )
            .await?;
            Some(inv.org_id)
        }
    } else {
        let name = org_name.expect("checked");
        Some(create_org_in(&mut tx, &name, (user_id, email.as_str()), Some(addr), now).await?)
    };
    tx.commit().await?;
    tracing::info!(user_id, org_id, "account created");
    super::email_verification::send_link(
        state,
        OpenVerification {
            user_id,
            email: email.as_str().to_owned(),
            invitation_id: waiting_invitation,
        },
    )
    .await?;
    Ok(Some(SignedIn {
        user_id,
        org_id,
        second_factor_due: false,
        credential_tag: String::new(),
    }))
}

/// Emails an address that already has an account that someone tried to
/// sign up with it.
fn tell_registered_address(state: &AppState, email: &Email) {
    let body = format!(
        "Someone tried to create a Portico account with {email}, which already has one.\n\n\
         If it was you, sign in at {url}/signin, or reset your password at {url}/forgot.\n\
         If it was not you, you need do nothing.",
        url = state.config.public_url,
    );
    tracing::info!("sign-up with an address that has an account");
    super::notify::mailer::send_soon(
        state,
        email.as_str().to_owned(),
        "Someone tried to sign up with your address",
        body,
    );
}

/// Inserts a user, turning a lost race on the email into the field error.
pub(crate) async fn insert_user(
    tx: &mut Tx,
    email: &Email,
    password_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64, AppError> {
    match users::insert(tx.conn(), email.as_str(), password_hash, now).await {
        Ok(id) => Ok(id),
        Err(e) if unique_violation(&e).as_deref() == Some("users_email_key") => {
            Err(AppError::field("email", EMAIL_TAKEN))
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates an organisation with a free slug and makes `user_id` (`email`)
/// its admin, recorded in its audit trail.
pub(crate) async fn create_org_in(
    tx: &mut Tx,
    name: &OrgName,
    (user_id, email): (i64, &str),
    addr: Option<IpAddr>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64, AppError> {
    let base = name.slug();
    let taken = organisations::slugs_like(tx.conn(), &base).await?;
    let slug = if !taken.contains(&base) {
        base
    } else {
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|s| !taken.contains(s))
            .expect("an unbounded range has a free slug")
    };
    let org_id = organisations::insert(tx.conn(), name.as_str(), &slug, now).await?;
    join(
        tx,
        org_id,
        Joiner {
            user_id,
            email,
            role: Role::Admin,
            by: JoinedBy::CreatingIt,
            addr,
        },
        now,
    )
    .await?;
    Ok(org_id)
}

/// Checks an email and password. Unknown emails and wrong passwords get the
/// same answer after the same work; failures are throttled and logged
/// (without the password). Only once the password is right does the answer
/// say whether a second factor is due, so it never tells which factor was
/// wrong before the password was right.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: String,
    addr: IpAddr,
) -> Result<SignedIn, AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        // Refused before any hashing, and before the throttle records
        // anything: no password this long was ever accepted.
        return Err(AppError::field("password", TOO_LONG));
    }
    let now = state.clock.now();
    let attempt = throttle::admit(&state.db, email.as_str(), addr, now).await?;

    let credentials = {
        let mut conn = state.db.acquire().await?;
        users::credentials(conn.conn(), email.as_str()).await?
    };
    let known = credentials.is_some();
    let (user_id, stored) = match credentials {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let credential_tag = stored
        .as_deref()
        .map(super::second_factor::credential_tag_of)
        .unwrap_or_default();
    // No connection is held while argon2 runs.
    let matches = passwords::verify(Password::unchecked(password), stored).await?;
    let Some(user_id) = user_id.filter(|_| matches) else {
        attempt.failed(&state.metrics);
        tracing::warn!(email = %email, %addr, known_account = known, "failed sign-in");
        return Err(AppError::BadCredentials);
    };
    let mut conn = state.db.acquire().await?;
    let second_factor_due = second_factors::any(conn.conn(), user_id).await?;
    let first_org = memberships::for_user(conn.conn(), user_id)
        .await?
        .first()
        .map(|m| m.org_id);
    drop(conn);
    if second_factor_due {
        attempt.first_factor_passed(&state.db).await?;
        tracing::info!(user_id, %addr, "password accepted; second factor due");
    } else {
        attempt.succeeded(&state.db).await?;
        tracing::info!(user_id, %addr, "signed in");
    }
    Ok(SignedIn {
        user_id,
        org_id: first_org,
        second_factor_due,
        credential_tag: if second_factor_due {
            credential_tag
        } else {
            String::new()
        },
    })
}

/// Checks a signed-in person's current password before a sensitive change
/// (`field` names the form field it came from): refused before any hashing
/// when empty or over [`MAX_PASSWORD_BYTES`], throttled and counted like a
/// sign-in, logged when wrong (without the password).
pub async fn check_current_password(
    state: &AppState,
    actor: &crate::server::authz::Actor,
    password: String,
    field: &'static str,
    addr: IpAddr,
) -> Result<(), AppError> {
    if password.is_empty() {
        return Err(AppError::field(field, "Enter your current password."));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::field(field, TOO_LONG));
    }
    let attempt = throttle::admit(&state.db, &actor.email, addr, state.clock.now()).await?;
    let stored = {
        let mut conn = state.db.acquire().await?;
        users::credentials(conn.conn(), &actor.email)
            .await?
            .map(|(_, hash)| hash)
    };
    if !passwords::verify(Password::unchecked(password), stored).await? {
        attempt.failed(&state.metrics);
        tracing::warn!(user_id = actor.user_id, %addr, "wrong current password");
        return Err(AppError::field(field, "That is not your current password."));
    }
    attempt.succeeded(&state.db).await
}

/// Changes the actor's password: the current one must be right (the attempt
/// is throttled like a sign-in), the new one must meet the rules. Every other
/// session of the account ends (OWASP Session Management Cheat Sheet,
/// "Renew the Session ID After Any Privilege Level Change"), and the account
/// is told by email. Returns how many other sessions ended.
pub async fn change_password(
    state: &AppState,
    actor: &crate::server::authz::Actor,
    current: String,
    new: String,
    keep_session: Option<&str>,
    addr: IpAddr,
) -> Result<u64, AppError> {
    let new = Password::parse(new).map_err(|m| AppError::field("new_password", m))?;
    if let Some(problem) = passwords::strength_problem(&new, &[actor.email.as_str()]) {
        return Err(AppError::field("new_password", problem));
    }
    check_current_password(state, actor, current, "current_password", addr).await?;
    let now = state.clock.now();
    let hash = passwords::hash(new).await?;
    let mut tx = state.db.begin().await?;
    users::set_password_hash(tx.conn(), actor.user_id, &hash).await?;
    let ended = account_sessions::end_all(tx.conn(), actor.user_id, keep_session).await?;
    tx.commit().await?;
    tracing::info!(
        user_id = actor.user_id,
        sessions_ended = ended,
        "password changed"
    );
    let body = format!(
        "The password of your Portico account {} was changed at {} (UTC) from {addr}. \
         Every other session of the account was signed out.\n\n\
         If this was not you, reset your password now and tell your organisation's admins.",
        actor.email,
        now.format("%Y-%m-%d %H:%M"),
    );
    super::notify::security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "Your password was changed",
        body,
    )
    .await;
    Ok(ended)
}
