//! The key lifecycle service, one module per job: issuing keys, the read
//! model, each family of lifecycle commands, and the one seam every change
//! goes through ([`change`]), which records, notifies and announces it.

pub mod approvals;
pub mod change;
pub mod edit;
pub mod expiry;
pub(crate) mod family;

pub mod issue;
pub mod quiet;
pub mod read;
pub mod revocation;
pub mod rotation;
pub mod row;
pub mod suspension;

pub use edit::{set_quota, update, KeyChanges};
pub use expiry::record_expiries;
pub use issue::{create, form_data, NewKeyForm};
pub use read::{counts, detail, list, KeyCursor, KeyFilter, KeySort, KEY_PAGE_SIZE};
pub(crate) use read::{detail_of, summary};
pub use revocation::revoke;
pub use rotation::{narrow_to_used, retire, rotate, RotateForm};
pub(crate) use row::{display_of, find_row, load_for, status_of, SYSTEM_ACTOR};
