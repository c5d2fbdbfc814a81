//! Enumerations kept in the database as text, read back into their types.
//!
//! Each type here is stored by its `as_str()` form. A row is parsed into
//! these types once, where it is read (sqlx's `#[sqlx(try_from = "String")]`
//! on the row's field), so no service compares the stored words again. A
//! word this version does not know fails the row's read instead of being
//! guessed at, so a damaged row can never make a key work.

use super::{
    alerts::{AlertKind, AlertState},
    key_format::Environment,
    keys::Approval,
    org::{Role, StaffRole},
    verify::VerifyCode,
};
use std::fmt;

/// A stored word that names no value of its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStoredValue {
    /// What the word should have named, e.g. `environment`.
    pub kind: &'static str,
    /// The word found.
    pub found: String,
}

impl fmt::Display for UnknownStoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?} in the database", self.kind, self.found)
    }
}

impl std::error::Error for UnknownStoredValue {}

/// Implements `TryFrom<String>` for a type stored by its `as_str()` form,
/// trying each of the given values.
macro_rules! stored_as_text {
    ($type:ty, $kind:literal, $all:expr) => {
        impl TryFrom<String> for $type {
            type Error = UnknownStoredValue;

            fn try_from(found: String) -> Result<Self, UnknownStoredValue> {
                $all.into_iter()
                    .find(|value: &$type| value.as_str() == found)
                    .ok_or(UnknownStoredValue { kind: $kind, found })
            }
        }
    };
}

stored_as_text!(
    Environment,
    "environment",
    [Environment::Sandbox, Environment::Production]
);
stored_as_text!(
    Approval,
    "approval",
    [
        Approval::NotRequired,
        Approval::Pending,
        Approval::Approved,
        Approval::Rejected
    ]
);
stored_as_text!(VerifyCode, "verification outcome", VerifyCode::ALL);
stored_as_text!(AlertKind, "alert kind", AlertKind::ALL);
stored_as_text!(
    AlertState,
    "alert state",
    [
        AlertState::Open,
        AlertState::Acknowledged,
        AlertState::Resolved
    ]
);
stored_as_text!(Role, "role", Role::ALL);
stored_as_text!(
    StaffRole,
    "staff role",
    [StaffRole::Owner, StaffRole::Support]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_form_reads_back_and_unknown_words_are_refused() {
        for code in VerifyCode::ALL {
            assert_eq!(VerifyCode::try_from(code.as_str().to_owned()), Ok(code));
        }
        for env in [Environment::Sandbox, Environment::Production] {
            assert_eq!(Environment::try_from(env.as_str().to_owned()), Ok(env));
        }
        assert_eq!(
            Approval::try_from("rejected".to_owned()),
            Ok(Approval::Rejected)
        );
        let err = Approval::try_from("Approved".to_owned()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown approval \"Approved\" in the database"
        );
        assert!(Environment::try_from("live".to_owned()).is_err());
        assert!(Role::try_from(String::new()).is_err());
    }
}
