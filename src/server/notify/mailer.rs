//! Sends notification emails over SMTP (lettre), from the stored rows whose
//! `email_state` is `pending`: woken after each commit that adds some, and
//! every 30 seconds to retry. A message that fails five times is marked
//! `failed` and logged; it stays in the portal either way.

use crate::server::{config::SmtpConfig, db, db::notifications::NotificationRow, state::AppState};
use lettre::{
    message::header::ContentType, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

/// Attempts before a message is given up on.
const MAX_ATTEMPTS: i32 = 5;

/// A handle that wakes the mailer.
#[derive(Clone, Debug, Default)]
pub struct Mailer {
    wake: Arc<Notify>,
}

impl Mailer {
    /// Tells the mailer there may be mail to send (cheap; no-op without SMTP).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the mailer when SMTP is configured.
pub fn spawn(state: &AppState) {
    let Some(smtp) = state.config.smtp.clone() else {
        return;
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url) {
        Ok(builder) => builder.timeout(Some(Duration::from_secs(15))).build(),
        Err(e) => {
            tracing::error!(error = %e, "PORTICO_SMTP_URL cannot be used; emails will not be sent");
            return;
        }
    };
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = send_pending(&state, &smtp, &transport).await {
                tracing::warn!(error = %e, "could not read the email outbox");
            }
            tokio::select! {
                () = state.mailer.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    });
}

/// Sends one message outside the outbox in the background, so that the
/// request that asked for it answers without waiting for the SMTP server
/// (and takes as long whether or not a message is sent). Failures are
/// logged by [`send_now`].
pub fn send_soon(state: &AppState, to: String, subject: &'static str, body: String) {
    let state = state.clone();
    tokio::spawn(async move {
        send_now(&state, &to, subject, &body).await;
    });
}

/// Sends one message now, outside the outbox (for invitation links, which
/// are secrets and are never stored). Returns whether it went; failures
/// are logged without the body.
pub async fn send_now(state: &AppState, to: &str, subject: &str, body: &str) -> bool {
    let Some(smtp) = state.config.smtp.as_ref() else {
        return false;
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url) {
        Ok(builder) => builder.timeout(Some(Duration::from_secs(15))).build(),
        Err(e) => {
            tracing::error!(error = %e, "PORTICO_SMTP_URL cannot be used");
            return false;
        }
    };
    let message = to.parse().map_err(|e| format!("{e}")).and_then(|to| {
        Message::builder()
            .from(smtp.from.clone())
            .to(to)
            .subject(format!("[Portico] {subject}"))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())
    });
    match message {
        Ok(message) => match transport.send(message).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not send an email");
                false
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not build an email");
            false
        }
    }
}

async fn send_pending(
    state: &AppState,
    smtp: &SmtpConfig,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> Result<(), sqlx::Error> {
    loop {
        let batch = {
            let mut conn = state.db.acquire().await?;
            db::notifications::email_pending(conn.conn(), 50).await?
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut retry_later = false;
        for row in &batch {
            let outcome = match message(state, smtp, row) {
                Ok(message) => transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            let next = match outcome {
                Ok(()) => "sent",
                Err(e) if row.email_attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(notification = row.id, error = %e, "gave up emailing a notification");
                    "failed"
                }
                Err(e) => {
                    tracing::warn!(notification = row.id, error = %e, "could not email a notification; will retry");
                    retry_later = true;
                    "pending"
                }
            };
            let mut conn = state.db.acquire().await?;
            db::notifications::mark_emailed(conn.conn(), row.id, next, state.clock.now()).await?;
        }
        if retry_later {
            return Ok(());
        }
    }
}

fn message(state: &AppState, smtp: &SmtpConfig, row: &NotificationRow) -> Result<Message, String> {
    let to = row
        .email
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    let link = format!("{}{}", state.config.public_url, row.link);
    let text = format!(
        "{}\n\nOrganisation: {}\n\n{}\n\nOpen it in Portico: {}\n\nYou get this email because you own this key or administer its organisation.\n",
        row.subject, row.org_name, row.body, link
    );
    Message::builder()
        .from(smtp.from.clone())
        .to(to)
        .subject(format!("[Portico] {}", row.subject))
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_woken_mailer_remembers_the_wake_up() {
        let mailer = Mailer::default();
        mailer.wake();
        // The permit is stored: the next wait returns at once.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(100), mailer.wake.notified())
                .await
                .expect("woken");
        });
    }
}
