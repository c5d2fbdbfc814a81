//! Loading the scope catalog from the operator's TOML file (or the sample
//! that ships with Portico), with every problem reported as `file:line`.

use crate::domain::scopes::{check_scope_name, Catalog, Resource, Risk, Scope};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

/// The sample catalog, used when `PORTICO_SCOPE_CATALOG` is not set.
pub const SAMPLE: &str = include_str!("sample.toml");
/// What the sample is called in error messages.
pub const SAMPLE_NAME: &str = "the built-in sample catalog";

/// HTTP methods an endpoint may name.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    resources: BTreeMap<String, Spanned<ResourceEntry>>,
    #[serde(default)]
    scope: Vec<Spanned<ScopeEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceEntry {
    title: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeEntry {
    name: Spanned<String>,
    description: Spanned<String>,
    risk: Spanned<String>,
    endpoints: Spanned<Vec<Spanned<String>>>,
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Reads the catalog at `path`, or the sample when `path` is `None`.
pub fn load(path: Option<&std::path::Path>) -> Result<Catalog, String> {
    match path {
        None => parse(SAMPLE, SAMPLE_NAME),
        Some(path) => {
            let source = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the scope catalog {}: {e}", path.display()))?;
            parse(&source, &path.display().to_string())
        }
    }
}

/// Parses and checks a catalog. The error names the file, the line and the
/// problem: `scopes.toml:14: risk must be "low" or "high", not "medium"`.
pub fn parse(source: &str, file: &str) -> Result<Catalog, String> {
    let at =
        |offset: usize, problem: String| format!("{file}:{}: {problem}", line_of(source, offset));
    let parsed: File = toml::from_str(source).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(source, s.start));
        format!("{file}:{line}: {}", e.message().trim())
    })?;

    let mut resources: Vec<Resource> = Vec::new();
    for (name, entry) in &parsed.resources {
        if entry.get_ref().title.trim().is_empty() {
            return Err(at(
                entry.span().start,
                format!("resource {name:?} needs a title"),
            ));
        }
        resources.push(Resource {
            name: name.clone(),
            title: entry.get_ref().title.trim().to_owned(),
            description: entry.get_ref().description.trim().to_owned(),
        });
    }

    if parsed.scope.is_empty() {
        return Err(format!("{file}:1: the catalog lists no [[scope]]"));
    }
    let mut scopes: Vec<Scope> = Vec::new();
    let mut endpoint_owner: HashMap<(String, String), String> = HashMap::new();
    for entry in &parsed.scope {
        let entry = entry.get_ref();
        let name = entry.name.get_ref().trim().to_owned();
        check_scope_name(&name).map_err(|p| at(entry.name.span().start, p))?;
        if scopes.iter().any(|s| s.name == name) {
            return Err(at(
                entry.name.span().start,
                format!("scope {name:?} is listed twice"),
            ));
        }
        let description = entry.description.get_ref().trim().to_owned();
        if description.is_empty() {
            return Err(at(
                entry.description.span().start,
                format!("scope {name:?} needs a description"),
            ));
        }
        let risk = match entry.risk.get_ref().as_str() {
            "low" => Risk::Low,
            "high" => Risk::High,
            other => {
                return Err(at(
                    entry.risk.span().start,
                    format!("risk must be \"low\" or \"high\", not {other:?}"),
                ))
            }
        };
        if entry.endpoints.get_ref().is_empty() {
            return Err(at(
                entry.endpoints.span().start,
                format!("scope {name:?} covers no endpoints"),
            ));
        }
        let mut endpoints = Vec::new();
        for endpoint in entry.endpoints.get_ref() {
            let (method, path) =
                parse_endpoint(endpoint.get_ref()).map_err(|p| at(endpoint.span().start, p))?;
            let shape = path_shape(&path);
            if let Some(other) = endpoint_owner.insert((method.clone(), shape), name.clone()) {
                return Err(at(
                    endpoint.span().start,
                    format!("{method} {path} is already covered by scope {other:?}: each endpoint belongs to one scope"),
                ));
            }
            endpoints.push(format!("{method} {path}"));
        }
        let resource = name
            .split_once(':')
            .map(|(r, _)| r.to_owned())
            .unwrap_or_default();
        if !resources.iter().any(|r| r.name == resource) {
            resources.push(Resource {
                title: capitalise(&resource),
                name: resource,
                description: String::new(),
            });
        }
        scopes.push(Scope {
            name,
            description,
            risk,
            endpoints,
        });
    }

    // Headings in the order their scopes first appear.
    let order: Vec<&str> = scopes.iter().map(Scope::resource).collect();
    resources.retain(|r| order.contains(&r.name.as_str()));
    resources.sort_by_key(|r| {
        order
            .iter()
            .position(|n| *n == r.name)
            .unwrap_or(usize::MAX)
    });
    Ok(Catalog::new(resources, scopes))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Checks `METHOD /path/{param}` and returns its parts.
