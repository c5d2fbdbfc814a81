//! `Authorization: Bearer <token>` ([RFC 6750 §2.1]), read one way everywhere.
//!
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1

/// The token of an `Authorization` header value using the Bearer scheme.
/// The scheme is compared without case (RFC 9110 §11.1: `bearer`, `BEARER`
/// and `Bearer` are one scheme); spaces around the token are dropped.
/// `None` for another scheme or an empty token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for header in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "BeArEr   abc ",
            "Bearer\tabc",
        ] {
            assert_eq!(bearer_token(header), Some("abc"), "{header:?}");
        }
        for header in [
            "Basic abc",
            "Bearer",
            "Bearer   ",
            "Bearerabc",
            "",
            "Token abc",
        ] {
            assert_eq!(bearer_token(header), None, "{header:?}");
        }
    }
}
