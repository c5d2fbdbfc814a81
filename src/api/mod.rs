//! Server functions: the calls the pages make.
//!
//! Each one is thin: it reads its input, finds out who is asking, calls a
//! service in `server/`, and maps the outcome. The types they exchange live
//! in `model/`, below both sides; each module here re-exports its own.

pub mod account;
pub mod alerts;
pub mod approvals;
pub mod keys;
pub mod notifications;
pub mod orgs;
pub mod policy;
pub mod review;
pub mod security_keys;
pub mod setup;
pub mod staff;
pub mod support;
pub mod usage;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// Finishes a server function: on error, sets the HTTP status that goes
/// with it (see [`crate::server::errors::set_error_status`]).
#[cfg(feature = "ssr")]
pub(crate) fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        crate::server::errors::set_error_status(err);
    }
    result
}
