//! The one form of a request's method and path that scopes are decided on.
//!
//! A gateway asks about the path its client sent; the upstream behind it may
//! decode percent-escapes, resolve dot-segments, merge slashes or compare
//! without case. Scopes are therefore decided on one canonical form
//! ([RFC 3986 §6.2.2]), and a path that an upstream could read as another
//! endpoint is refused rather than guessed at:
//!
//! * the query is dropped;
//! * `%XX` escapes of unreserved characters (`A–Z a–z 0–9 - . _ ~`) are
//!   decoded, other escapes are kept with upper-case hex digits;
//! * dot-segments are resolved ([RFC 3986 §5.2.4]) and empty segments
//!   (`//`, a trailing `/`) dropped;
//! * refused: an empty path or one not starting with `/`; an escape that is
//!   not `%` and two hex digits; an encoded `/` (`%2F`), `\` (`%5C`), `%`
//!   (`%25`, a double encoding), `;`, `?` or `#` (which servers that decode
//!   then re-parse read as a parameter, query or fragment); a raw `\`, `;`
//!   or `#` (a separator on some servers, a path parameter stripped by
//!   others, never part of a request target); an encoded dot-segment (`%2E`
//!   alone or doubled); whitespace and control characters, raw or encoded,
//!   Unicode's included (`%C2%A0`, `%E3%80%80`); escapes of bytes that are
//!   not UTF-8 (an overlong `%C0%AE`).
//!
//! A segment is also read as an upstream might before it is matched to a
//! literal catalog segment ([`reads_as`]): without case, without trailing
//! dots (Windows servers drop them), without format suffixes (`export.json`,
//! `export.tar.gz`) or a Windows stream name (`export::$DATA`), and, on the
//! server, after Unicode compatibility folding (a fullwidth `ｅ` is `e`)
//! with combining marks and invisible characters removed.
//!
//! Literal catalog segments are compared without ASCII case (see
//! [`crate::domain::scopes::Catalog::endpoint_for`]), and `HEAD` is decided
//! as the `GET` of the same path ([RFC 9110 §9.3.2]).
//!
//! [RFC 3986 §6.2.2]: https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2
//! [RFC 3986 §5.2.4]: https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
//! [RFC 9110 §9.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2

use std::fmt;

/// Longest path accepted, in bytes, before canonicalisation.
pub const MAX_PATH_BYTES: usize = 2048;

/// Why a path or method cannot be decided on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRefusal {
    /// Empty, or not starting with `/`.
    NotAbsolute,
    /// Longer than [`MAX_PATH_BYTES`].
    TooLong,
    /// `%` not followed by two hex digits, or escapes of bytes that are not UTF-8.
    InvalidEscape,
    /// `%2F`, `%5C`, `%25`, `%3B`, `%3F` or `%23`: a separator, escape,
    /// parameter, query or fragment hidden in an escape.
    EncodedSeparator,
    /// A segment that is `.` or `..` once decoded, but was encoded.
    EncodedDotSegment,
    /// A raw `\`, `;` or `#`.
    AmbiguousCharacter,
    /// Whitespace or a control character, raw or encoded.
    ControlCharacter,
    /// A method that is not an HTTP token (RFC 9110 §5.6.2), or empty.
    BadMethod,
}

impl PathRefusal {
    /// A sentence for the caller: what is wrong and what to send instead.
    pub fn message(self) -> &'static str {
        match self {
            PathRefusal::NotAbsolute => {
                "path must be the request's path, starting with '/', e.g. /v1/records/42."
            }
            PathRefusal::TooLong => "path is longer than 2048 bytes.",
            PathRefusal::InvalidEscape => {
                "path has a '%' that is not followed by two hexadecimal digits, or escapes that are not UTF-8."
            }
            PathRefusal::EncodedSeparator => {
                "path has an encoded '/', '\\', '%', ';', '?' or '#' (%2F, %5C, %25, %3B, %3F, %23), which upstreams read in different ways; it is refused."
            }
            PathRefusal::EncodedDotSegment => {
                "path has an encoded dot-segment (%2E or %2E%2E), which upstreams read in different ways; it is refused."
            }
            PathRefusal::AmbiguousCharacter => {
                "path has a '\\', ';' or '#', which servers read as a separator, strip or cut; it is refused."
            }
            PathRefusal::ControlCharacter => {
                "path has whitespace or a control character, raw or encoded."
            }
            PathRefusal::BadMethod => {
                "method must be an HTTP method such as GET, POST or DELETE."
            }
        }
    }
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A method and path in canonical form: what scopes are decided on and what
/// usage records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRequest {
    /// The method, upper-case (`HEAD` stays `HEAD`; see [`Self::scope_method`]).
    pub method: String,
    /// The canonical path: `/`-separated non-empty segments, no dot-segments,
    /// no query.
    pub path: String,
}

