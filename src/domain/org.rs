//! Organisations and the roles people hold in them and on the platform.

use super::request_path::is_invisible;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most characters an organisation name may have.
pub const MAX_ORG_NAME_CHARS: usize = 80;

/// An organisation's display name: trimmed, 2 to 80 characters, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgName(String);

impl OrgName {
    /// Parses what a person typed as an organisation name.
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = input.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
        let n = name.chars().count();
        if n == 0 {
            return Err("Name your organisation, for example your company's name.".to_owned());
        }
        if n < 2 {
            return Err("Use at least 2 characters for the organisation name.".to_owned());
        }
        if n > MAX_ORG_NAME_CHARS {
            return Err(format!(
                "Use at most {MAX_ORG_NAME_CHARS} characters for the organisation name."
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("The organisation name cannot contain control characters.".to_owned());
        }
        if !name.chars().any(char::is_alphanumeric) {
            return Err("The organisation name needs at least one letter or digit.".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A URL- and CLI-friendly identifier derived from the name: lower-case
    /// ASCII letters, digits and single hyphens (`Acme Corp.` → `acme-corp`).
    /// Names with no ASCII letters or digits get `org`.
    pub fn slug(&self) -> String {
        let mut slug = String::new();
        for c in self.0.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let slug: String = slug.chars().take(40).collect();
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            "org".to_owned()
        } else {
            slug.to_owned()
        }
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a member may do in an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages their own keys.
    Developer,
    /// Manages every key of the organisation, its members and its policy.
    Admin,
}

impl Role {
    /// Every role, for pickers.
    pub const ALL: [Role; 2] = [Role::Developer, Role::Admin];

    /// The stored and submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Developer => "developer",
            Role::Admin => "admin",
        }
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Developer => "Developer",
            Role::Admin => "Admin",
        }
    }

    /// Parses the stored or submitted form.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input {
            "developer" => Ok(Role::Developer),
            "admin" => Ok(Role::Admin),
            _ => Err("Choose a role: developer or admin.".to_owned()),
        }
    }
}

/// A role on the platform itself, held by the operator's own people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Finds, suspends and reinstates keys of any organisation.
    Support,
    /// Everything support can do, and manages staff.
    Owner,
}

impl StaffRole {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Support => "support",
            StaffRole::Owner => "owner",
        }
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Support => "Support",
            StaffRole::Owner => "Owner",
        }
    }

    /// Parses the stored or typed form.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input {
            "support" => Ok(StaffRole::Support),
            "owner" => Ok(StaffRole::Owner),
            _ => Err(format!(
                "unknown staff role {input:?}: use support or owner"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert_eq!(
            OrgName::parse("\u{200B}Acme\u{FEFF}").unwrap().as_str(),
            "Acme"
        );
        assert!(OrgName::parse("\u{200B}\u{200B}").is_err());
        assert!(OrgName::parse("")
            .unwrap_err()
            .contains("Name your organisation"));
        assert!(OrgName::parse("A").is_err());
        assert!(OrgName::parse(&"x".repeat(81)).is_err());
        assert!(OrgName::parse("Acme\u{0007}").is_err());
        assert!(OrgName::parse("--").is_err());
    }

    #[test]
    fn slugs_are_lower_case_ascii_with_single_hyphens() {
        let slug = |s: &str| OrgName::parse(s).unwrap().slug();
        assert_eq!(slug("Acme Corp."), "acme-corp");
        assert_eq!(slug("  Zürich   Data--Works "), "z-rich-data-works");
        assert_eq!(slug("東京株式会社"), "org");
        assert!(slug(&"ab ".repeat(26)).len() <= 40);
        assert!(!slug(&"ab ".repeat(26)).ends_with('-'));
    }

    #[test]
    fn roles_round_trip_through_their_stored_form() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("owner").is_err());
        assert_eq!(StaffRole::parse("owner"), Ok(StaffRole::Owner));
        assert!(StaffRole::parse("admin").is_err());
    }
}
