//! Sign-in throttling, counted per account and per client address.
//!
//! Every attempt is admitted and counted in one transaction, before its
//! password is checked: the attempt is recorded as a failure up front and
//! forgotten if it succeeds. Concurrent guesses therefore meet each other's
//! failures exactly as serial ones do (OWASP Authentication Cheat Sheet,
//! "Protect against automated attacks").

use crate::{
    domain::throttle::{describe_wait, seconds_until, Decision, ThrottlePolicy},
    error::AppError,
    server::db::{sign_in_failures, Db},
};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

fn account_subject(email: &str) -> String {
    format!("account:{email}")
}

fn address_subject(addr: IpAddr) -> String {
    format!("address:{addr}")
}

/// An admitted attempt, counted as a failure until [`Attempt::succeeded`].
#[must_use = "an attempt stays counted as a failure unless it succeeded"]
#[derive(Debug)]
pub struct Attempt {
    account: String,
    account_row: i64,
    address_row: i64,
}

/// Admits an attempt on `email` from `addr`, or refuses it with the wait the
/// policies ask for if the account or the address has failed too often.
///
/// The decision and the recording of the attempt happen under one lock per
/// subject (account first, then address, so two attempts never wait on each
/// other in a cycle); a refused attempt records nothing.
pub async fn admit(
    db: &Db,
    email: &str,
    addr: IpAddr,
    now: DateTime<Utc>,
) -> Result<Attempt, AppError> {
    let mut tx = db.begin().await?;
    let mut wait_until: Option<DateTime<Utc>> = None;
    let mut rows = Vec::with_capacity(2);
    for (subject, policy) in [
        (account_subject(email), ThrottlePolicy::ACCOUNT),
        (address_subject(addr), ThrottlePolicy::ADDRESS),
    ] {
        sign_in_failures::lock(tx.conn(), &subject).await?;
        let failures = sign_in_failures::since(tx.conn(), &subject, now - policy.window).await?;
        if let Decision::WaitUntil(t) = policy.decide(&failures, now) {
            wait_until = Some(wait_until.map_or(t, |w| w.max(t)));
        }
        rows.push(sign_in_failures::record(tx.conn(), &subject, now).await?);
    }
    if let Some(until) = wait_until {
        drop(tx); // rolls back: a refused attempt is not a failure
        let wait = describe_wait(now, until);
        tracing::warn!(email, %addr, retry_in = %wait, "sign-in refused: too many failures");
        return Err(AppError::TooManyAttempts {
            message: format!(
                "Too many failed attempts for this account or from your network. For your security, try again in {wait}."
            ),
            retry_after_secs: seconds_until(now, until) as u64,
        });
    }
    tx.commit().await?;
    Ok(Attempt {
        account: account_subject(email),
        account_row: rows[0],
        address_row: rows[1],
    })
}

impl Attempt {
    /// The attempt succeeded: the account's failures are forgotten, and this
    /// attempt no longer counts against the address.
    pub async fn succeeded(self, db: &Db) -> Result<(), AppError> {
        let mut conn = db.acquire().await?;
        sign_in_failures::clear(conn.conn(), &self.account).await?;
        sign_in_failures::forget(conn.conn(), self.address_row).await?;
        Ok(())
    }

    /// The password was right but a second factor is still to come: this
    /// attempt no longer counts, but the account's earlier failures stay,
    /// so that knowing the password does not reset the count of wrong
    /// second-factor codes.
    pub async fn first_factor_passed(self, db: &Db) -> Result<(), AppError> {
        let mut conn = db.acquire().await?;
        sign_in_failures::forget(conn.conn(), self.account_row).await?;
        sign_in_failures::forget(conn.conn(), self.address_row).await?;
        Ok(())
    }

    /// The attempt failed: it stays counted, and the failure is counted in
    /// the instance's metrics too.
    pub fn failed(self, metrics: &crate::server::ops::metrics::Metrics) {
        metrics.sign_in_failed();
    }
}

/// Admits a sign-up from `addr`, or refuses it with the wait `policy`
/// ([`ThrottlePolicy::sign_up`]) asks for. Every admitted sign-up is counted.
pub async fn admit_sign_up(
    db: &Db,
    policy: ThrottlePolicy,
    addr: IpAddr,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let subject = format!("sign-up:{addr}");
    let mut tx = db.begin().await?;
    sign_in_failures::lock(tx.conn(), &subject).await?;
    let earlier = sign_in_failures::since(tx.conn(), &subject, now - policy.window).await?;
    if let Decision::WaitUntil(until) = policy.decide(&earlier, now) {
        drop(tx);
        let wait = describe_wait(now, until);
        tracing::warn!(%addr, retry_in = %wait, "sign-up refused: too many from this address");
        return Err(AppError::TooManyAttempts {
            message: format!("Too many sign-ups from your network. Try again in {wait}."),
            retry_after_secs: seconds_until(now, until) as u64,
        });
    }
    sign_in_failures::record(tx.conn(), &subject, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets an account's failures (its password was just reset by email).
pub async fn clear_account(conn: crate::server::db::Conn<'_>, email: &str) -> Result<(), AppError> {
    sign_in_failures::clear(conn, &account_subject(email)).await?;
    Ok(())
}