impl CanonicalRequest {
    /// Canonicalises `method` and `path`, or says why they cannot be.
    pub fn parse(method: &str, path: &str) -> Result<Self, PathRefusal> {
        Ok(Self {
            method: canonical_method(method)?,
            path: canonical_path(path)?,
        })
    }

    /// As [`CanonicalRequest::parse`], reusing the given strings when they
    /// are already canonical (the common case: no copies on the hot path).
    pub fn parse_owned(mut method: String, mut path: String) -> Result<Self, PathRefusal> {
        if !is_method_token(&method) {
            return Err(PathRefusal::BadMethod);
        }
        method.make_ascii_uppercase();
        // The limit is the path's: a long query is the upstream's business.
        if let Some(query) = path.find('?') {
            path.truncate(query);
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(PathRefusal::TooLong);
        }
        if !is_plainly_canonical(&path) {
            path = canonical_path(&path)?;
        }
        Ok(Self { method, path })
    }

    /// The method scopes are decided for: `HEAD` is a `GET` without the body.
    pub fn scope_method(&self) -> &str {
        if self.method == "HEAD" {
            "GET"
        } else {
            &self.method
        }
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }
}

/// Whether `method` is an HTTP token (RFC 9110 §5.6.2) of 1 to 16 characters.
fn is_method_token(method: &str) -> bool {
    !method.is_empty()
        && method.len() <= 16
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An HTTP method, upper-cased: a token of at most 16 characters.
pub fn canonical_method(method: &str) -> Result<String, PathRefusal> {
    if !is_method_token(method) {
        return Err(PathRefusal::BadMethod);
    }
    Ok(method.to_ascii_uppercase())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// One segment, normalised: unreserved escapes decoded, others upper-cased.
/// Returns the segment and whether it held an escape that decoded to `.`.
fn canonical_segment(raw: &str) -> Result<(String, bool), PathRefusal> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut encoded_dot = false;
    let mut encoded_non_ascii = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(PathRefusal::InvalidEscape);
                };
                let decoded = hi << 4 | lo;
                match decoded {
                    b'/' | b'\\' | b'%' | b';' | b'?' | b'#' => {
                        return Err(PathRefusal::EncodedSeparator)
                    }
                    0..=0x20 | 0x7f => return Err(PathRefusal::ControlCharacter),
                    b'.' => {
                        encoded_dot = true;
                        out.push('.');
                    }
                    d if is_unreserved(d) => out.push(d as char),
                    d => {
                        encoded_non_ascii |= d >= 0x80;
                        const HEX: &[u8; 16] = b"0123456789ABCDEF";
                        out.push('%');
                        out.push(HEX[usize::from(d >> 4)] as char);
                        out.push(HEX[usize::from(d & 0xf)] as char);
                    }
                }
                i += 3;
            }
            b'\\' | b';' => return Err(PathRefusal::AmbiguousCharacter),
            0..=0x20 | 0x7f => return Err(PathRefusal::ControlCharacter),
            _ => {
                // Copy the whole character (paths may carry raw UTF-8).
                let len = raw[i..].chars().next().map_or(1, char::len_utf8);
                let ch = &raw[i..i + len];
                if ch.chars().any(is_space_or_control) {
                    return Err(PathRefusal::ControlCharacter);
                }
                out.push_str(ch);
                i += len;
            }
        }
    }
    if encoded_non_ascii {
        // What a decoding upstream reads: UTF-8 (an overlong or broken
        // sequence is refused, not guessed at), without the whitespace or
        // control characters refused when sent raw.
        let decoded =
            String::from_utf8(percent_decode(&out)).map_err(|_| PathRefusal::InvalidEscape)?;
        if decoded.chars().any(is_space_or_control) {
            return Err(PathRefusal::ControlCharacter);
        }
    }
    Ok((out, encoded_dot))
}

