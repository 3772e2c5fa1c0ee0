//! Configuration: every environment variable, parsed once at start-up into [`Config`].
//!
//! Nothing else in Latchkey reads the environment. Each variable has a default that makes
//! `cargo run` work on a fresh machine; an invalid value stops start-up with one line naming the
//! variable and what it expects. A `.env` file in the working directory is read first (dotenvy).
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | `sqlite://latchkey.db` |
//! | `LATCHKEY_BIND` | `127.0.0.1:8080` |
//! | `LATCHKEY_HTTP_WORKERS` | one per core |
//! | `LATCHKEY_PUBLIC_URL` | `http://127.0.0.1:8080` |
//! | `LATCHKEY_SECRET_KEY` | SQLite: generated into `latchkey.secret`; PostgreSQL: required |
//! | `LATCHKEY_SECRET_KEY_FALLBACKS` | none (comma-separated older keys, still accepted for reading) |
//! | `LATCHKEY_DRAIN_DELAY` | `5s` (after SIGTERM, `/readyz` answers 503 this long before the server stops accepting) |
//! | `LATCHKEY_METRICS_BIND` | `127.0.0.1:9464` (`off`: no metrics listener) |
//! | `LATCHKEY_RESET_TOKEN_TTL` | `60m` |
//! | `LATCHKEY_API_TOKEN_TTL` | `7d` |
//! | `LATCHKEY_SESSION_TTL` | `12h` (absolute) |
//! | `LATCHKEY_SESSION_IDLE_TIMEOUT` | `30m` |
//! | `LATCHKEY_NO_INFORMATION_LEAKAGE` | `true` |
//! | `LATCHKEY_USER_DETAILS_ON_VALIDATION` | `false` |
//! | `LATCHKEY_LOOKUP_FIELD` | `email` |
//! | `LATCHKEY_REQUIRE_USABLE_PASSWORD` | `true` |
//! | `LATCHKEY_CLIENT_IP_HEADER` | unset (peer address) |
//! | `LATCHKEY_TRUSTED_PROXIES` | the TCP peer only (needs `LATCHKEY_CLIENT_IP_HEADER`) |
//! | `LATCHKEY_IPV6_PREFIX` | `64` (IPv6 clients are limited per network of this length, 32..128) |
//! | `LATCHKEY_TOKEN_GENERATOR` | `string` (`LATCHKEY_TOKEN_MIN_LENGTH`/`MAX_LENGTH` 64/64; `LATCHKEY_TOKEN_MIN_NUMBER`/`MAX_NUMBER` 100000/999999) |
//! | `LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL` | `true` (number codes only: `validate_token/` and `confirm/` need the account's `email`) |
//! | `LATCHKEY_PASSWORD_MIN_LENGTH` | `12` |
//! | `LATCHKEY_ARGON2_MEMORY_KIB` / `_ITERATIONS` / `_PARALLELISM` | `19456` / `2` / `1` |
//! | `LATCHKEY_EMAIL_BACKEND` | `file` (`smtp`, `file`, `log`) |
//! | `LATCHKEY_SMTP_URL` | `smtp://127.0.0.1:25` |
//! | `LATCHKEY_MAIL_DIR` | `./mail` |
//! | `LATCHKEY_EMAIL_FROM` | `Latchkey <no-reply@localhost>` |
//! | `LATCHKEY_EMAIL_WORKERS` | `4` |
//! | `LATCHKEY_SMTP_TIMEOUT` | `10s` |
//! | `LATCHKEY_EMAIL_MAX_ATTEMPTS` | `10` |
//! | `LATCHKEY_EMAIL_RETRY_BASE` | `2s` |
//! | `LATCHKEY_EMAIL_POLL_INTERVAL` | `1s` |
//! | `LATCHKEY_DB_POOL_SIZE` | `8` |
//! | `LATCHKEY_LOG` | `info` |
//! | `LATCHKEY_LOG_FORMAT` | `text` (`json`) |
//! | `LATCHKEY_RATE_LIMITS` | `on` (`off` disables every limit below) |
//! | `LATCHKEY_RATE_RESET_REQUESTS_PER_IP` | `100/10m` |
//! | `LATCHKEY_RATE_RESET_MAILS_PER_ACCOUNT` | `10/1h` |
//! | `LATCHKEY_RATE_TOKEN_CHECKS_PER_IP` | `100/10m` |
//! | `LATCHKEY_RATE_TOKEN_CHECKS_GLOBAL` | `100/1h` (number tokens only) |
//! | `LATCHKEY_RATE_LOGIN_FAILURES_PER_IP` | `100/10m` |
//! | `LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP` | `20/1h` |
//! | `LATCHKEY_RATE_PASSWORD_CHANGES_PER_ACCOUNT` | `20/1h` |
//! | `LATCHKEY_WASNT_ME_TTL` | `7d` |
//! | `LATCHKEY_AUDIT_RETENTION` | `90d` |
//! | `LATCHKEY_WEBHOOK_URL` / `LATCHKEY_WEBHOOK_SECRET` | unset (the secret is required with the URL) |
//! | `LATCHKEY_RESET_DELIVERY` | `email` (`webhook`, `both`) |
//! | `LATCHKEY_COOKIE_DOMAIN` | unset (host-only session cookie) |
//! | `LATCHKEY_COOKIE_PATH` | the public URL's path (`/` at the root) |
//! | `LATCHKEY_ALLOWED_RETURN_ORIGINS` | none (an absolute `next` is ignored) |
//! | `LATCHKEY_RESET_URL` | `{LATCHKEY_PUBLIC_URL}/reset-password/{token}` |
//! | `LATCHKEY_PRODUCT_NAME` | `Latchkey` |
//! | `LATCHKEY_THEME_CSS` | unset (no `/static/theme.css`) |
//! | `LATCHKEY_STATIC_DIR` | unset (nothing else under `/static/`) |
//! | `LATCHKEY_CORS_ORIGINS` | none (no CORS headers) |

