//! Scopes: what a key may do. The operator's catalog lists them; a key holds
//! a subset.

use super::request_path::{is_plain_segment, reads_as_folded, CanonicalRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How much damage a scope can do in the wrong hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reading, or harmless changes.
    Low,
    /// Moving money, deleting data, administering the account.
    High,
}

impl Risk {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::High => "high",
        }
    }
}

/// One scope of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// `resource:action`, e.g. `records:read`.
    pub name: String,
    /// What it allows, in a sentence.
    pub description: String,
    /// Low or high.
    pub risk: Risk,
    /// The endpoints it covers, `METHOD /path/{param}`.
    pub endpoints: Vec<String>,
}

impl Scope {
    /// The part before the colon.
    pub fn resource(&self) -> &str {
        self.name.split_once(':').map_or(&self.name, |(r, _)| r)
    }

    /// The part after the colon.
    pub fn action(&self) -> &str {
        self.name.split_once(':').map_or("", |(_, a)| a)
    }

    /// Read-only and low risk: what a new key gets unless someone asks for more.
    pub fn is_least_privilege_default(&self) -> bool {
        self.risk == Risk::Low && self.action() == "read"
    }
}

/// A resource heading for the scope picker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource part of scope names.
    pub name: String,
    /// A short title.
    pub title: String,
    /// A sentence about it.
    pub description: String,
}

/// The scope catalog: every scope the platform knows, grouped by resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Resources, in catalog order.
    pub resources: Vec<Resource>,
    /// Scopes, in catalog order.
    pub scopes: Vec<Scope>,
    /// Endpoint patterns, ready for matching (built on the server only).
    #[serde(skip)]
    routes: Vec<Route>,
}

/// One endpoint pattern: a method and path segments, `None` for `{param}`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Route {
    method: String,
    segments: Vec<Option<String>>,
    scope: usize,
    pattern: String,
}

/// What a request maps to in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointMatch<'a> {
    /// The scope that covers it.
    pub scope: &'a Scope,
    /// The endpoint pattern, `GET /v1/records/{id}`.
    pub pattern: &'a str,
}

/// Most scopes one key may hold.
pub const MAX_SCOPES_PER_KEY: usize = 64;

impl Catalog {
    /// A catalog of these resources and scopes, with its endpoints compiled
    /// for matching.
    pub fn new(resources: Vec<Resource>, scopes: Vec<Scope>) -> Self {
        let routes = scopes
            .iter()
            .enumerate()
            .flat_map(|(i, scope)| {
                scope.endpoints.iter().filter_map(move |endpoint| {
                    let (method, path) = endpoint.split_once(' ')?;
                    Some(Route {
                        method: method.to_ascii_uppercase(),
                        segments: path
                            .trim_matches('/')
                            .split('/')
                            .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                            .collect(),
                        scope: i,
                        pattern: endpoint.clone(),
                    })
                })
            })
            .collect();
        Self {
            resources,
            scopes,
            routes,
        }
    }

    /// The endpoint a canonical request hits, if the catalog lists it.
    /// `{param}` matches any one segment; literal segments beat parameters
    /// and match any segment an upstream could read as them
    /// ([`reads_as`](super::request_path::reads_as): without case, trailing dots or a format suffix, after
    /// Unicode folding), so that `/v1/customers/EXPORT` and
    /// `/v1/customers/export.json` are the export, not a customer. `HEAD` is
    /// decided as `GET` (RFC 9110 §9.3.2).
    pub fn endpoint_for(&self, request: &CanonicalRequest) -> Option<EndpointMatch<'_>> {
        // Catalog paths are short (at most 32 segments, checked when the
        // catalog is loaded): the segments live on the stack.
        const MOST: usize = 32;
        let mut found = [("", true); MOST];
        let mut n = 0;
        for segment in request.segments() {
            *found.get_mut(n)? = (segment, is_plain_segment(segment));
            n += 1;
        }
        let segments = &found[..n];
        let method = request.scope_method();
        self.routes
            .iter()
            .filter(|r| r.segments.len() == n && (r.method == method || r.method == request.method))
            .filter(|r| {
                r.segments
                    .iter()
                    .zip(segments)
                    .all(|(want, &(got, plain))| match want {
                        Some(literal) => {
                            literal.eq_ignore_ascii_case(got)
                                || (!plain && reads_as_folded(literal, got))
                        }
                        None => !got.is_empty(),
                    })
            })
            .max_by_key(|r| r.segments.iter().filter(|s| s.is_some()).count())
            .map(|r| EndpointMatch {
                scope: &self.scopes[r.scope],
                pattern: &r.pattern,
            })
    }

    /// The endpoint of `method path`, canonicalised first; `None` also for
    /// a request that cannot be canonicalised.
    pub fn endpoint_for_raw(&self, method: &str, path: &str) -> Option<EndpointMatch<'_>> {
        self.endpoint_for(&CanonicalRequest::parse(method, path).ok()?)
    }

    /// The scope called `name`.
    pub fn get(&self, name: &str) -> Option<&Scope> {
        self.scopes.iter().find(|s| s.name == name)
    }

    /// The scopes of `resource`, in catalog order.
    pub fn scopes_of<'a>(&'a self, resource: &'a str) -> impl Iterator<Item = &'a Scope> + 'a {
        self.scopes.iter().filter(move |s| s.resource() == resource)
    }

    /// The least-privilege default: every low-risk read scope.
    pub fn default_scopes(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| s.is_least_privilege_default())
            .map(|s| s.name.clone())
            .collect()
    }

    /// Checks a selection: at least one scope, all known, no more than the
    /// limit. Returns the names sorted and without duplicates.
    pub fn parse_selection(&self, names: &[String]) -> Result<Vec<String>, String> {
        let set: BTreeSet<&str> = names
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if set.is_empty() {
            return Err(
                "Choose at least one scope. Read-only scopes are the safe start.".to_owned(),
            );
        }
        let unknown: Vec<&str> = set
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "Unknown scope{}: {}. Choose from the list.",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ));
        }
        if set.len() > MAX_SCOPES_PER_KEY {
            return Err(format!(
                "A key can hold at most {MAX_SCOPES_PER_KEY} scopes."
            ));
        }
        Ok(set.into_iter().map(str::to_owned).collect())
    }

    /// The high-risk scopes among `names`.
    pub fn high_risk<'a>(&'a self, names: &'a [String]) -> Vec<&'a Scope> {
        names
            .iter()
            .filter_map(|n| self.get(n))
            .filter(|s| s.risk == Risk::High)
            .collect()
    }
}

