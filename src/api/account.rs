//! Signing up, in and out, and who is signed in.

use crate::error::AppError;
pub use crate::model::account::{
    Me, OrgSummary, RecoveryCodes, SecondFactorChoice, SecondFactorStatus, SecurityKeyView,
    SecurityNoticeView, SessionView, TotpEnrolment, SIGN_IN_AGAIN,
};
use leptos::prelude::*;

/// Who is signed in, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::server::context::request_context;
    super::respond(
        async {
            let ctx = request_context().await?;
            let Some(actor) = ctx.maybe_actor().await? else {
                return Ok(None);
            };
            let active_org_id = ctx.active_membership(&actor).await?.map(|m| m.org_id);
            let unread_notifications = crate::server::notify::unread(&ctx.state, &actor).await?;
            Ok(Some(Me {
                unread_notifications,
                email_verified: actor.email_verified,
                second_factor: actor.second_factor,
                email: actor.email,
                staff: actor.staff,
                orgs: actor
                    .memberships
                    .into_iter()
                    .map(|m| OrgSummary {
                        id: m.org_id,
                        name: m.org_name,
                        slug: m.org_slug,
                        role: m.role,
                        requires_second_factor: m.requires_second_factor,
                    })
                    .collect(),
                active_org_id,
            }))
        }
        .await,
    )
}

/// Signs up: creates an account (with a new organisation, or through an
/// invitation) and emails a link to confirm the address, or tells an
/// address that already has an account. Either way the page then says to
/// check the inbox: sign-up does not sign in.
#[server(endpoint = "sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    org_name: Option<String>,
    invitation: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{accounts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let form = accounts::SignUpForm {
                email,
                password,
                org_name,
                invitation,
            };
            // The same answer whether or not the address had an account.
            let _new_account = accounts::sign_up(&ctx.state, form, ctx.client_addr).await?;
            leptos_axum::redirect("/signup?sent=1");
            Ok(())
        }
        .await,
    )
}

/// Signs in and goes to `next` (a local path) or the dashboard; or, when
/// the account has a second factor, to the page that asks for it.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        domain::next_path::{encode_component, safe_next_path},
        server::{accounts, auth::session::SecondFactorDue, context::request_context},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let signed_in =
                accounts::sign_in(&ctx.state, &email, password, ctx.client_addr).await?;
            let next = safe_next_path(next.as_deref());
            if signed_in.second_factor_due {
                let due = SecondFactorDue {
                    user_id: signed_in.user_id,
                    active_org: signed_in.org_id,
                    credential_tag: signed_in.credential_tag,
                };
                ctx.session
                    .await_second_factor(&ctx.state.db, &due, ctx.state.clock.now())
                    .await?;
                leptos_axum::redirect(&format!("/signin/code?next={}", encode_component(&next)));
                return Ok(());
            }
            ctx.sign_in_as(signed_in.user_id, signed_in.org_id).await?;
            leptos_axum::redirect(&next);
            Ok(())
        }
        .await,
    )
}

/// The second step of signing in: a code from the authenticator app or a
/// recovery code, within five minutes of the password. Then goes to `next`
/// (a local path) or the dashboard.
#[server(endpoint = "sign_in_code")]
pub async fn sign_in_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use crate::{
        domain::next_path::safe_next_path,
        server::{context::request_context, second_factor},
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let due = ctx.second_factor_due().await?;
            let checked = second_factor::check_at_sign_in(
                &ctx.state,
                due.user_id,
                &due.credential_tag,
                &code,
                ctx.client_addr,
            )
            .await;
            if let Err(AppError::Invalid(_)) = &checked {
                let shaped = crate::domain::second_factor::SecondFactorCode::parse(&code).is_ok();
                if shaped && !ctx.session.warned_of_wrong_code().await? {
                    second_factor::warn_of_failed_code(&ctx.state, due.user_id, ctx.client_addr)
                        .await?;
                }
            }
            checked?;
            ctx.sign_in_as(due.user_id, due.active_org).await?;
            leptos_axum::redirect(&safe_next_path(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// The second factors that can finish the sign-in waiting on this browser
/// (between the password and the code), or `None` when none waits.
#[server(endpoint = "sign_in_code_due")]
pub async fn sign_in_code_due() -> Result<Option<SecondFactorChoice>, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            match ctx.session.second_factor_due(ctx.state.clock.now()).await? {
                Some(due) => second_factor::choice(&ctx.state, due.user_id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
        .await,
    )
}

/// Signs out: the session is deleted on the server.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::context::request_context;
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.sign_out().await?;
            leptos_axum::redirect("/signin");
            Ok(())
        }
        .await,
    )
}

/// Where the signed-in person is signed in, this session first.
#[server(endpoint = "account_sessions")]
pub async fn account_sessions() -> Result<Vec<SessionView>, AppError> {
    use crate::server::{context::request_context, sessions};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            sessions::list(&ctx.state, &actor, current.as_deref()).await
        }
        .await,
    )
}

/// Ends one of the signed-in person's other sessions.
#[server(endpoint = "end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, sessions};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            sessions::end(&ctx.state, &actor, id.trim(), current.as_deref()).await
        }
        .await,
    )
}

/// Ends every session of the signed-in person but this one. Returns how
/// many ended.
#[server(endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    use crate::server::{context::request_context, sessions};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            sessions::end_others(&ctx.state, &actor, current.as_deref()).await
        }
        .await,
    )
}