mod database_url;
mod languages;
mod limits;
mod notices;
mod product;
mod proxies;
mod sections;
pub mod values;

/// Parsed here from `LATCHKEY_TOKEN_GENERATOR…`; defined beside the generators it selects.
pub use crate::domain::reset_token::TokenGeneratorConfig;
pub use database_url::DatabaseUrl;
pub use languages::LanguageConfig;
pub use limits::RateLimits;
pub use notices::{NoticeConfig, ResetDelivery, WebhookConfig};
pub use product::{origin_of, ProductConfig};
pub use proxies::TrustedProxies;
pub use sections::{
    AccountBinding, Argon2Cost, EmailBackend, EmailConfig, LogConfig, LogFormat, LookupField,
    PasswordPolicy, ResetConfig,
};

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::secrets::SecretKey;

/// Every setting Latchkey reads, typed and validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which database, and therefore which backend.
    pub database_url: DatabaseUrl,
    /// Connections kept per process.
    pub db_pool_size: u32,
    /// The listen address of `serve`.
    pub bind: SocketAddr,
    /// HTTP worker threads (one per core by default).
    pub http_workers: usize,
    /// The origin every emailed link is built from; request headers never are.
    pub public_url: PublicUrl,
    /// `LATCHKEY_SECRET_KEY` as given; resolved (or generated) by [`crate::secrets`].
    pub secret_key: Option<SecretKey>,
    /// Older secret keys, still accepted for reading while everything new uses `secret_key`:
    /// rotation without logging anyone out or breaking a link.
    pub secret_key_fallbacks: Vec<SecretKey>,
    /// After SIGTERM, how long `/readyz` answers `draining` before the server stops accepting
    /// (so load balancers stop sending first).
    pub drain_delay: Duration,
    /// Where Prometheus metrics are served (never the public listener); `None` is `off`.
    pub metrics_bind: Option<SocketAddr>,
    /// The password-reset settings of django-rest-passwordreset, under our names.
    pub reset: ResetConfig,
    /// Lifetime of a login bearer token.
    pub api_token_ttl: Duration,
    /// Absolute lifetime of a browser session.
    pub session_ttl: Duration,
    /// A browser session unused this long ends (never later than `session_ttl`).
    pub session_idle_timeout: Duration,
    /// Header to take the client address from (behind a trusted proxy only).
    pub client_ip_header: Option<String>,
    /// Peers whose `client_ip_header` is believed, and hops skipped inside it.
    pub trusted_proxies: TrustedProxies,
    /// IPv6 clients are counted by limits per network of this prefix length: one host owns a
    /// whole /64 and could otherwise take a fresh address for every guess.
    pub ipv6_prefix: u8,
    /// Rules for new passwords and the hashing cost.
    pub passwords: PasswordPolicy,
    /// Outbox delivery.
    pub email: EmailConfig,
    /// Log filter and format.
    pub log: LogConfig,
    /// Rate limits.
    pub limits: RateLimits,
    /// The languages of pages, mails and (optionally) the API.
    pub languages: LanguageConfig,
    /// Security notices, the audit log and webhooks.
    pub notices: NoticeConfig,
    /// How Latchkey plugs into the product around it (cookie reach, `next`, links, name, look,
    /// CORS).
    pub product: ProductConfig,
    /// Every variable name this configuration knows, to name a likely typo at start-up.
    known_variables: BTreeSet<String>,
}