fn parse_endpoint(text: &str) -> Result<(String, String), String> {
    let (method, path) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("endpoint {text:?} must look like \"GET /v1/things/{{id}}\""))?;
    let method = method.trim();
    let path = path.trim();
    if !METHODS.contains(&method) {
        return Err(format!(
            "endpoint {text:?}: method must be one of {}",
            METHODS.join(", ")
        ));
    }
    if !path.starts_with('/') || path.len() < 2 {
        return Err(format!(
            "endpoint {text:?}: the path must start with / and name something"
        ));
    }
    if path[1..].split('/').count() > MAX_ENDPOINT_SEGMENTS {
        return Err(format!(
            "endpoint {text:?}: a path has at most {MAX_ENDPOINT_SEGMENTS} segments"
        ));
    }
    for segment in path[1..].split('/') {
        if segment == "." || segment == ".." {
            return Err(format!(
                "endpoint {text:?}: {segment:?} is a dot-segment, which requests never reach"
            ));
        }
        let is_param = segment.len() > 2
            && segment.starts_with('{')
            && segment.ends_with('}')
            && segment[1..segment.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        let is_literal = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
        if !is_param && !is_literal {
            return Err(format!(
                "endpoint {text:?}: segment {segment:?} must be a plain name or a {{parameter}}"
            ));
        }
    }
    Ok((method.to_owned(), path.to_owned()))
}

/// Most segments an endpoint's path may have (requests with more match no
/// endpoint).
const MAX_ENDPOINT_SEGMENTS: usize = 32;

/// `/v1/Things/{id}` → `/v1/things/{}`: neither parameter names nor the
/// case of literal segments (matched without case) make two endpoints
/// different.
fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                "{}".to_owned()
            } else {
                s.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod scope_properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_catalog_is_valid_and_realistic() {
        let catalog = parse(SAMPLE, SAMPLE_NAME).unwrap();
        assert!(catalog.resources.len() >= 4);
        for resource in &catalog.resources {
            let actions: Vec<&str> = catalog
                .scopes_of(&resource.name)
                .map(|s| s.action())
                .collect();
            assert!(
                actions.contains(&"read"),
                "{} has a read scope",
                resource.name
            );
        }
        assert!(catalog.scopes.iter().any(|s| s.risk == Risk::High));
        assert!(catalog
            .default_scopes()
            .iter()
            .all(|s| s.ends_with(":read")));
        assert_eq!(catalog.resources[0].title, "Records");
    }

    fn error_of(source: &str) -> String {
        parse(source, "scopes.toml").unwrap_err()
    }

    const GOOD: &str = "[[scope]]\nname = \"a:read\"\ndescription = \"d\"\nrisk = \"low\"\nendpoints = [\"GET /v1/a\"]\n";

    #[test]
    fn problems_name_the_file_and_line() {
        assert_eq!(parse(GOOD, "scopes.toml").unwrap().scopes.len(), 1);

        let bad_risk = GOOD.replace("\"low\"", "\"medium\"");
        assert_eq!(
            error_of(&bad_risk),
            "scopes.toml:4: risk must be \"low\" or \"high\", not \"medium\""
        );

        let bad_name = GOOD.replace("a:read", "A-read");
        assert!(error_of(&bad_name).starts_with("scopes.toml:2: scope name \"A-read\""));

        let bad_method = GOOD.replace("GET /v1/a", "FETCH /v1/a");
        assert!(
            error_of(&bad_method).starts_with("scopes.toml:5: endpoint \"FETCH /v1/a\": method")
        );

        let bad_path = GOOD.replace("GET /v1/a", "GET v1/a");
        assert!(error_of(&bad_path).starts_with("scopes.toml:5:"));

        let syntax = format!("{GOOD}\n[[scope]\nname = 1\n");
        assert!(
            error_of(&syntax).starts_with("scopes.toml:7:"),
            "{}",
            error_of(&syntax)
        );

        let unknown_field = GOOD.replace("risk = \"low\"", "risk = \"low\"\ncolour = \"red\"");
        let err = error_of(&unknown_field);
        assert!(
            err.starts_with("scopes.toml:") && err.contains("colour"),
            "{err}"
        );

        let missing = GOOD.replace("description = \"d\"\n", "");
        assert!(
            error_of(&missing).contains("description"),
            "{}",
            error_of(&missing)
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let twice = format!("{GOOD}{GOOD}");
        assert_eq!(
            error_of(&twice),
            "scopes.toml:7: scope \"a:read\" is listed twice"
        );
        let shared = format!("{GOOD}{}", GOOD.replace("a:read", "a:list"));
        assert!(error_of(&shared).contains("already covered by scope \"a:read\""));
        let shared_param = "[[scope]]\nname = \"a:read\"\ndescription = \"d\"\nrisk = \"low\"\nendpoints = [\"GET /v1/a/{id}\", \"GET /v1/a/{key}\"]\n";
        assert!(error_of(shared_param).contains("already covered"));
    }

    #[test]
    fn endpoints_that_requests_could_not_tell_apart_are_refused() {
        let cased = "[[scope]]\nname = \"a:read\"\ndescription = \"d\"\nrisk = \"low\"\nendpoints = [\"GET /v1/export\", \"GET /v1/Export\"]\n";
        assert!(
            error_of(cased).contains("already covered"),
            "{}",
            error_of(cased)
        );
        let dotted = GOOD.replace("GET /v1/a", "GET /v1/../a");
        assert!(
            error_of(&dotted).contains("dot-segment"),
            "{}",
            error_of(&dotted)
        );
        let deep = GOOD.replace("GET /v1/a", &format!("GET {}", "/a".repeat(33)));
        assert!(
            error_of(&deep).contains("at most 32 segments"),
            "{}",
            error_of(&deep)
        );
    }

    #[test]
    fn an_empty_catalog_is_refused() {
        assert_eq!(
            error_of("# nothing\n"),
            "scopes.toml:1: the catalog lists no [[scope]]"
        );
    }

    #[test]
    fn resources_without_a_heading_get_one() {
        let catalog = parse(GOOD, "scopes.toml").unwrap();
        assert_eq!(catalog.resources[0].title, "A");
    }
}
