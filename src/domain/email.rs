//! Email addresses, the identity users sign in with.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest address SMTP can deliver to (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A syntactically valid email address, trimmed and lower-cased so that one
/// mailbox is one account however it is typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Parses what a person typed into an email field.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter your email address.".to_owned());
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(format!(
                "That email address is too long (at most {MAX_EMAIL_LEN} characters)."
            ));
        }
        let lowered = trimmed.to_lowercase();
        let valid = email_address::EmailAddress::parse_with_options(
            &lowered,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .is_ok();
        // A mailbox on the public internet needs a dotted domain.
        let dotted_domain = lowered
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
        if !valid || !dotted_domain {
            return Err("Enter an email address like name@example.com.".to_owned());
        }
        Ok(Self(lowered))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused_with_an_example() {
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
            "ada@example.",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert!(err.contains("name@example.com"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_empty_address_asks_for_one() {
        assert_eq!(
            Email::parse("   ").unwrap_err(),
            "Enter your email address."
        );
    }

    #[test]
    fn overlong_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).unwrap_err().contains("too long"));
    }
}