/// Changes the signed-in person's password (the current one is needed) and
/// ends their other sessions. Returns how many other sessions ended.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<u64, AppError> {
    use crate::server::{accounts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            accounts::change_password(
                &ctx.state,
                &actor,
                current_password,
                new_password,
                current.as_deref(),
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Sends a password reset link to the address if an account uses it; the
/// answer is the same either way.
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, password_reset};
    super::respond(
        async {
            let ctx = request_context().await?;
            password_reset::request(&ctx.state, &email).await
        }
        .await,
    )
}

/// Whether a password reset link still works.
#[server(endpoint = "password_reset_open")]
pub async fn password_reset_open(token: String) -> Result<bool, AppError> {
    use crate::server::{context::request_context, password_reset};
    super::respond(
        async {
            let ctx = request_context().await?;
            password_reset::is_open(&ctx.state, &token).await
        }
        .await,
    )
}

/// Sets a new password through a reset link; every session of the account
/// ends, and the person signs in with the new password.
#[server(endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, password_reset};
    super::respond(
        async {
            let ctx = request_context().await?;
            password_reset::complete(&ctx.state, &token, password).await?;
            ctx.sign_out().await?;
            leptos_axum::redirect("/signin?reset=done");
            Ok(())
        }
        .await,
    )
}

/// Whether an email confirmation link still works.
#[server(endpoint = "email_confirmation_open")]
pub async fn email_confirmation_open(token: String) -> Result<bool, AppError> {
    use crate::server::{context::request_context, email_verification};
    super::respond(
        async {
            let ctx = request_context().await?;
            email_verification::is_open(&ctx.state, &token).await
        }
        .await,
    )
}

/// Confirms an address through its emailed link, then goes to the
/// dashboard when this browser is signed in to that account, or to sign-in.
#[server(endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, email_verification};
    super::respond(
        async {
            let ctx = request_context().await?;
            let confirmed =
                email_verification::confirm(&ctx.state, &token, ctx.client_addr).await?;
            let signed_in_here = ctx
                .maybe_actor()
                .await?
                .is_some_and(|a| a.user_id == confirmed.user_id);
            if signed_in_here {
                if let Some(org_id) = confirmed.joined_org {
                    ctx.session.set_active_org(org_id).await?;
                }
                leptos_axum::redirect("/?confirmed=1");
            } else {
                leptos_axum::redirect("/signin?confirmed=1");
            }
            Ok(())
        }
        .await,
    )
}

/// Sends the signed-in person a new confirmation link.
#[server(endpoint = "resend_confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    use crate::server::{context::request_context, email_verification};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            email_verification::resend(&ctx.state, &actor).await
        }
        .await,
    )
}

/// Starts changing the signed-in person's address: the current password is
/// needed; the new address must confirm by its emailed link.
#[server(endpoint = "change_email")]
pub async fn change_email(new_email: String, password: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, email_verification};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            email_verification::request_change(
                &ctx.state,
                &actor,
                &new_email,
                password,
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// The signed-in person's second factors.
#[server(endpoint = "second_factor_status")]
pub async fn get_second_factor_status() -> Result<SecondFactorStatus, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            second_factor::status(&ctx.state, &actor).await
        }
        .await,
    )
}

/// Starts setting up an authenticator app: its secret and QR code, shown
/// once.
#[server(endpoint = "begin_totp")]
pub async fn begin_totp() -> Result<TotpEnrolment, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            second_factor::begin_totp(&ctx.state, &actor).await
        }
        .await,
    )
}

/// Finishes setting up an authenticator app with its first code and the
/// current password; returns the recovery codes, shown once.
#[server(endpoint = "confirm_totp")]
pub async fn confirm_totp(code: String, password: String) -> Result<RecoveryCodes, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Turning on two-factor authentication")?;
            let actor = ctx.actor().await?;
            let current = ctx.session.handle().await?;
            second_factor::confirm_totp(
                &ctx.state,
                &actor,
                &code,
                password,
                current.as_deref(),
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}

/// Turns two-factor authentication off (the current password is needed).
#[server(endpoint = "turn_off_second_factor")]
pub async fn turn_off_second_factor(password: String) -> Result<(), AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            second_factor::turn_off(&ctx.state, &actor, password, ctx.client_addr).await
        }
        .await,
    )
}

/// Replaces the recovery codes (the current password is needed); the new
/// ones are shown once.
#[server(endpoint = "replace_recovery_codes")]
pub async fn replace_recovery_codes(password: String) -> Result<RecoveryCodes, AppError> {
    use crate::server::{context::request_context, second_factor};
    super::respond(
        async {
            let ctx = request_context().await?;
            ctx.refuse_plain_form_post("Making new recovery codes")?;
            let actor = ctx.actor().await?;
            second_factor::replace_recovery_codes(&ctx.state, &actor, password, ctx.client_addr)
                .await
        }
        .await,
    )
}

/// What the signed-in person was told about their account's security,
/// newest first (the latest 20).
#[server(endpoint = "security_activity")]
pub async fn security_activity() -> Result<Vec<SecurityNoticeView>, AppError> {
    use crate::server::{context::request_context, notify::security_notice};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            security_notice::recent(&ctx.state, actor.user_id).await
        }
        .await,
    )
}