/// Variables read only under some settings (the generator's bounds, the number-code binding):
/// known even when this configuration did not ask for them.
const SOMETIMES_READ: [&str; 5] = [
    "LATCHKEY_TOKEN_MIN_LENGTH",
    "LATCHKEY_TOKEN_MAX_LENGTH",
    "LATCHKEY_TOKEN_MIN_NUMBER",
    "LATCHKEY_TOKEN_MAX_NUMBER",
    "LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL",
];

/// An invalid configuration value: the one line start-up prints before exiting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: expected {expected}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What a valid value looks like.
    pub expected: String,
}

/// Reads one variable; empty values count as unset so `FOO=` in `.env` means "default".
/// Remembers every name asked for: those are the variables Latchkey knows.
pub(crate) struct Vars<'a>(
    &'a dyn Fn(&str) -> Option<String>,
    RefCell<BTreeSet<String>>,
);

impl Vars<'_> {
    /// The raw value, if set and not empty.
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        self.1.borrow_mut().insert(name.to_owned());
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    /// Parses a variable with `parse`, or returns `default` when it is unset.
    pub(crate) fn parse<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.raw(name) {
            None => Ok(default),
            Some(raw) => parse(raw.trim()).map_err(|expected| ConfigError {
                variable: name,
                expected,
            }),
        }
    }
}

