//! The one error type that crosses the wire between server and browser.
//!
//! Every variant a user can cause carries a sentence they can act on; the
//! `Internal` variant carries only a reference, because the detail is logged on
//! the server and never shown.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// A problem with one form field, shown next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's `name`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// A problem with the field called `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in a request, as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the user must sign in.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// A sign-in with an email and password that do not match an account.
    /// Deliberately the same whether the email is known or not.
    #[error("That email and password do not match. Check both and try again.")]
    BadCredentials,
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist, or the user may not know it exists.
    #[error("{0}")]
    NotFound(String),
    /// One or more fields are wrong; each message belongs next to its field.
    #[error("{}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// The request is well formed but clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; the message says when to try again.
    #[error("{message}")]
    TooManyAttempts {
        /// The sentence shown to the user, naming the wait.
        message: String,
        /// Seconds until another attempt may succeed.
        retry_after_secs: u64,
    },
    /// A cross-site request was refused.
    #[error("This request came from another site and was refused.")]
    CrossSite,
    /// A server-side failure; the detail is in the server log under `reference`.
    #[error("Something went wrong (ref {reference}). Please try again; if it keeps happening, give this reference to support.")]
    Internal {
        /// Correlates the message with the server log line.
        reference: String,
    },
    /// The request did not reach the server, or its answer could not be read.
    #[error("{0}")]
    Transport(String),
}

fn summary(errors: &[FieldError]) -> String {
    match errors {
        [] => "Please check the form.".to_owned(),
        [one] => one.message.clone(),
        many => many
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl AppError {
    /// A single field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for `field`, if this error names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The message to show above a form: `None` for field errors (they are
    /// shown next to their fields), the whole sentence otherwise.
    pub fn form_message(&self) -> Option<String> {
        match self {
            Self::Invalid(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status that goes with this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::BadCredentials => 401,
            Self::Forbidden(_) | Self::CrossSite => 403,
            Self::NotFound(_) => 404,
            Self::Invalid(_) => 422,
            Self::Conflict(_) => 409,
            Self::TooManyAttempts { .. } => 429,
            Self::Internal { .. } => 500,
            Self::Transport(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let err = match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Transport(
                "Portico could not be reached. Check your connection and try again.".to_owned(),
            ),
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => Self::Transport(
                "The form could not be read. Reload the page and try again.".to_owned(),
            ),
            other => Self::Transport(format!(
                "The request failed ({other}). Reload the page and try again."
            )),
        };
        // On the server this is a request the client got wrong: say so with 400.
        #[cfg(feature = "ssr")]
        crate::server::errors::set_error_status(&err);
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_are_found_by_field_and_not_shown_as_form_message() {
        let err = AppError::Invalid(vec![
            FieldError::new("email", "Enter an email address."),
            FieldError::new("password", "Too short."),
        ]);
        assert_eq!(err.message_for("password").as_deref(), Some("Too short."));
        assert_eq!(err.message_for("org_name"), None);
        assert_eq!(err.form_message(), None);
        assert_eq!(err.to_string(), "Enter an email address. Too short.");
    }

    #[test]
    fn internal_errors_show_only_the_reference() {
        let err = AppError::Internal {
            reference: "ab12cd34".into(),
        };
        let shown = err.form_message().unwrap();
        assert!(shown.starts_with("Something went wrong (ref ab12cd34)"));
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn errors_round_trip_through_json() {
        let err = AppError::TooManyAttempts {
            message: "Try again in 3 minutes.".into(),
            retry_after_secs: 180,
        };
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), err);
    }
}
