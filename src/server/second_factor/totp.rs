//! TOTP codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, the
//! parameters every authenticator app supports) and the QR code that hands
//! the secret to an app.

use qrcode::{render::svg, EcLevel, QrCode};
use totp_rs::{Algorithm, TOTP};

/// Seconds per time step (RFC 6238 §4.1, `X`).
pub const STEP_SECS: u64 = 30;

/// Bytes of a new shared secret: 160 bits, as RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;

/// What authenticator apps show above the account's address.
pub const ISSUER: &str = "Portico";

/// The generator for `secret`, labelled with `account` (an email address).
pub fn generator(secret: Vec<u8>, account: &str) -> TOTP {
    TOTP::new(
        Algorithm::SHA1,
        crate::domain::second_factor::TOTP_DIGITS,
        1,
        STEP_SECS,
        secret,
        Some(ISSUER.to_owned()),
        account.replace(':', ""),
    )
    .expect("160-bit secret, 6 digits, an issuer and account without ':'")
}

/// The time step of `unix_secs`.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.max(0) / STEP_SECS as i64
}

/// The step `code` was made for, if it matches the step of `unix_secs` or
/// the one before or after (one step of clock drift either way, RFC 6238
/// §5.2). Compared in constant time.
pub fn matching_step(totp: &TOTP, code: &str, unix_secs: i64) -> Option<i64> {
    let now = step_of(unix_secs);
    [now, now - 1, now + 1].into_iter().find(|&step| {
        step >= 0
            && constant_time_eq(
                totp.generate(step as u64 * STEP_SECS).as_bytes(),
                code.as_bytes(),
            )
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` URI drawn as an SVG QR code (no XML declaration, so it
/// can sit inside HTML), dark modules in the text colour.
pub fn qr_svg(uri: &str) -> String {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .expect("an otpauth URI fits in a QR code");
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 secret "12345678901234567890"; the test
    /// vectors are 8 digits, their last six are the 6-digit codes.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let totp = generator(b"12345678901234567890".to_vec(), "a@example.com");
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(totp.generate(t), eight[2..]);
            assert_eq!(
                matching_step(&totp, &eight[2..], t as i64),
                Some(step_of(t as i64))
            );
        }
    }

    #[test]
    fn a_code_works_one_step_either_side_and_no_further() {
        let totp = generator(vec![7; SECRET_BYTES], "a@example.com");
        let t = 1_700_000_000;
        let code = totp.generate(t as u64);
        assert_eq!(matching_step(&totp, &code, t + 30), Some(step_of(t)));
        assert_eq!(matching_step(&totp, &code, t - 30), Some(step_of(t)));
        assert_eq!(matching_step(&totp, &code, t + 90), None);
        assert_eq!(
            matching_step(&totp, "000000", t).is_some(),
            code == "000000"
        );
    }

    #[test]
    fn the_uri_names_the_issuer_and_account_and_draws_as_svg() {
        let totp = generator(vec![7; SECRET_BYTES], "dev@example.com");
        let uri = totp.get_url();
        assert!(
            uri.starts_with("otpauth://totp/Portico:dev%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Portico"));
        let svg = qr_svg(&uri);
        assert!(
            svg.starts_with("<svg") && svg.ends_with("</svg>"),
            "{}",
            &svg[..40]
        );
    }
}
