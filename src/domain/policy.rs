//! An organisation's key policy: how long keys may live, which environments
//! developers may use, and whether risky production keys wait for an admin.

use super::key_format::Environment;
use serde::{Deserialize, Serialize};

/// The longest lifetime any policy may allow, in days.
pub const LIFETIME_CEILING_DAYS: i64 = 365;

/// How long an access token lives when the policy says nothing else, in
/// seconds (10 minutes).
pub const ACCESS_TOKEN_LIFETIME_DEFAULT_SECS: i64 = 600;

/// The longest lifetime any policy may give an access token, in seconds
/// (1 hour): old signing keys stay published this long after they stop
/// signing.
pub const ACCESS_TOKEN_LIFETIME_CEILING_SECS: i64 = 3600;

/// An organisation's key policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Longest lifetime of a key, in days (1 to 365).
    pub max_lifetime_days: i64,
    /// Lifetime a new key gets unless another is chosen, in days.
    pub default_expiry_days: i64,
    /// Environments developers may create keys in (admins may use both).
    pub developer_environments: Vec<Environment>,
    /// Whether production keys with high-risk scopes wait for an admin's
    /// approval before they work.
    pub approval_for_high_risk_production: bool,
    /// Days after which the review expects a key with high-risk scopes to
    /// have been rotated.
    pub rotate_high_risk_days: i64,
    /// Days after which the review expects any other key to have been rotated.
    pub rotate_low_risk_days: i64,
    /// How long the access tokens a key is traded for live, in seconds (60
    /// to [`ACCESS_TOKEN_LIFETIME_CEILING_SECS`]).
    pub access_token_lifetime_secs: i64,
}

/// Parses an access token lifetime given in whole minutes (1 to 60) into
/// seconds; empty means `default_secs`.
pub fn parse_token_lifetime_minutes(input: &str, default_secs: i64) -> Result<i64, String> {
    match input.trim() {
        "" => Ok(default_secs),
        text => match text.parse::<i64>() {
            Ok(n) if (1..=ACCESS_TOKEN_LIFETIME_CEILING_SECS / 60).contains(&n) => Ok(n * 60),
            _ => Err(format!(
                "Enter a whole number of minutes from 1 to {}.",
                ACCESS_TOKEN_LIFETIME_CEILING_SECS / 60
            )),
        },
    }
}

/// Parses a rotation interval in days (1 to 3650); empty means `default`.
pub fn parse_rotation_days(input: &str, default: i64) -> Result<i64, String> {
    match input.trim() {
        "" => Ok(default),
        text => match text.parse::<i64>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(n),
            _ => Err("Enter a whole number of days from 1 to 3650.".to_owned()),
        },
    }
}

impl Default for OrgPolicy {
    fn default() -> Self {
        Self {
            max_lifetime_days: LIFETIME_CEILING_DAYS,
            default_expiry_days: 90,
            developer_environments: Environment::ALL.to_vec(),
            approval_for_high_risk_production: true,
            rotate_high_risk_days: 90,
            rotate_low_risk_days: 365,
            access_token_lifetime_secs: ACCESS_TOKEN_LIFETIME_DEFAULT_SECS,
        }
    }
}

/// The names of the rules, as refusals quote them.
pub mod rules {
    /// The maximum key lifetime.
    pub const MAX_LIFETIME: &str = "Maximum key lifetime";
    /// The environments developers may use.
    pub const DEVELOPER_ENVIRONMENTS: &str = "Environments for developers";
}