/// Unicode whitespace (`U+00A0`, `U+3000`, `U+2028`, …) or a control
/// character (C0, C1, `DEL`).
fn is_space_or_control(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// The bytes `%XX` escapes stand for, other bytes as they are.
fn percent_decode(text: &str) -> Vec<u8> {
    let raw = text.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            if let (Some(hi), Some(lo)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                bytes.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        bytes.push(raw[i]);
        i += 1;
    }
    bytes
}

/// Whether `path` is already canonical: absolute, made of characters that
/// need no decoding or checking, with no empty or dot segment. Most paths
/// are, and are then taken as they are.
fn is_plainly_canonical(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && (bytes.len() == 1 || bytes.last() != Some(&b'/'))
        && !path.contains("//")
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"/-_~:@!$&'()*+,=".contains(&b))
}

/// The canonical form of a request path (see the module's rules).
pub fn canonical_path(path: &str) -> Result<String, PathRefusal> {
    // The limit is the path's: a long query is the upstream's business.
    let path = path.split('?').next().unwrap_or("");
    if path.len() > MAX_PATH_BYTES {
        return Err(PathRefusal::TooLong);
    }
    // A request target never holds a fragment: a raw '#' is refused, not cut.
    if path.contains('#') {
        return Err(PathRefusal::AmbiguousCharacter);
    }
    if is_plainly_canonical(path) {
        return Ok(path.to_owned());
    }
    if !path.starts_with('/') {
        return Err(PathRefusal::NotAbsolute);
    }
    let mut segments: Vec<String> = Vec::new();
    for raw in path.split('/') {
        let (segment, encoded_dot) = canonical_segment(raw)?;
        match segment.as_str() {
            "." | ".." if encoded_dot => return Err(PathRefusal::EncodedDotSegment),
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Whether a canonical path segment could be read by an upstream as the
/// literal catalog segment `literal` (plain ASCII, see the catalog's rules).
pub fn reads_as(literal: &str, segment: &str) -> bool {
    literal.eq_ignore_ascii_case(segment)
        || (!is_plain_segment(segment) && reads_as_folded(literal, segment))
}

/// Whether a segment is a plain name (ASCII letters, digits, `-`, `_`, `~`),
/// which no upstream reads as anything but itself. Callers that compare one
/// segment with many literals check this once.
pub fn is_plain_segment(segment: &str) -> bool {
    segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b))
}

/// [`reads_as`] for a segment that is not plain: after folding, without
/// trailing dots, without one format suffix (`export.json`), and up to its
/// first `.` or `:` (suffix matching such as `export.tar.gz` or
/// `export..json`, and Windows streams such as `export::$DATA`), compared
/// without case, Unicode's included (a dotless `ı` upper-cases to `I`).
pub fn reads_as_folded(literal: &str, segment: &str) -> bool {
    let folded = fold(segment);
    let trimmed = folded.trim_end_matches('.');
    let stem = trimmed.rsplit_once('.').map_or(trimmed, |(stem, _)| stem);
    let head = trimmed.split(['.', ':']).next().unwrap_or(trimmed);
    [trimmed, stem, head].iter().any(|reading| {
        literal.eq_ignore_ascii_case(reading)
            || reading.to_uppercase() == literal.to_ascii_uppercase()
    })
}

/// A segment as a decoding, Unicode-folding upstream would see it:
/// compatibility-decomposed (NFKD: a fullwidth `ｅ` is `e`), without
/// combining marks (`ţ` is `t`) or invisible characters.
fn fold(segment: &str) -> String {
    let bytes = percent_decode(segment);
    let text = String::from_utf8_lossy(&bytes);
    #[cfg(feature = "ssr")]
    let text: String = {
        use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
        text.nfkd()
            .filter(|c| !is_combining_mark(*c) && !is_invisible(*c))
            .collect()
    };
    #[cfg(not(feature = "ssr"))]
    let text: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    text
}

/// Characters that render as nothing (zero-width, joiners, soft hyphen,
/// byte-order mark, variation selectors).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_escapes_decode_and_dot_segments_resolve() {
        let ok = |p: &str| canonical_path(p).unwrap();
        assert_eq!(ok("/v1/customers/%65xport"), "/v1/customers/export");
        assert_eq!(
            ok("/v1/records/../customers/export"),
            "/v1/customers/export"
        );
        assert_eq!(ok("/v1/./customers//export/"), "/v1/customers/export");
        assert_eq!(ok("/v1/customers/42?expand=all"), "/v1/customers/42");
        assert_eq!(ok("/v1/customers/42?at=#top"), "/v1/customers/42");
        assert_eq!(ok("/../../v1/records"), "/v1/records");
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/v1/a%3ab"), "/v1/a%3Ab");
        assert_eq!(ok("/v1/caf%C3%A9"), "/v1/caf%C3%A9");
        assert_eq!(ok("/v1/~user/%7Euser"), "/v1/~user/~user");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        let refused = |p: &str| canonical_path(p).unwrap_err();
        assert_eq!(
            refused("/v1/records/..%2Fcustomers%2Fexport"),
            PathRefusal::EncodedSeparator
        );
        assert_eq!(
            refused("/v1/records/%2e%2e/customers/export"),
            PathRefusal::EncodedDotSegment
        );
        assert_eq!(
            refused("/v1/records/.%2E/x"),
            PathRefusal::EncodedDotSegment
        );
        assert_eq!(refused("/v1/%2e/x"), PathRefusal::EncodedDotSegment);
        assert_eq!(
            refused("/v1/customers/%2565xport"),
            PathRefusal::EncodedSeparator
        );
        assert_eq!(
            refused("/v1/customers/%5Cexport"),
            PathRefusal::EncodedSeparator
        );
        assert_eq!(
            refused("/v1/customers\\export"),
            PathRefusal::AmbiguousCharacter
        );
        assert_eq!(
            refused("/v1/customers/export;a=1"),
            PathRefusal::AmbiguousCharacter
        );
        assert_eq!(refused("/v1/customers/%zz"), PathRefusal::InvalidEscape);
        for encoded in ["%3B", "%3b", "%3F", "%23"] {
            let path = format!("/v1/customers/export{encoded}x");
            assert_eq!(refused(&path), PathRefusal::EncodedSeparator, "{path}");
        }
        assert_eq!(
            refused("/v1/customers/1#/../export"),
            PathRefusal::AmbiguousCharacter
        );
        assert_eq!(refused("/v1/customers/%6"), PathRefusal::InvalidEscape);
        assert_eq!(refused("/v1/customers/%00"), PathRefusal::ControlCharacter);
        assert_eq!(
            refused("/v1/customers/ export"),
            PathRefusal::ControlCharacter
        );
        assert_eq!(
            refused("/v1/customers/\u{0}"),
            PathRefusal::ControlCharacter
        );
        assert_eq!(refused("/v1/customers/%20"), PathRefusal::ControlCharacter);
        assert_eq!(refused(""), PathRefusal::NotAbsolute);
        assert_eq!(refused("v1/records"), PathRefusal::NotAbsolute);
        assert_eq!(refused("?x=/v1"), PathRefusal::NotAbsolute);
        assert_eq!(
            refused(&format!("/{}", "a".repeat(MAX_PATH_BYTES))),
            PathRefusal::TooLong
        );
    }

    #[test]
    fn segments_are_read_as_an_upstream_might() {
        for reading in [
            "export",
            "EXPORT",
            "export.",
            "export..",
            "export.json",
            "Export.JSON",
            "%EF%BD%85xport",
            "export%E2%80%8B",
            "ex%C2%ADport",
            "export..json",
            "export.json.xml",
            "export.tar.gz",
            "export::$DATA",
            "export%CC%81",
            "ex%CC%B8port",
            "expor%C5%A3",
            "exporT",
        ] {
            assert!(reads_as("export", reading), "{reading}");
        }
        // A dotless i upper-cases to I.
        assert!(reads_as("list", "l%C4%B1st"));
        for other in [
            "exports",
            "xport",
            "export-1",
            "cus_1",
            "report.pdf",
            "exp%D0%BErt",
        ] {
            assert!(!reads_as("export", other), "{other}");
        }
    }

    #[test]
    fn encoded_unicode_whitespace_controls_and_broken_utf8_are_refused() {
        for path in [
            "/v1/customers/export%C2%A0",
            "/v1/customers/export%E3%80%80",
            "/v1/customers/export%E2%80%83",
            "/v1/customers/export%E1%9A%80",
            "/v1/customers/export%C2%85",
            "/v1/customers/export%E2%80%A8",
            "/v1/customers/export\u{a0}",
        ] {
            assert_eq!(
                canonical_path(path),
                Err(PathRefusal::ControlCharacter),
                "{path}"
            );
        }
        assert_eq!(
            canonical_path("/v1/customers/export\u{3000}"),
            Err(PathRefusal::ControlCharacter)
        );
        assert_eq!(
            canonical_path("/v1/customers/export\u{85}"),
            Err(PathRefusal::ControlCharacter)
        );
        for path in [
            "/v1/customers/export%C0%AE",
            "/v1/customers/%FFexport",
            "/v1/customers/ex%C3",
        ] {
            assert_eq!(
                canonical_path(path),
                Err(PathRefusal::InvalidEscape),
                "{path}"
            );
        }
        // Letters stay letters.
        assert_eq!(canonical_path("/v1/caf%C3%A9").unwrap(), "/v1/caf%C3%A9");
        assert_eq!(canonical_path("/v1/café").unwrap(), "/v1/café");
    }

    #[test]
    fn a_long_query_is_not_a_long_path() {
        let query = "a".repeat(3 * MAX_PATH_BYTES);
        let target = format!("/v1/records?filter={query}");
        assert_eq!(canonical_path(&target).unwrap(), "/v1/records");
        let owned = CanonicalRequest::parse_owned("GET".into(), target).unwrap();
        assert_eq!(owned.path, "/v1/records");
        let long = format!("/v1/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(canonical_path(&long), Err(PathRefusal::TooLong));
    }

    #[test]
    fn plain_paths_are_taken_as_they_are() {
        for path in [
            "/",
            "/v1/records/42",
            "/v1/a-b_c~d/x:y@z",
            "/v1/customers/cus_1",
        ] {
            assert!(is_plainly_canonical(path), "{path}");
            assert_eq!(canonical_path(path).unwrap(), path);
        }
        for path in [
            "/v1/", "//v1", "/v1/./x", "/v1/a.b", "/v1/%41", "v1", "", "/v1/a;b",
        ] {
            assert!(!is_plainly_canonical(path), "{path}");
        }
        // The slow path agrees wherever the fast one applies.
        assert_eq!(canonical_path("/v1/a.b").unwrap(), "/v1/a.b");
    }

    #[test]
    fn owned_parsing_agrees_with_borrowed() {
        for (method, path) in [
            ("get", "/v1/records/42?x=1"),
            ("GET", "/v1/customers/%65xport"),
            ("post", "/v1//a/./b/"),
            ("GET", "/v1/a%2Fb"),
            ("G T", "/v1"),
            ("GET", ""),
            ("GET", "/v1/x#y"),
        ] {
            assert_eq!(
                CanonicalRequest::parse_owned(method.to_owned(), path.to_owned()),
                CanonicalRequest::parse(method, path),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn methods_are_tokens_and_head_is_decided_as_get() {
        let r = CanonicalRequest::parse("head", "/v1/records").unwrap();
        assert_eq!(r.method, "HEAD");
        assert_eq!(r.scope_method(), "GET");
        assert_eq!(
            CanonicalRequest::parse("delete", "/x")
                .unwrap()
                .scope_method(),
            "DELETE"
        );
        for bad in ["", "GE T", "GET\n", "G/T", "VERYLONGMETHODNAMEX"] {
            assert_eq!(
                canonical_method(bad),
                Err(PathRefusal::BadMethod),
                "{bad:?}"
            );
        }
    }
}
