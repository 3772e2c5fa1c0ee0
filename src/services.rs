//! Use cases: plain synchronous Rust called by HTTP handlers (on blocking threads), the CLI and
//! the workers alike, so a rule is written once for every face of Latchkey. One file or folder
//! per use case:
//!
//! * [`account`]: the signed-in account (`login`, `sessions`, `change_password`, `devices`).
//! * [`reset`]: reset by emailed token (`request`, `resolve`, `token`, `confirm`, `hooks`,
//!   `wasnt_me`).
//! * [`account_admin`], [`admin_tokens`], [`outbox_admin`]: the administrator's commands.
//! * [`ip_limits`]: the per-IP limits every edge applies before a use case runs.
//! * [`outbox`] (a leaf everyone enqueues into), [`notices`], [`audit`], [`webhooks`],
//!   [`health`]: what the use cases share.

pub mod account;
pub mod account_admin;
pub mod admin_tokens;
pub mod audit;
pub mod health;
pub mod ip_limits;
pub mod notices;
pub mod outbox;
pub mod outbox_admin;
pub mod reset;
pub mod webhooks;

use std::net::IpAddr;

/// Longest `User-Agent` kept (longer values are cut, never refused).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// Who made a request: recorded on tokens and audit events, and what rate limits key on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client address (the peer, or the configured proxy header).
    pub ip: Option<IpAddr>,
    /// The `User-Agent`, cut to [`MAX_USER_AGENT_CHARS`].
    pub user_agent: Option<String>,
    /// What rate limits count the client as: its address, or for IPv6 its network (see
    /// [`ClientInfo::counted_per_network`]).
    pub network: Option<IpAddr>,
}

impl ClientInfo {
    /// A client with its user agent cut to the stored length.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
            network: ip,
        }
    }

    /// Counts an IPv6 client by its first `prefix` bits: one host is given a whole /64 and
    /// could otherwise take a fresh address for every guess. IPv4 addresses count one by one.
    pub fn counted_per_network(mut self, prefix: u8) -> Self {
        self.network = self.ip.map(|ip| match ip {
            IpAddr::V6(v6) => {
                ipnet::Ipv6Net::new(v6, prefix).map_or(ip, |net| IpAddr::V6(net.trunc().addr()))
            }
            IpAddr::V4(_) => ip,
        });
        self
    }

    /// The address as stored.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}
