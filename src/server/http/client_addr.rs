//! The client's address, worked out once per request.

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The address a request came from: the TCP peer, or, behind a trusted
/// reverse proxy, the address that proxy saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Middleware that puts a [`ClientAddr`] into the request's extensions.
pub async fn client_addr(
    State(trust_forwarded_for): State<bool>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let addr = client_ip(peer, req.headers(), trust_forwarded_for);
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

/// The client's address. A trusted proxy appends the address it saw to
/// `X-Forwarded-For`: the right-most entry of the last header. Anything to its
/// left was written by the client and proves nothing.
///
/// The address is canonical: an IPv4-mapped IPv6 address (a dual-stack
/// listener's `::ffff:203.0.113.7`) is the IPv4 address it carries, so that
/// allowlists, throttles, alerts and usage all see one form.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    forwarded_ip(peer, headers, trust_forwarded_for).to_canonical()
}

fn forwarded_ip(peer: IpAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    if !trust_forwarded_for {
        return peer;
    }
    last_forwarded_for(headers)
        .and_then(|s| s.parse().ok())
        .unwrap_or(peer)
}

/// The right-most entry of the last `X-Forwarded-For` header, trimmed: the
/// address the nearest proxy saw (it appends it). `None` without the header
/// or when it is not text.
pub fn last_forwarded_for(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        headers
    }

    #[test]
    fn ipv4_mapped_addresses_are_canonical() {
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_ip(mapped, &HeaderMap::new(), false), v4);
        assert_eq!(
            client_ip(PEER, &forwarded(&["::ffff:203.0.113.7"]), true),
            v4
        );
    }

    #[test]
    fn without_trust_the_peer_is_the_client() {
        assert_eq!(client_ip(PEER, &forwarded(&["203.0.113.9"]), false), PEER);
    }

    #[test]
    fn with_trust_the_proxys_entry_counts_and_client_entries_do_not() {
        let h = forwarded(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(
            client_ip(PEER, &h, true),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let h = forwarded(&["1.2.3.4", "2001:db8::7"]);
        assert_eq!(
            client_ip(PEER, &h, true),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_garbled_or_missing_entry_falls_back_to_the_peer() {
        assert_eq!(
            client_ip(PEER, &forwarded(&["1.2.3.4, garbage"]), true),
            PEER
        );
        assert_eq!(client_ip(PEER, &HeaderMap::new(), true), PEER);
    }
}
