//! Who is calling: the client address and the user agent.
//!
//! The client address is the TCP peer unless `LATCHKEY_CLIENT_IP_HEADER` names a forwarding
//! header (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, …). Then:
//!
//! * The header is read only on connections from a trusted proxy (`LATCHKEY_TRUSTED_PROXIES`;
//!   by default the TCP peer, whoever it is, is taken to be the one proxy). From anyone else it
//!   is ignored, so rotating it cannot dodge a per-IP limit.
//! * Proxies append, so the entries are read right to left, over every occurrence of the header:
//!   entries that are themselves trusted proxies are hops and are skipped; the first other entry
//!   is the client. If every entry is a trusted proxy, the left-most one is the client. The
//!   left-most entry is whatever the client wrote and is never taken while an untrusted entry
//!   stands to its right.
//! * A malformed entry (not an address, `unknown`, an obfuscated `_id`, an over-long entry) where
//!   the walk would pick the client stops the walk: the client is then the nearest address we
//!   trust, the last trusted hop (the peer if no hop was skipped). A client can therefore never
//!   choose its address by writing garbage.
//! * Inputs are bounded: at most [`MAX_HOPS`] entries are examined, each at most
//!   [`MAX_ENTRY_BYTES`] long; reaching the bound counts as a malformed entry.
//!
//! `Forwarded` (RFC 7239) elements are split on `,` and their parameters on `;` without regard
//! to quotes: the elements our proxies append never hold those characters, and a quoted comma
//! can only appear in client-written text, where splitting it leaves an unbalanced quote that is
//! then malformed (and so stops the walk at a trusted address). Of each element only `for=` is
//! used: a bare IPv4 address, `"IPv4:port"`, `"[IPv6]"` or `"[IPv6]:port"`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::config::{Config, TrustedProxies};
use crate::services::ClientInfo;

/// At most this many entries of the header are examined (proxy chains are short).
pub const MAX_HOPS: usize = 32;
/// An entry longer than this is malformed (`for="[v6]:port";proto=https;by=…` fits easily).
pub const MAX_ENTRY_BYTES: usize = 256;

/// The client of `req` as the configuration says to determine it.
pub fn client_info(req: &HttpRequest, config: &Config) -> ClientInfo {
    let peer = req.peer_addr().map(|addr| addr.ip().to_canonical());
    let ip = match (&config.client_ip_header, peer) {
        (Some(name), Some(peer)) => {
            let values: Vec<&[u8]> = req
                .headers()
                .get_all(name.as_str())
                .map(|value| value.as_bytes())
                .collect();
            Some(client_ip(
                peer,
                &values,
                HeaderFormat::of(name),
                &config.trusted_proxies,
            ))
        }
        _ => peer,
    };
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    ClientInfo::new(ip, user_agent.as_deref()).counted_per_network(config.ipv6_prefix)
}

/// How the client address is decided, for the start-up log line: `the TCP peer`, or the header
/// and whom it is believed from.
pub fn describe(config: &Config) -> String {
    match &config.client_ip_header {
        None => "the TCP peer".to_owned(),
        Some(name) => format!(
            "right-most untrusted entry of {name}, believed from trusted proxies: {}",
            config.trusted_proxies
        ),
    }
}

/// The key rate limits count under: the client's address, an IPv6 client's network
/// (`LATCHKEY_IPV6_PREFIX`); an unknown address shares one bucket.
pub fn limit_key(client: &ClientInfo) -> IpAddr {
    client.network.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// How the forwarding header lists its hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFormat {
    /// `X-Forwarded-For` and its kin: comma-separated addresses.
    AddressList,
    /// RFC 7239 `Forwarded`: comma-separated elements with a `for=` parameter.
    Forwarded,
}

impl HeaderFormat {
    /// The format of the header called `name`.
    pub fn of(name: &str) -> Self {
        if name.eq_ignore_ascii_case("forwarded") {
            Self::Forwarded
        } else {
            Self::AddressList
        }
    }
}

/// The client address for a connection from `peer` carrying `values` (every occurrence of the
/// header, in the order received), by the rules in the module documentation.
pub fn client_ip(
    peer: IpAddr,
    values: &[&[u8]],
    format: HeaderFormat,
    trusted: &TrustedProxies,
) -> IpAddr {
    if !trusted.trusts_peer(peer) {
        return peer;
    }
    let mut nearest_trusted = peer;
    let entries = values
        .iter()
        .rev()
        .flat_map(|value| value.rsplit(|&byte| byte == b','));
    for (examined, entry) in entries.enumerate() {
        if examined == MAX_HOPS {
            return nearest_trusted;
        }
        let parsed = match format {
            HeaderFormat::AddressList => parse_address_entry(entry),
            HeaderFormat::Forwarded => parse_forwarded_element(entry),
        };
        match parsed {
            Some(ip) if trusted.is_listed(ip) => nearest_trusted = ip,
            Some(ip) => return ip,
            None => return nearest_trusted,
        }
    }
    nearest_trusted
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `::1`, `1.2.3.4:5678`, `[::1]` or `[::1]:5678`.
fn parse_address_entry(entry: &[u8]) -> Option<IpAddr> {
    if entry.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let text = std::str::from_utf8(entry).ok()?.trim_matches([' ', '\t']);
    parse_node(text, false)
}

/// One `Forwarded` element: its single `for=` parameter's node.
fn parse_forwarded_element(element: &[u8]) -> Option<IpAddr> {
    if element.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let text = std::str::from_utf8(element).ok()?;
    let mut node = None;
    for pair in text.split(';').map(|pair| pair.trim_matches([' ', '\t'])) {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if name.eq_ignore_ascii_case("for") {
            if node.is_some() {
                return None;
            }
            node = Some(value);
        }
    }
    let value = node?;
    let unquoted = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => value,
    };
    if unquoted.contains(['"', '\\']) {
        return None;
    }
    parse_node(unquoted, true)
}

/// An address with an optional port. `obfuscated_port` allows RFC 7239's `_name` ports.
/// `unknown`, obfuscated identifiers and host names are not addresses.
fn parse_node(text: &str, obfuscated_port: bool) -> Option<IpAddr> {
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Ok(addr) = text.parse::<SocketAddr>() {
        addr.ip()
    } else if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|port| valid_port(port, obfuscated_port));
        if !port_ok {
            return None;
        }
        IpAddr::V6(inside.parse().ok()?)
    } else {
        let (host, port) = text.rsplit_once(':')?;
        if !(obfuscated_port && port.starts_with('_') && valid_port(port, true)) {
            return None;
        }
        IpAddr::V4(host.parse().ok()?)
    };
    Some(ip.to_canonical())
}

fn valid_port(port: &str, obfuscated: bool) -> bool {
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let hidden = obfuscated
        && port.len() > 1
        && port.starts_with('_')
        && port[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    (digits && port.parse::<u16>().is_ok()) || hidden
}

#[cfg(test)]
mod tests;
