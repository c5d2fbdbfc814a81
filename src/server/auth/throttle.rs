//! Sign-in throttling, counted per account and per client address.

use crate::{
    domain::throttle::{describe_wait, seconds_until, Decision, ThrottlePolicy},
    error::AppError,
    server::db::{sign_in_failures, Conn, Db},
};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

fn account_subject(email: &str) -> String {
    format!("account:{email}")
}

fn address_subject(addr: IpAddr) -> String {
    format!("address:{addr}")
}

/// Refuses the attempt if the account or the address has failed too often.
pub async fn check(db: &Db, email: &str, addr: IpAddr, now: DateTime<Utc>) -> Result<(), AppError> {
    let mut conn = db.acquire().await?;
    let mut wait_until: Option<DateTime<Utc>> = None;
    for (subject, policy) in [
        (account_subject(email), ThrottlePolicy::ACCOUNT),
        (address_subject(addr), ThrottlePolicy::ADDRESS),
    ] {
        let failures = sign_in_failures::since(conn.conn(), &subject, now - policy.window).await?;
        if let Decision::WaitUntil(t) = policy.decide(&failures, now) {
            wait_until = Some(wait_until.map_or(t, |w| w.max(t)));
        }
    }
    match wait_until {
        None => Ok(()),
        Some(until) => {
            let wait = describe_wait(now, until);
            tracing::warn!(email, %addr, retry_in = %wait, "sign-in refused: too many failures");
            Err(AppError::TooManyAttempts {
                message: format!(
                    "Too many failed sign-ins. For your security, try again in {wait}."
                ),
                retry_after_secs: seconds_until(now, until) as u64,
            })
        }
    }
}

/// Counts a failed attempt against both the account and the address.
pub async fn record_failure(
    conn: &mut crate::server::db::PooledConn,
    email: &str,
    addr: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    sign_in_failures::record(conn.conn(), &account_subject(email), now).await?;
    sign_in_failures::record(conn.conn(), &address_subject(addr), now).await?;
    Ok(())
}

/// Forgets an account's failures after it signs in successfully.
pub async fn clear_account(conn: Conn<'_>, email: &str) -> Result<(), AppError> {
    sign_in_failures::clear(conn, &account_subject(email)).await?;
    Ok(())
}