impl Config {
    /// Reads the process environment (after `.env`, which `main` loads).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests can configure an app without touching the
    /// process environment.
    pub fn from_vars(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(lookup, RefCell::default());
        let client_ip_header = vars.parse("LATCHKEY_CLIENT_IP_HEADER", None, parse_header_name)?;
        let trusted_proxies = vars.parse(
            "LATCHKEY_TRUSTED_PROXIES",
            TrustedProxies::default(),
            |raw| match &client_ip_header {
                // Listing proxies without naming their header would silently do nothing.
                None => Err("to be set only together with LATCHKEY_CLIENT_IP_HEADER \
                             (without a header the TCP peer is always the client)"
                    .to_owned()),
                Some(_) => TrustedProxies::parse(raw),
            },
        )?;
        let public_url = vars.parse(
            "LATCHKEY_PUBLIC_URL",
            PublicUrl::default_local(),
            PublicUrl::parse,
        )?;
        let product = ProductConfig::from_vars(&vars, &public_url)?;
        let mut config = Self {
            database_url: vars.parse(
                "DATABASE_URL",
                DatabaseUrl::Sqlite("latchkey.db".into()),
                DatabaseUrl::parse,
            )?,
            db_pool_size: vars.parse("LATCHKEY_DB_POOL_SIZE", 8, |raw| {
                values::integer_in(raw, 1, 128)
            })?,
            bind: vars.parse(
                "LATCHKEY_BIND",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                parse_bind,
            )?,
            http_workers: vars.parse(
                "LATCHKEY_HTTP_WORKERS",
                std::thread::available_parallelism().map_or(2, usize::from),
                |raw| values::integer_in(raw, 1, 256),
            )?,
            public_url: public_url.clone(),
            secret_key: vars.parse("LATCHKEY_SECRET_KEY", None, |raw| {
                SecretKey::from_base64(raw).map(Some)
            })?,
            secret_key_fallbacks: vars.parse(
                "LATCHKEY_SECRET_KEY_FALLBACKS",
                Vec::new(),
                |raw| {
                    raw.split(',')
                        .map(str::trim)
                        .filter(|key| !key.is_empty())
                        .map(SecretKey::from_base64)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|expected| format!("comma-separated keys, each {expected}"))
                },
            )?,
            drain_delay: vars.parse(
                "LATCHKEY_DRAIN_DELAY",
                Duration::from_secs(5),
                values::duration_or_zero,
            )?,
            metrics_bind: vars.parse(
                "LATCHKEY_METRICS_BIND",
                Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
                |raw| match raw {
                    "off" => Ok(None),
                    _ => parse_bind(raw).map(Some),
                },
            )?,
            reset: ResetConfig::from_vars(&vars)?,
            api_token_ttl: vars.parse("LATCHKEY_API_TOKEN_TTL", days(7), values::duration)?,
            session_ttl: vars.parse("LATCHKEY_SESSION_TTL", hours(12), values::duration)?,
            session_idle_timeout: vars.parse(
                "LATCHKEY_SESSION_IDLE_TIMEOUT",
                Duration::from_secs(30 * 60),
                values::duration,
            )?,
            client_ip_header,
            trusted_proxies,
            ipv6_prefix: vars.parse("LATCHKEY_IPV6_PREFIX", 64, |raw| {
                values::integer_in(raw, 32, 128)
            })?,
            passwords: PasswordPolicy::from_vars(&vars)?,
            email: EmailConfig::from_vars(&vars)?,
            log: LogConfig::from_vars(&vars)?,
            limits: RateLimits::from_vars(&vars)?,
            languages: LanguageConfig::from_vars(&vars)?,
            notices: NoticeConfig::from_vars(&vars)?,
            product,
            known_variables: BTreeSet::new(),
        };
        let mut known = vars.1.take();
        known.extend(SOMETIMES_READ.iter().map(|name| (*name).to_owned()));
        config.known_variables = known;
        Ok(config)
    }

    /// The `LATCHKEY_*` names among `set` that no setting reads: a likely typo, named at
    /// start-up so a misspelt variable does not silently keep its default.
    pub fn unknown_variables(&self, set: impl IntoIterator<Item = String>) -> Vec<String> {
        set.into_iter()
            .filter(|name| name.starts_with("LATCHKEY_") && !self.known_variables.contains(name))
            .collect()
    }
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3_600)
}

fn parse_bind(raw: &str) -> Result<SocketAddr, String> {
    let expected = || "HOST:PORT, e.g. 127.0.0.1:8080".to_owned();
    raw.to_socket_addrs()
        .map_err(|_| expected())?
        .next()
        .ok_or_else(expected)
}

fn parse_header_name(raw: &str) -> Result<Option<String>, String> {
    let valid = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(Some(raw.to_ascii_lowercase()))
    } else {
        Err("an HTTP header name such as X-Forwarded-For".to_owned())
    }
}

