//! Pure types and rules shared by the server and the browser.
//!
//! Nothing here does I/O. Values are parsed once at the edge (`parse` returns a
//! `Result` with a sentence a user can act on) and then trusted everywhere else.

pub mod alerts;
pub mod audit;
pub mod email;
pub mod format;
pub mod invitation;
pub mod key_format;
pub mod keys;
pub mod next_path;
pub mod org;
pub mod password;
pub mod policy;
pub mod quota;
pub mod request_path;
pub mod scopes;
pub mod second_factor;
pub mod stored;
pub mod throttle;
pub mod verify;

pub use email::Email;
pub use org::{OrgName, Role, StaffRole};
pub use password::Password;
