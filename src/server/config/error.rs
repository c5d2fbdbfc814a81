//! A setting that stops start-up, told in one line.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::fmt;

/// A setting that could not be used, named by its environment variable and flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The environment variable, e.g. `PORTICO_LISTEN`.
    pub env: String,
    /// The flag without its dashes, e.g. `listen`.
    pub flag: String,
    /// The value given (omitted for secrets).
    pub value: Option<String>,
    /// What is wrong with it, as a person should read it.
    pub problem: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting {} (--{})", self.env, self.flag)?;
        if let Some(value) = &self.value {
            write!(f, " = {value:?}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for SettingError {}

impl SettingError {
    /// The setting a clap parse error is about, or `None` when the error is
    /// not about a setting's value (`--help`, an unknown flag, a missing
    /// argument): those are clap's to print.
    pub fn from_clap(err: &clap::Error, command: &clap::Command) -> Option<Self> {
        if !matches!(
            err.kind(),
            ErrorKind::ValueValidation | ErrorKind::InvalidValue
        ) {
            return None;
        }
        let text = |kind| match err.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            _ => None,
        };
        let flag = text(ContextKind::InvalidArg)?;
        let flag = flag.trim_start_matches('-').split(' ').next()?.to_owned();
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(&flag))?;
        let env = arg.get_env()?.to_string_lossy().into_owned();
        let value = text(ContextKind::InvalidValue).filter(|_| !arg.is_hide_env_values_set());
        let problem = match (err.kind(), err.get(ContextKind::ValidValue)) {
            (ErrorKind::InvalidValue, Some(ContextValue::Strings(valid))) => {
                format!("expected {}", valid.join(" or "))
            }
            _ => std::error::Error::source(err)
                .map(|e| e.to_string())
                .unwrap_or_else(|| "not a valid value".to_owned()),
        };
        Some(SettingError {
            env,
            flag,
            value,
            problem,
        })
    }

    pub(super) fn against(env: &str, flag: &str, value: impl fmt::Display, problem: &str) -> Self {
        SettingError {
            env: env.to_owned(),
            flag: flag.to_owned(),
            value: Some(value.to_string()),
            problem: problem.to_owned(),
        }
    }
}
