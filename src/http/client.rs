//! Who is calling: the client address (the TCP peer, or the left-most entry of the configured
//! proxy header) and the user agent.
//!
//! Without `LATCHKEY_CLIENT_IP_HEADER`, headers such as `X-Forwarded-For` are ignored, so
//! rotating them cannot dodge a per-IP limit. With it, the header's value is used only if it
//! parses as an address (a 10 KB value or garbage falls back to the peer).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::config::Config;
use crate::services::ClientInfo;

/// Longest proxy header value considered.
const MAX_HEADER_CHARS: usize = 1024;

/// The client of `req` as the configuration says to determine it.
pub fn client_info(req: &HttpRequest, config: &Config) -> ClientInfo {
    let peer = req.peer_addr().map(|addr| addr.ip());
    let forwarded = config.client_ip_header.as_deref().and_then(|name| {
        let value = req.headers().get(name)?.to_str().ok()?;
        if value.len() > MAX_HEADER_CHARS {
            return None;
        }
        parse_ip(value.split(',').next()?.trim())
    });
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    ClientInfo::new(forwarded.or(peer), user_agent.as_deref())
}

/// The key rate limits count under (an unknown address shares one bucket).
pub fn limit_key(client: &ClientInfo) -> IpAddr {
    client.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `1.2.3.4`, `::1`, `1.2.3.4:5678` or `[::1]:5678`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::parse_ip;

    #[test]
    fn addresses_with_or_without_ports_parse() {
        assert_eq!(parse_ip("203.0.113.7"), "203.0.113.7".parse().ok());
        assert_eq!(parse_ip("203.0.113.7:443"), "203.0.113.7".parse().ok());
        assert_eq!(parse_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_ip("not-an-ip"), None);
    }
}