impl OrgPolicy {
    /// Checks a policy an admin submits; every problem is named with its
    /// field.
    pub fn validate(
        max_lifetime_days: &str,
        default_expiry_days: &str,
        developer_environments: &[String],
        approval_for_high_risk_production: bool,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let days = |text: &str| text.trim().parse::<i64>().ok();
        let max = match days(max_lifetime_days) {
            Some(n) if (1..=LIFETIME_CEILING_DAYS).contains(&n) => Some(n),
            _ => {
                errors.push((
                    "max_lifetime_days",
                    format!("Enter a whole number of days from 1 to {LIFETIME_CEILING_DAYS}."),
                ));
                None
            }
        };
        let default = match (days(default_expiry_days), max) {
            (Some(n), Some(max)) if (1..=max).contains(&n) => Some(n),
            (Some(n), None) if n >= 1 => Some(n),
            (Some(_), Some(max)) => {
                errors.push((
                    "default_expiry_days",
                    format!("The default lifetime must be from 1 day to the maximum ({max} days)."),
                ));
                None
            }
            _ => {
                errors.push((
                    "default_expiry_days",
                    "Enter a whole number of days, at least 1.".to_owned(),
                ));
                None
            }
        };
        let mut environments = Vec::new();
        for e in developer_environments {
            match Environment::parse(e) {
                Ok(env) if !environments.contains(&env) => environments.push(env),
                Ok(_) => {}
                Err(m) => errors.push(("developer_environments", m)),
            }
        }
        if environments.is_empty() {
            errors.push((
                "developer_environments",
                "Let developers use at least one environment (Sandbox is the safe choice)."
                    .to_owned(),
            ));
        }
        environments.sort_by_key(|e| Environment::ALL.iter().position(|a| a == e));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            max_lifetime_days: max.expect("checked"),
            default_expiry_days: default.expect("checked"),
            developer_environments: environments,
            approval_for_high_risk_production,
            ..Self::default()
        })
    }

    /// The lifetimes the create form offers: the usual presets up to the
    /// maximum, and the maximum itself.
    pub fn lifetime_presets(&self) -> Vec<i64> {
        let mut presets: Vec<i64> = super::keys::LIFETIME_PRESETS
            .into_iter()
            .filter(|d| *d <= self.max_lifetime_days)
            .collect();
        for extra in [self.max_lifetime_days, self.default_expiry_days] {
            if !presets.contains(&extra) {
                presets.push(extra);
            }
        }
        presets.sort_unstable();
        presets
    }

    /// Whether a developer may create keys in `environment`; the refusal
    /// names the rule.
    pub fn check_developer_environment(&self, environment: Environment) -> Result<(), String> {
        if self.developer_environments.contains(&environment) {
            return Ok(());
        }
        let allowed: Vec<&str> = self
            .developer_environments
            .iter()
            .map(|e| e.label())
            .collect();
        Err(format!(
            "Your organisation's policy ({}) lets developers create {} keys only. Ask an admin to create this key, or to change the policy.",
            rules::DEVELOPER_ENVIRONMENTS,
            allowed.join(" and ").to_lowercase()
        ))
    }

    /// Whether a key with these traits must wait for an admin's approval.
    pub fn needs_approval(&self, environment: Environment, has_high_risk: bool) -> bool {
        self.approval_for_high_risk_production
            && environment == Environment::Production
            && has_high_risk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_the_documented_one() {
        let p = OrgPolicy::default();
        assert_eq!(p.max_lifetime_days, 365);
        assert!(p.approval_for_high_risk_production);
        assert!(p.needs_approval(Environment::Production, true));
        assert!(!p.needs_approval(Environment::Sandbox, true));
        assert!(!p.needs_approval(Environment::Production, false));
        assert_eq!(p.lifetime_presets(), vec![7, 30, 90, 365]);
    }

    #[test]
    fn validation_names_each_bad_field() {
        let errors = OrgPolicy::validate("400", "x", &[], true).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            vec![
                "max_lifetime_days",
                "default_expiry_days",
                "developer_environments"
            ]
        );
        let errors = OrgPolicy::validate("30", "90", &["sandbox".into()], true).unwrap_err();
        assert!(errors[0].1.contains("maximum (30 days)"));
        let p = OrgPolicy::validate(
            "60",
            "45",
            &["production".into(), "sandbox".into(), "sandbox".into()],
            false,
        )
        .unwrap();
        assert_eq!(p.developer_environments, Environment::ALL.to_vec());
        assert_eq!(p.lifetime_presets(), vec![7, 30, 45, 60]);
    }

    #[test]
    fn a_refused_environment_names_the_rule() {
        let p = OrgPolicy {
            developer_environments: vec![Environment::Sandbox],
            ..OrgPolicy::default()
        };
        assert!(p.check_developer_environment(Environment::Sandbox).is_ok());
        let refusal = p
            .check_developer_environment(Environment::Production)
            .unwrap_err();
        assert!(refusal.contains(rules::DEVELOPER_ENVIRONMENTS));
        assert!(refusal.contains("sandbox keys only"));
    }
}
