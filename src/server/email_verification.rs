//! Proving an address: single-use links for a new account's address and for
//! the new address of an email change, valid for a day, stored as hashes.
//!
//! Without SMTP the link is printed on the server's standard output for the
//! operator, as the setup link is; it never goes into the log.

use super::{
    authz::Actor,
    db::{
        email_verifications::{self, OpenVerification},
        invitations, unique_violation, users,
    },
    members::{join, JoinedBy, Joiner},
    notify::mailer,
    secrets::tokens::{hash_token, NewToken},
    state::AppState,
};
use crate::{
    domain::{invitation::InvitationStatus, Email},
    error::AppError,
};
use chrono::Duration;

/// How long a verification link works.
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// At most one link a minute per account.
pub const RESEND_AFTER: Duration = Duration::minutes(1);

use crate::model::account::CONFIRMATION_LINK_CLOSED as LINK_CLOSED;

/// Makes a link for `open` and sends it (or prints it without SMTP).
pub async fn send_link(state: &AppState, open: OpenVerification) -> Result<(), AppError> {
    let now = state.clock.now();
    let token = NewToken::generate();
    {
        let mut conn = state.db.acquire().await?;
        email_verifications::insert(conn.conn(), token.hash(), &open, now, now + LINK_LIFETIME)
            .await?;
    }
    let link = format!(
        "{}/verify-email?token={}",
        state.config.public_url,
        token.reveal()
    );
    if state.config.smtp.is_none() {
        println!(
            "Email confirmation link for {} (no SMTP configured):\n\n    {link}\n",
            open.email
        );
        return Ok(());
    }
    let body = format!(
        "Confirm that {} is your address for Portico by opening this link within a day:\n\n    {link}\n\n\
         If you did not sign up for Portico or change your address, ignore this email.",
        open.email
    );
    mailer::send_soon(
        state,
        open.email.clone(),
        "Confirm your email address",
        body,
    );
    Ok(())
}

/// Sends the signed-in person a new link for their address. At most one a
/// minute; a verified address needs none.
pub async fn resend(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    if actor.email_verified {
        return Err(AppError::Conflict(
            "Your email address is already confirmed.".to_owned(),
        ));
    }
    let now = state.clock.now();
    let invitation_id = {
        let mut conn = state.db.acquire().await?;
        if email_verifications::last_sent(conn.conn(), actor.user_id)
            .await?
            .is_some_and(|at| now - at < RESEND_AFTER)
        {
            return Err(AppError::Conflict(
                "We sent a link less than a minute ago. Check your inbox (and spam folder), or try again in a minute.".to_owned(),
            ));
        }
        email_verifications::pending_invitation(conn.conn(), actor.user_id, &actor.email).await?
    };
    send_link(
        state,
        OpenVerification {
            user_id: actor.user_id,
            email: actor.email.clone(),
            invitation_id,
        },
    )
    .await
}

/// Whether `token` is an open link.
pub async fn is_open(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(
        email_verifications::open(conn.conn(), &hash_token(token), state.clock.now())
            .await?
            .is_some(),
    )
}

/// What confirming a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The account.
    pub user_id: i64,
    /// The organisation joined through a waiting invitation, if any.
    pub joined_org: Option<i64>,
}

/// Confirms the address a link proves: it becomes the account's verified
/// address (for an email change, the old one is told), and an invitation
/// bound to it that the account signed up through is accepted.
pub async fn confirm(
    state: &AppState,
    token: &str,
    addr: std::net::IpAddr,
) -> Result<Confirmed, AppError> {
    let token_hash = hash_token(token);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(open) = email_verifications::open(tx.conn(), &token_hash, now).await? else {
        return Err(AppError::Conflict(LINK_CLOSED.to_owned()));
    };
    let user = users::find(tx.conn(), open.user_id)
        .await?
        .ok_or_else(|| AppError::Conflict(LINK_CLOSED.to_owned()))?;
    if !email_verifications::consume(tx.conn(), &token_hash, now).await? {
        return Err(AppError::Conflict(LINK_CLOSED.to_owned()));
    }
    match users::set_verified_email(tx.conn(), user.id, &open.email, now).await {
        Ok(()) => {}
        Err(e) if unique_violation(&e).is_some() => {
            return Err(AppError::Conflict(format!(
                "Another account now uses {}, so this account cannot move to it.",
                open.email
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let mut joined_org = None;
    if let Some(invitation) = match open.invitation_id {
        Some(id) => invitations::find(tx.conn(), id).await?,
        None => None,
    } {
        let usable = InvitationStatus::at(
            now,
            invitation.expires_at,
            invitation.accepted_at,
            invitation.revoked_at,
        )
        .problem()
        .is_none()
            && invitation.email.as_deref() == Some(open.email.as_str());
        if usable && invitations::accept(tx.conn(), invitation.id, user.id, now).await? {
            join(
                &mut tx,
                invitation.org_id,
                Joiner {
                    user_id: user.id,
                    email: &open.email,
                    role: invitation.role,
                    by: JoinedBy::Invitation,
                    addr: Some(addr),
                },
                now,
            )
            .await?;
            joined_org = Some(invitation.org_id);
        }
    }
    tx.commit().await?;
    tracing::info!(
        user_id = user.id,
        changed = user.email != open.email,
        "email address confirmed"
    );
    if user.email != open.email {
        let body = format!(
            "The address of your Portico account changed from {} to {} at {} (UTC). \
             Mail about the account now goes to the new address.\n\n\
             If you did not make this change, reset your password from the new address's owner \
             or tell your organisation's admins at once.",
            user.email,
            open.email,
            now.format("%Y-%m-%d %H:%M"),
        );
        // To the old address (the new one confirmed it).
        super::notify::security_notice::tell(
            state,
            user.id,
            &user.email,
            "Your email address was changed",
            body,
        )
        .await;
    }
    Ok(Confirmed {
        user_id: user.id,
        joined_org,
    })
}

/// Starts changing the actor's address to `new_email`: the current password
/// is needed, the new address gets a link, the old one is told. The address
/// changes only when the link is opened.
pub async fn request_change(
    state: &AppState,
    actor: &Actor,
    new_email: &str,
    password: String,
    addr: std::net::IpAddr,
) -> Result<(), AppError> {
    let new_email = Email::parse(new_email).map_err(|m| AppError::field("new_email", m))?;
    if new_email.as_str() == actor.email {
        return Err(AppError::field(
            "new_email",
            "That is already your address.",
        ));
    }
    super::accounts::check_current_password(state, actor, password, "password", addr).await?;
    // Whether another account uses the new address is not said here; its
    // owner is sent nothing (the link could not be used anyway), while the
    // account's own address is told as always.
    let taken = {
        let mut conn = state.db.acquire().await?;
        users::find_by_email(conn.conn(), new_email.as_str())
            .await?
            .is_some()
    };
    if taken {
        tracing::info!(
            user_id = actor.user_id,
            "email change to an address in use; no link sent"
        );
    } else {
        send_link(
            state,
            OpenVerification {
                user_id: actor.user_id,
                email: new_email.as_str().to_owned(),
                invitation_id: None,
            },
        )
        .await?;
    }
    let body = format!(
        "Someone signed in to your Portico account {} asked to change its address to {}. \
         The change happens only when that address confirms it.\n\n\
         If this was not you, change your password now.",
        actor.email,
        new_email.as_str(),
    );
    super::notify::security_notice::tell(
        state,
        actor.user_id,
        &actor.email,
        "A change of your email address was asked for",
        body,
    )
    .await;
    Ok(())
}
