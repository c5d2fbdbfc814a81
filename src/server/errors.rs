//! Turning server-side failures into what a user may see.

use crate::error::AppError;
use std::fmt::Display;

/// Logs an unexpected failure with a short reference and returns the
/// generic error that shows only that reference.
pub fn internal(err: impl Display) -> AppError {
    let reference = hex::encode(crate::server::secrets::tokens::random_bytes::<4>());
    tracing::error!(reference = %reference, error = %err, "internal error");
    AppError::Internal { reference }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        internal(format_args!("database: {err}"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        internal(format_args!("session store: {err}"))
    }
}

/// Sets the HTTP status (and `Retry-After` when throttled) that goes with
/// `err` on the current server function's response. Plain HTML form posts
/// keep the redirect Leptos gives them, so the page can show the error.
pub fn set_error_status(err: &AppError) {
    use axum::http::{header, HeaderValue, StatusCode};
    use leptos::prelude::use_context;

    let plain_form_post = use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    let Some(options) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    if plain_form_post {
        return;
    }
    options.set_status(
        StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let AppError::TooManyAttempts {
        retry_after_secs, ..
    } = err
    {
        if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            options.insert_header(header::RETRY_AFTER, value);
        }
    }
}