/// The public URL (`scheme://host[:port][/path]`, no trailing slash) that links are built from.
/// Its path, if any, is the prefix every route lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    fn default_local() -> Self {
        Self("http://127.0.0.1:8080".to_owned())
    }

    /// Accepts an absolute http(s) URL without query or fragment; a path prefix is kept.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || {
            "an absolute http:// or https:// URL without query string \
             (a path may only use letters, digits and - . _ ~ /)"
                .to_owned()
        };
        let url = url::Url::parse(raw).map_err(|_| expected())?;
        let valid = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && !url.path().contains("//")
            && url
                .path()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
        if !valid {
            return Err(expected());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// `self` followed by `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    /// The path Latchkey is served under: `""` at the root, else `/auth` (no trailing slash).
    pub fn prefix(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |at| at + 3);
        self.0[after_scheme..]
            .find('/')
            .map_or("", |at| &self.0[after_scheme + at..])
    }

    /// `scheme://host[:port]`, as a browser's `Origin` header writes it.
    pub fn origin(&self) -> &str {
        &self.0[..self.0.len() - self.prefix().len()]
    }

    /// Cookies get `Secure` (and HSTS is sent) only behind https.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The origin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(&move |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.database_url,
            DatabaseUrl::Sqlite("latchkey.db".into())
        );
        assert_eq!(config.bind.port(), 8080);
        assert_eq!(config.reset.token_ttl, Duration::from_secs(3600));
        assert_eq!(config.passwords.min_length, 12);
        assert_eq!(config.email.workers, 4);
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let err = config(&[("LATCHKEY_RESET_TOKEN_TTL", "soon")]).unwrap_err();
        assert_eq!(err.variable, "LATCHKEY_RESET_TOKEN_TTL");
        assert!(err.to_string().contains("duration"));
    }

    #[test]
    fn trusted_proxies_need_the_header_and_valid_ranges() {
        let default = config(&[("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For")]).unwrap();
        assert_eq!(default.trusted_proxies, TrustedProxies::PeerOnly);
        let listed = config(&[
            ("LATCHKEY_CLIENT_IP_HEADER", "Forwarded"),
            (
                "LATCHKEY_TRUSTED_PROXIES",
                "10.0.0.0/8, 127.0.0.1, fd00::/8",
            ),
        ])
        .unwrap();
        assert_eq!(listed.client_ip_header.as_deref(), Some("forwarded"));
        assert!(listed
            .trusted_proxies
            .is_listed("10.2.3.4".parse().unwrap()));
        for pairs in [
            vec![("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1")],
            vec![
                ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
                ("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/40"),
            ],
        ] {
            let err = config(&pairs).unwrap_err();
            assert_eq!(err.variable, "LATCHKEY_TRUSTED_PROXIES", "{err}");
        }
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let config = config(&[("LATCHKEY_PUBLIC_URL", "https://auth.example.com/")]).unwrap();
        assert_eq!(
            config.public_url.join("/reset-password/x"),
            "https://auth.example.com/reset-password/x"
        );
        assert!(config.public_url.is_https());
        assert_eq!(config.public_url.prefix(), "");
    }

    #[test]
    fn public_url_with_a_path_is_a_prefix() {
        let config = config(&[("LATCHKEY_PUBLIC_URL", "https://Example.com:8443/auth/")]).unwrap();
        assert_eq!(config.public_url.prefix(), "/auth");
        assert_eq!(config.public_url.origin(), "https://example.com:8443");
        assert_eq!(config.product.cookie_path, "/auth");
        assert_eq!(
            config.public_url.join("/login"),
            "https://example.com:8443/auth/login"
        );
    }

    #[test]
    fn unknown_variables_are_the_ones_nothing_reads() {
        let config = config(&[]).unwrap();
        let set = [
            "LATCHKEY_PUBLIC_URL",
            "LATCHKEY_PUBLC_URL",
            "LATCHKEY_TOKEN_MIN_NUMBER",
            "HOME",
        ]
        .map(str::to_owned);
        assert_eq!(config.unknown_variables(set), vec!["LATCHKEY_PUBLC_URL"]);
    }

    #[test]
    fn the_cookie_domain_must_cover_the_public_host() {
        let ok = config(&[
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_COOKIE_DOMAIN", ".Example.com"),
        ])
        .unwrap();
        assert_eq!(ok.product.cookie_domain.as_deref(), Some("example.com"));
        let err = config(&[
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_COOKIE_DOMAIN", "ample.com"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "LATCHKEY_COOKIE_DOMAIN");
    }

    #[test]
    fn cors_refuses_the_wildcard() {
        let err = config(&[("LATCHKEY_CORS_ORIGINS", "https://a.test, *")]).unwrap_err();
        assert_eq!(err.variable, "LATCHKEY_CORS_ORIGINS");
        let err = config(&[("LATCHKEY_RESET_URL", "https://a.test/reset")]).unwrap_err();
        assert_eq!(err.variable, "LATCHKEY_RESET_URL");
    }
}
