//! The wire types: what the pages (through `api/`) and the services (in
//! `server/`) exchange, serialised between browser and server. Both sides
//! import them from here, so neither reaches into the other for a type.

pub mod account;
pub mod alerts;
pub mod approvals;
pub mod keys;
pub mod notifications;
pub mod orgs;
pub mod page;
pub mod policy;
pub mod review;
pub mod staff;
pub mod support;
pub mod usage;
