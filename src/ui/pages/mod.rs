//! One module per page.

pub mod account;
pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod dashboard;
pub mod docs;
pub mod join;
pub mod keys;
pub mod members;
pub mod new_org;
pub mod not_found;
pub mod notifications;
pub mod password_reset;
pub mod policy;
pub mod review;
pub mod setup;
pub mod sign_in;
pub mod sign_up;
pub mod staff;
pub mod support;
pub mod usage;
pub mod verify_email;
