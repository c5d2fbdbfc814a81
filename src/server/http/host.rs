//! Which `Host` the portal answers: the host and port of the public URL,
//! and, while that URL is a loopback address (development), any loopback
//! host. Anything else gets 421 Misdirected Request (RFC 9110 §15.5.20), so
//! that a DNS-rebound name or a stray virtual host reaches nothing.
//!
//! Machine paths (verification, the sample API, health) are exempt: gateways
//! and load balancers call them by internal names, and they do not rely on
//! a browser's same-origin rules.

use axum::http::{header, uri::Authority, HeaderMap, Uri};
use url::Url;

/// The hosts the portal answers, derived from the public URL.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    host: String,
    port: u16,
    loopback: bool,
}

impl AllowedHosts {
    /// From the configured public URL (`scheme://host[:port]`).
    pub fn from_public_url(public_url: &str) -> Self {
        let url = Url::parse(public_url).ok();
        let host = url
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or("localhost")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = url
            .as_ref()
            .and_then(|u| u.port_or_known_default())
            .unwrap_or(80);
        let loopback = is_loopback(&host);
        Self {
            host,
            port,
            loopback,
        }
    }

    /// Whether a request naming this `Host` (or HTTP/2 `:authority`) is for
    /// this portal. A request naming none is not.
    pub fn allows(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        let authority = match uri.authority() {
            Some(authority) => Some(authority.clone()),
            None => headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.parse::<Authority>().ok()),
        };
        let Some(authority) = authority else {
            return false;
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if self.loopback && is_loopback(&host) {
            return true;
        }
        let default_port = if self.port == 443 { 443 } else { 80 };
        host == self.host && authority.port_u16().unwrap_or(default_port) == self.port
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(public: &str, host: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        AllowedHosts::from_public_url(public).allows(&Uri::from_static("/keys"), &headers)
    }

    #[test]
    fn only_the_public_host_and_port_are_answered() {
        let public = "https://keys.example.com";
        assert!(allows(public, "keys.example.com"));
        assert!(allows(public, "KEYS.example.com:443"));
        assert!(allows(public, "keys.example.com."));
        assert!(!allows(public, "keys.example.com:8443"));
        assert!(!allows(public, "evil.example"));
        assert!(
            !allows(public, "127.0.0.1:3000"),
            "loopback only in development"
        );
        assert!(!allows(public, "keys.example.com.evil.example"));
        assert!(allows(
            "http://portal.internal:8080",
            "portal.internal:8080"
        ));
        assert!(!allows("http://portal.internal:8080", "portal.internal"));
    }

    #[test]
    fn a_loopback_public_url_answers_any_loopback_host() {
        let public = "http://127.0.0.1:3000";
        assert!(allows(public, "127.0.0.1:3000"));
        assert!(allows(public, "localhost:41234"));
        assert!(allows(public, "[::1]:3000"));
        assert!(!allows(public, "rebind.attacker.example:3000"));
        assert!(!allows(public, "192.168.1.5:3000"));
    }

    #[test]
    fn a_request_naming_no_host_is_refused() {
        let hosts = AllowedHosts::from_public_url("http://127.0.0.1:3000");
        assert!(!hosts.allows(&Uri::from_static("/"), &HeaderMap::new()));
    }
}
