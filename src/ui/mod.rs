//! Pages and components. No SQL and no secrets: everything comes through
//! the server functions in `api`.

pub mod audit;
pub mod charts;
pub use crate::domain::format;
pub mod forms;
pub mod keys;
pub mod layout;
pub mod link_gate;
pub mod pager;
pub mod pages;
pub mod session;
pub mod shown_once;
pub mod webauthn;
