//! Second-factor codes as people type them: six-digit TOTP codes (RFC 6238)
//! and single-use recovery codes.

/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Characters of a recovery code, without its hyphen.
pub const RECOVERY_CODE_CHARS: usize = 10;

/// The alphabet of recovery codes: Crockford's base 32, lower-case (no i, l,
/// o or u, so nothing reads as another character). Ten characters carry 50
/// bits.
pub const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;

/// What the code field says when it is empty.
pub const ENTER_CODE: &str =
    "Enter the 6-digit code from your authenticator app, or one of your recovery codes.";

/// What the code field says when the code is neither shape.
pub const NOT_A_CODE: &str = "That is not a code: enter the 6 digits your authenticator app shows (spaces are fine), or a recovery code like 4k7qm-x2c9d.";

/// A second-factor code, parsed from what was typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecondFactorCode {
    /// Six digits from an authenticator app.
    Totp(String),
    /// A recovery code, in its canonical form (`xxxxx-xxxxx`, lower-case).
    Recovery(String),
}

impl SecondFactorCode {
    /// Reads a code: spaces and hyphens (any dash a keyboard or a password
    /// manager might put in) are ignored, letters may be in any case, and
    /// `i`/`l` read as `1`, `o` as `0` (Crockford's base 32).
    ///
    /// # Errors
    /// [`ENTER_CODE`] when nothing was typed, [`NOT_A_CODE`] when it is
    /// neither six digits nor a ten-character recovery code.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let compact: String = input
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
            })
            .collect();
        if compact.is_empty() {
            return Err(ENTER_CODE);
        }
        if compact.len() == TOTP_DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::Totp(compact));
        }
        if compact.len() == RECOVERY_CODE_CHARS {
            let canonical: Option<String> = compact
                .chars()
                .map(|c| match c.to_ascii_lowercase() {
                    'i' | 'l' => Some('1'),
                    'o' => Some('0'),
                    c if RECOVERY_ALPHABET.contains(&(c as u8)) && c.is_ascii() => Some(c),
                    _ => None,
                })
                .collect();
            if let Some(c) = canonical {
                return Ok(Self::Recovery(format!("{}-{}", &c[..5], &c[5..])));
            }
        }
        Err(NOT_A_CODE)
    }
}

/// A recovery code from `RECOVERY_CODE_CHARS` random bytes: each byte picks
/// one character (its low five bits), written `xxxxx-xxxxx`.
pub fn recovery_code_from(random: [u8; RECOVERY_CODE_CHARS]) -> String {
    let chars: String = random
        .iter()
        .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A base-32 secret written in groups of four for typing into an app by
/// hand: `JBSW Y3DP EHPK 3PXP`.
pub fn group_for_typing(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_a_totp_code_with_or_without_spaces() {
        assert_eq!(
            SecondFactorCode::parse(" 123 456 "),
            Ok(SecondFactorCode::Totp("123456".into()))
        );
        assert_eq!(SecondFactorCode::parse("12345"), Err(NOT_A_CODE));
        assert_eq!(SecondFactorCode::parse("1234567"), Err(NOT_A_CODE));
        assert_eq!(SecondFactorCode::parse("12a456"), Err(NOT_A_CODE));
        assert_eq!(SecondFactorCode::parse("  "), Err(ENTER_CODE));
    }

    #[test]
    fn recovery_codes_read_in_any_case_with_confusable_letters_mapped() {
        assert_eq!(
            SecondFactorCode::parse("4K7QM-X2C9D"),
            Ok(SecondFactorCode::Recovery("4k7qm-x2c9d".into()))
        );
        assert_eq!(
            SecondFactorCode::parse("oil00 abcde"),
            Ok(SecondFactorCode::Recovery("01100-abcde".into()))
        );
        assert_eq!(
            SecondFactorCode::parse("4k7qm\u{2014}x2c9d"),
            Ok(SecondFactorCode::Recovery("4k7qm-x2c9d".into())),
            "an em dash, as some editors turn a hyphen into"
        );
        assert_eq!(SecondFactorCode::parse("uuuuu-uuuuu"), Err(NOT_A_CODE));
        assert_eq!(SecondFactorCode::parse("ééééé-ééééé"), Err(NOT_A_CODE));
    }

    #[test]
    fn generated_recovery_codes_parse_back_to_themselves() {
        let code = recovery_code_from([0, 1, 2, 31, 32, 63, 200, 7, 8, 255]);
        assert_eq!(code, "012z0-z878z");
        assert_eq!(
            SecondFactorCode::parse(&code),
            Ok(SecondFactorCode::Recovery(code.clone()))
        );
    }

    #[test]
    fn secrets_are_grouped_by_four() {
        assert_eq!(
            group_for_typing("JBSWY3DPEHPK3PXPAB"),
            "JBSW Y3DP EHPK 3PXP AB"
        );
    }
}