/// Checks a scope name: `resource:action`, lower-case letters, digits and
/// underscores, each part starting with a letter.
pub fn check_scope_name(name: &str) -> Result<(), String> {
    let part_ok = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    match name.split_once(':') {
        Some((resource, action)) if part_ok(resource) && part_ok(action) => Ok(()),
        _ => Err(format!(
            "scope name {name:?} must look like resource:action (lower-case letters, digits, _)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str, risk: Risk) -> Scope {
        Scope {
            name: name.into(),
            description: format!("{name} things"),
            risk,
            endpoints: vec![],
        }
    }

    fn catalog() -> Catalog {
        Catalog::new(
            vec![],
            vec![
                scope("records:read", Risk::Low),
                scope("records:write", Risk::Low),
                scope("records:delete", Risk::High),
                scope("payments:read", Risk::Low),
                scope("payments:refund", Risk::High),
                scope("audit:read", Risk::High),
            ],
        )
    }

    fn with_endpoints(name: &str, endpoints: &[&str]) -> Scope {
        Scope {
            endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
            ..scope(name, Risk::Low)
        }
    }

    #[test]
    fn requests_map_to_the_scope_that_covers_them() {
        let c = Catalog::new(
            vec![],
            vec![
                with_endpoints(
                    "customers:read",
                    &["GET /v1/customers", "GET /v1/customers/{id}"],
                ),
                with_endpoints("customers:export", &["GET /v1/customers/export"]),
                with_endpoints("payments:refund", &["POST /v1/payments/{id}/refund"]),
            ],
        );
        let scope = |m: &str, p: &str| c.endpoint_for_raw(m, p).map(|e| e.scope.name.as_str());
        assert_eq!(scope("GET", "/v1/customers"), Some("customers:read"));
        assert_eq!(scope("get", "/v1/customers/"), Some("customers:read"));
        assert_eq!(
            scope("GET", "/v1/customers/42?expand=all"),
            Some("customers:read")
        );
        assert_eq!(
            scope("GET", "/v1/customers/export"),
            Some("customers:export")
        );
        assert_eq!(
            scope("POST", "/v1/payments/p_1/refund"),
            Some("payments:refund")
        );
        assert_eq!(scope("POST", "/v1/customers"), None);
        assert_eq!(scope("GET", "/v1/customers/42/orders"), None);
        assert_eq!(scope("GET", "/v1/payments//refund"), None);
        assert_eq!(
            c.endpoint_for_raw("GET", "/v1/customers/7")
                .unwrap()
                .pattern,
            "GET /v1/customers/{id}"
        );
    }

    #[test]
    fn the_default_is_low_risk_reads_only() {
        assert_eq!(
            catalog().default_scopes(),
            vec!["records:read", "payments:read"]
        );
    }

    #[test]
    fn selections_are_checked_sorted_and_deduplicated() {
        let c = catalog();
        let picked = c
            .parse_selection(&[
                "records:write".into(),
                "records:read".into(),
                "records:write".into(),
            ])
            .unwrap();
        assert_eq!(picked, vec!["records:read", "records:write"]);
        assert!(c.parse_selection(&[]).unwrap_err().contains("at least one"));
        assert!(c.parse_selection(&["  ".into()]).is_err());
        let err = c
            .parse_selection(&["records:read".into(), "nukes:launch".into()])
            .unwrap_err();
        assert!(err.contains("nukes:launch"), "{err}");
    }

    #[test]
    fn high_risk_scopes_are_picked_out() {
        let c = catalog();
        let chosen = vec!["records:read".to_owned(), "payments:refund".to_owned()];
        let high: Vec<&str> = c
            .high_risk(&chosen)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(high, vec!["payments:refund"]);
    }

    #[test]
    fn scope_names_are_resource_colon_action() {
        assert!(check_scope_name("records:read").is_ok());
        assert!(check_scope_name("web_hooks:manage2").is_ok());
        for bad in [
            "records",
            "Records:read",
            "records:",
            ":read",
            "records:read:all",
            "1x:read",
            "re cords:read",
        ] {
            assert!(check_scope_name(bad).is_err(), "{bad}");
        }
    }
}
