//! The password rules of NIST SP 800-63B-4 for single-factor use.
//!
//! Length is the only composition rule: at least 15 characters, up to 1024, any
//! characters at all, never truncated. Whether a password is easily guessed is
//! judged on the server (it needs a dictionary the browser should not download).

use std::fmt;

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 15;
/// Most characters a password may have (NIST asks for at least 64).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Most bytes a password may have: [`MAX_PASSWORD_CHARS`] characters of
/// the longest UTF-8 encoding. Sign-in refuses anything longer before any
/// normalising or hashing, so an attacker cannot make the server hash
/// megabytes.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

/// The refusal of a password over [`MAX_PASSWORD_BYTES`] at sign-in.
pub const TOO_LONG: &str =
    "This password is longer than any Portico accepts. Check what you pasted.";

/// A password as typed. Its `Debug` prints nothing of it, and it is neither
/// `Serialize` nor `Display`, so it cannot end up in a log or a response.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the length rules and keeps the password exactly as typed.
    pub fn parse(input: String) -> Result<Self, String> {
        length_problem(&input).map_or(Ok(Self(input)), Err)
    }

    /// Wraps a password without checking its length: for signing in, where
    /// an old or wrong password must still be compared, never refused early.
    pub fn unchecked(input: String) -> Self {
        Self(input)
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(redacted)")
    }
}

/// Counts characters the way people do: one per Unicode scalar value.
pub fn char_count(input: &str) -> usize {
    input.chars().count()
}

/// The length rule a password breaks, as a sentence, or `None`.
/// Shared with the browser so the form can say it before submitting.
pub fn length_problem(input: &str) -> Option<String> {
    if input.len() > MAX_PASSWORD_BYTES {
        return Some(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    let n = char_count(input);
    if n == 0 {
        Some("Choose a password.".to_owned())
    } else if n < MIN_PASSWORD_CHARS {
        Some(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters ({n} so far). A few unrelated words make a long password easy to remember."
        ))
    } else if n > MAX_PASSWORD_CHARS {
        Some(format!(
            "Use at most {MAX_PASSWORD_CHARS} characters ({n} entered)."
        ))
    } else {
        None
    }
}

/// A live hint for the new-password field: how far from the minimum.
pub fn length_hint(chars: usize) -> String {
    if chars < MIN_PASSWORD_CHARS {
        format!("At least {MIN_PASSWORD_CHARS} characters ({chars} so far). A few unrelated words work well.")
    } else if chars > MAX_PASSWORD_CHARS {
        format!("At most {MAX_PASSWORD_CHARS} characters ({chars} so far).")
    } else {
        format!("{chars} characters: long enough. Avoid common phrases and anything about you.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_hint_counts_towards_the_minimum() {
        assert!(length_hint(3).contains("(3 so far)"));
        assert!(length_hint(15).contains("long enough"));
    }

    #[test]
    fn fourteen_characters_are_too_few_and_fifteen_enough() {
        assert!(Password::parse("a".repeat(14)).is_err());
        assert!(Password::parse("a".repeat(15)).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 15 characters, 45 bytes.
        let kanji = "鍵".repeat(15);
        assert!(Password::parse(kanji).is_ok());
        assert!(length_problem(&"鍵".repeat(14))
            .unwrap()
            .contains("14 so far"));
    }

    #[test]
    fn any_characters_are_allowed_and_nothing_is_truncated() {
        let pw = format!("{} \u{1F511}\t{}", "x".repeat(700), "y".repeat(300));
        let parsed = Password::parse(pw.clone()).unwrap();
        assert_eq!(parsed.expose(), pw);
    }

    #[test]
    fn overlong_passwords_are_refused() {
        assert!(length_problem(&"z".repeat(MAX_PASSWORD_CHARS + 1))
            .unwrap()
            .contains("at most"));
        assert!(length_problem(&"z".repeat(MAX_PASSWORD_CHARS)).is_none());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let pw = Password::unchecked("correct horse battery staple".into());
        assert!(!format!("{pw:?}").contains("horse"));
    }
}
