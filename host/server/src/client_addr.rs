//! The client's address: the TCP peer, or what a trusted proxy says.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The client's IP address. When the peer is a trusted proxy, the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy is the
/// client; otherwise the header is ignored, since anyone can send it.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_header_only_from_trusted_proxies() {
        let proxy = IpAddr::from([10, 0, 0, 1]);
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.1".parse().expect("header"));
        assert_eq!(client_addr(proxy, &headers, &[proxy]), IpAddr::from([198, 51, 100, 7]));
        let stranger = IpAddr::from([192, 0, 2, 1]);
        assert_eq!(client_addr(stranger, &headers, &[proxy]), stranger);
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
