//! One parser per kind of setting: each trims the text, checks it, and
//! returns the setting's type or a problem phrased for a person.

use super::{DatabaseKind, DatabaseUrl, ServerSecret, Unset};
use crate::domain::keys::IpAllowlist;
use crate::server::secrets::bearer_token::BearerToken;
use std::{net::SocketAddr, ops::RangeInclusive, path::PathBuf, time::Duration};
use url::Url;
pub(super) fn database_url(given: &str) -> Result<DatabaseUrl, String> {
    let kind = if given.starts_with("sqlite:") {
        DatabaseKind::Sqlite
    } else if given.starts_with("postgres://") || given.starts_with("postgresql://") {
        DatabaseKind::Postgres
    } else {
        return Err("expected a sqlite://PATH or postgres://… URL".into());
    };
    Ok(DatabaseUrl {
        url: given.to_owned(),
        kind,
    })
}

pub(super) fn socket_addr(given: &str) -> Result<SocketAddr, String> {
    given
        .trim()
        .parse()
        .map_err(|_| "expected an address and port such as 127.0.0.1:3000".into())
}

pub(super) fn public_url(given: &str) -> Result<Unset<String>, String> {
    if given.trim().is_empty() {
        return Ok(None);
    }
    let url = Url::parse(given.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(
            "expected an http:// or https:// address such as https://keys.example.com".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err("expected just scheme, host and port, without a path or query".into());
    }
    Ok(Some(url.as_str().trim_end_matches('/').to_owned()))
}

pub(super) fn boolean(given: &str) -> Result<bool, String> {
    match given.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub(super) fn server_secret(given: &str) -> Result<Unset<ServerSecret>, String> {
    match given.trim() {
        "" => Ok(None),
        hex => ServerSecret::from_hex(hex).map(Some),
    }
}

pub(super) fn bearer_token(given: &str) -> Result<Unset<BearerToken>, String> {
    match given.trim() {
        "" => Ok(None),
        token => BearerToken::parse(token).map(Some),
    }
}

pub(super) fn file_path(given: &str) -> Result<PathBuf, String> {
    match given.trim() {
        "" => Err("expected a file path".into()),
        path => Ok(PathBuf::from(path)),
    }
}

pub(super) fn existing_file(given: &str) -> Result<Unset<PathBuf>, String> {
    match given.trim() {
        "" => Ok(None),
        path if std::path::Path::new(path).is_file() => Ok(Some(PathBuf::from(path))),
        _ => Err("no such file".into()),
    }
}

pub(super) fn log_filter(given: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(given)
        .map(|_| given.to_owned())
        .map_err(|e| format!("not a log filter ({e})"))
}

/// A parser for a whole number within `range`, as the type `T` the setting holds.
pub(super) fn count<T: TryFrom<u64>>(
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |given| {
        let n: u64 = given
            .trim()
            .parse()
            .map_err(|_| "expected a whole number")?;
        if !range.contains(&n) {
            return Err(format!(
                "expected a number from {} to {}",
                range.start(),
                range.end()
            ));
        }
        T::try_from(n).map_err(|_| "too large".to_owned())
    }
}

pub(super) fn minutes(
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync {
    let n = count::<u64>(range);
    move |given| n(given).map(|m| Duration::from_secs(m * 60))
}

pub(super) fn hours(
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync {
    let n = count::<u64>(range);
    move |given| n(given).map(|h| Duration::from_secs(h * 3600))
}

pub(super) fn smtp_url(given: &str) -> Result<Unset<String>, String> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(None);
    }
    // The URL may hold a password: the problem never quotes it.
    let url = Url::parse(given).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
        return Err("expected smtp://HOST:PORT or smtps://HOST:PORT".into());
    }
    Ok(Some(given.to_owned()))
}

/// Redis for limits across instances: `redis://[USER:PASS@]HOST[:PORT][/DB]`.
pub(super) fn redis_url(given: &str) -> Result<Unset<super::RedisUrl>, String> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(None);
    }
    // The URL may hold a password: the problem never quotes it.
    let url = Url::parse(given).map_err(|e| format!("not a URL ({e})"))?;
    if url.scheme() != "redis" || url.host_str().is_none() {
        return Err("expected redis://[USER:PASS@]HOST[:PORT][/DB] (TLS and Unix sockets are not supported: run Redis on a private network)".into());
    }
    let db = url.path().trim_start_matches('/');
    if !db.is_empty() && db.parse::<u16>().is_err() {
        return Err(
            "the database after the host is a number from 0, e.g. redis://HOST:6379/0".into(),
        );
    }
    redis::Client::open(given).map_err(|_| "the Redis client cannot use this URL".to_owned())?;
    Ok(Some(super::RedisUrl(given.to_owned())))
}

pub(super) fn mailbox(given: &str) -> Result<lettre::message::Mailbox, String> {
    given
        .trim()
        .parse()
        .map_err(|e| format!("not an email address ({e})"))
}

pub(super) fn gateway_addresses(given: &str) -> Result<IpAllowlist, String> {
    IpAllowlist::parse(given)
}

/// A header name for API keys: not one that carries other credentials.
pub(super) fn key_header(given: &str) -> Result<axum::http::HeaderName, String> {
    let name = axum::http::HeaderName::from_bytes(given.trim().as_bytes())
        .map_err(|_| "expected a header name such as X-API-Key")?;
    match name.as_str() {
        "authorization" | "proxy-authorization" | "portico-gateway-token" | "cookie" => {
            Err(format!(
                "{} carries another credential; choose a header of its own such as X-API-Key",
                given.trim()
            ))
        }
        _ => Ok(name),
    }
}
