//! Property tests: scopes decided on the sample catalog hold under every
//! spelling of a path that an upstream could read (RFC 3986 §6.2.2).

use super::{parse, SAMPLE, SAMPLE_NAME};
use crate::domain::{
    request_path::{canonical_path, CanonicalRequest},
    scopes::Catalog,
};
use proptest::prelude::*;

fn catalog() -> Catalog {
    parse(SAMPLE, SAMPLE_NAME).expect("the sample catalog parses")
}

/// The scope decided for `method path`, refusals as `Err`.
fn decided(c: &Catalog, method: &str, path: &str) -> Result<Option<String>, ()> {
    let request = CanonicalRequest::parse(method, path).map_err(|_| ())?;
    Ok(c.endpoint_for(&request).map(|e| e.scope.name.clone()))
}

/// How an upstream that decodes everything, resolves dot-segments, merges
/// slashes and ignores case would read `path`: the endpoint it would serve.
fn upstream_reading(path: &str) -> String {
    let bytes = path.split(['?', '#']).next().unwrap_or("").as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                decoded.push(b);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded).to_ascii_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Each catalog endpoint with its parameters filled in: `(method, path)`.
fn concrete_endpoints() -> impl Strategy<Value = (String, String)> {
    let endpoints: Vec<(String, Vec<Option<String>>)> = catalog()
        .scopes
        .iter()
        .flat_map(|s| s.endpoints.clone())
        .map(|e| {
            let (method, path) = e.split_once(' ').unwrap();
            let segments = path
                .trim_matches('/')
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            (method.to_owned(), segments)
        })
        .collect();
    (
        0..endpoints.len(),
        proptest::collection::vec("[A-Za-z0-9_~-]{1,8}", 4),
    )
        .prop_map(move |(i, params)| {
            let (method, segments) = &endpoints[i];
            let mut params = params.into_iter();
            let path: Vec<String> = segments
                .iter()
                .map(|s| s.clone().unwrap_or_else(|| params.next().unwrap()))
                .collect();
            (method.clone(), format!("/{}", path.join("/")))
        })
}

/// One way to spell a canonical path: escapes in either case, upper-case
/// letters, extra slashes, `.` and `x/..` segments, a query.
fn spelling(path: String) -> impl Strategy<Value = String> {
    let n = path.len();
    (
        proptest::collection::vec(0u8..6, n),
        proptest::collection::vec(0u8..5, n),
        any::<bool>(),
    )
        .prop_map(move |(chars, slashes, query)| {
            let mut out = String::new();
            for (i, c) in path.chars().enumerate() {
                if c == '/' {
                    out.push('/');
                    match slashes[i] {
                        1 => out.push('/'),
                        2 => out.push_str("./"),
                        3 => out.push_str("junk/../"),
                        _ => {}
                    }
                    continue;
                }
                match chars[i] {
                    1 => out.push_str(&format!("%{:02X}", c as u32)),
                    2 => out.push_str(&format!("%{:02x}", c as u32)),
                    3 => out.push(c.to_ascii_uppercase()),
                    _ => out.push(c),
                }
            }
            if query {
                out.push_str("?expand=all&x=%2F..");
            }
            out
        })
}

/// Paths made of pieces an attacker would try.
fn hostile_path() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("/"),
        Just("//"),
        Just("v1"),
        Just("customers"),
        Just("export"),
        Just("records"),
        Just("payments"),
        Just("refund"),
        Just("42"),
        Just("."),
        Just(".."),
        Just("%2e"),
        Just("%2E%2E"),
        Just("%2F"),
        Just("%2f"),
        Just("%5C"),
        Just("\\"),
        Just("%65"),
        Just("xport"),
        Just("EXPORT"),
        Just("%45XPORT"),
        Just("%25"),
        Just("%2565"),
        Just(";x"),
        Just("%3B"),
        Just("%00"),
        Just("%"),
        Just("%g0"),
        Just("?"),
        Just("#"),
        Just("~"),
        Just("%7E"),
        Just(" "),
        Just("%20"),
        Just("é"),
    ];
    proptest::collection::vec(pieces, 1..12).prop_map(|p| format!("/{}", p.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any spelling of a catalog endpoint's path is decided as the
    /// endpoint itself, or refused.
    #[test]
    fn every_spelling_of_an_endpoint_gets_its_scope_or_is_refused(
        (method, spelled, canonical) in concrete_endpoints()
            .prop_flat_map(|(m, p)| (Just(m), spelling(p.clone()), Just(p)))
    ) {
        let c = catalog();
        let want = decided(&c, &method, &canonical).unwrap();
        // A refusal is always safe; a decision must be the endpoint's.
        if let Ok(got) = decided(&c, &method, &spelled) {
            prop_assert_eq!(got, want, "{} {}", method, spelled);
        }
        // HEAD is the GET of the same path.
        if method == "GET" {
            prop_assert_eq!(decided(&c, "HEAD", &spelled), decided(&c, "GET", &spelled));
        }
    }

    /// A path that is decided at all is decided as the endpoint an upstream
    /// that decodes everything and ignores case would serve, or as a more
    /// specific one (more literal segments: an upstream that also drops
    /// trailing dots or format suffixes reads it so): no path gets a weaker,
    /// less specific endpoint's scope.
    #[test]
    fn no_accepted_path_means_another_endpoint_upstream(path in hostile_path()) {
        let c = catalog();
        if let Ok(request) = CanonicalRequest::parse("GET", &path) {
            let ours = c.endpoint_for(&request);
            // Matched as the upstream reads it, without our refusals.
            let upstream = CanonicalRequest { method: "GET".into(), path: upstream_reading(&path) };
            let theirs = c.endpoint_for(&upstream);
            let literals = |p: &str| p.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')).count();
            match (ours, theirs) {
                (Some(o), Some(t)) if o.pattern != t.pattern => prop_assert!(
                    literals(o.pattern) > literals(t.pattern),
                    "{} is {} here but {} upstream", path, o.pattern, t.pattern
                ),
                (None, Some(t)) => prop_assert!(false, "{} matches nothing here but {} upstream", path, t.pattern),
                _ => {}
            }
            prop_assert!(canonical_path(&path).is_ok());
        }
    }
}
