//! The settings that plug Latchkey into a product: the session cookie's reach, where `next` may
//! lead, the reset link's address, the product's name and look, and CORS for single-page apps.
//!
//! Every one is off (or Latchkey's own value) when unset, so a deployment that sets none of them
//! behaves exactly as before.

use std::path::PathBuf;
use std::sync::Arc;

use super::{ConfigError, PublicUrl, Vars};

/// A theme stylesheet is read once at start-up; more than this is not a theme.
const MAX_THEME_BYTES: u64 = 256 * 1024;
/// The product's name goes into titles, headers and mail subjects.
const MAX_PRODUCT_NAME_CHARS: usize = 64;

/// How Latchkey fits into the product around it.
#[derive(Debug, Clone)]
pub struct ProductConfig {
    /// `Domain` of the session cookie (`LATCHKEY_COOKIE_DOMAIN`); `None` keeps it host-only.
    pub cookie_domain: Option<String>,
    /// `Path` of the session cookie (`LATCHKEY_COOKIE_PATH`, default the public URL's path):
    /// forward auth in front of a product outside that path needs `/`, or the browser never
    /// sends the cookie with the product's requests.
    pub cookie_path: String,
    /// Origins an absolute `next` may lead to after login and logout
    /// (`LATCHKEY_ALLOWED_RETURN_ORIGINS`), each `scheme://host[:port]`.
    pub allowed_return_origins: Vec<String>,
    /// The reset mail's link with `{token}` in it (`LATCHKEY_RESET_URL`); `None` for Latchkey's
    /// own page under the public URL.
    pub reset_url: Option<String>,
    /// The name in titles, the page header, mail subjects, bodies and footers.
    pub product_name: String,
    /// The contents of `LATCHKEY_THEME_CSS`, served at `/static/theme.css`.
    pub theme_css: Option<Arc<str>>,
    /// A directory served at `/static/…` (`LATCHKEY_STATIC_DIR`), e.g. for a logo.
    pub static_dir: Option<PathBuf>,
    /// Origins allowed to call `/api/*` from a browser (`LATCHKEY_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
}

impl ProductConfig {
    pub(super) fn from_vars(vars: &Vars<'_>, public_url: &PublicUrl) -> Result<Self, ConfigError> {
        let default_path = match public_url.prefix() {
            "" => "/".to_owned(),
            prefix => prefix.to_owned(),
        };
        Ok(Self {
            cookie_domain: vars.parse("LATCHKEY_COOKIE_DOMAIN", None, |raw| {
                let domain = parse_cookie_domain(raw)?;
                // Browsers drop a cookie whose Domain does not cover the host that set it.
                let host = url::Url::parse(public_url.as_str())
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_owned))
                    .unwrap_or_default();
                if host == domain || host.ends_with(&format!(".{domain}")) {
                    Ok(Some(domain))
                } else {
                    Err(format!(
                        "the host of LATCHKEY_PUBLIC_URL ({host}) or a parent domain of it"
                    ))
                }
            })?,
            cookie_path: vars.parse("LATCHKEY_COOKIE_PATH", default_path, parse_cookie_path)?,
            allowed_return_origins: vars.parse(
                "LATCHKEY_ALLOWED_RETURN_ORIGINS",
                Vec::new(),
                parse_origins,
            )?,
            reset_url: vars.parse("LATCHKEY_RESET_URL", None, |raw| {
                parse_reset_url(raw).map(Some)
            })?,
            product_name: vars.parse(
                "LATCHKEY_PRODUCT_NAME",
                "Latchkey".to_owned(),
                parse_product_name,
            )?,
            theme_css: vars.parse("LATCHKEY_THEME_CSS", None, |raw| read_theme(raw).map(Some))?,
            static_dir: vars.parse("LATCHKEY_STATIC_DIR", None, |raw| {
                let dir = PathBuf::from(raw);
                if dir.is_dir() {
                    Ok(Some(dir))
                } else {
                    Err("an existing directory".to_owned())
                }
            })?,
            cors_origins: vars.parse("LATCHKEY_CORS_ORIGINS", Vec::new(), |raw| {
                if raw.split(',').any(|origin| origin.trim() == "*") {
                    return Err("a list of exact origins such as https://app.example.com \
                                (* is refused: the API would answer every site)"
                        .to_owned());
                }
                parse_origins(raw)
            })?,
        })
    }

    /// Whether `origin` (`scheme://host[:port]`) may be named by an absolute `next`.
    pub fn return_origin_allowed(&self, origin: &str) -> bool {
        self.allowed_return_origins
            .iter()
            .any(|allowed| allowed == origin)
    }
}

/// `https://app.example.com, http://localhost:3000`: each an origin, normalised as browsers
/// write it (lowercase host, no default port, no trailing slash).
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(parse_origin)
        .collect()
}

fn parse_origin(raw: &str) -> Result<String, String> {
    let expected = || {
        format!(
            "comma-separated origins such as https://app.example.com (not a path or URL: {raw})"
        )
    };
    let url = url::Url::parse(raw).map_err(|_| expected())?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && !raw.trim_end_matches('/').ends_with(':')
        && url.query().is_none()
        && url.fragment().is_none()
        && raw.matches('/').count() <= 3;
    if !bare {
        return Err(expected());
    }
    Ok(url.origin().ascii_serialization())
}

/// The origin of an absolute http(s) URL, as `parse_origins` writes origins; `None` for
/// anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return None;
    }
    Some(parsed.origin().ascii_serialization())
}

fn parse_cookie_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim_start_matches('.').to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(domain)
    } else {
        Err("a domain name such as example.com (the cookie then reaches its subdomains)".to_owned())
    }
}

fn parse_cookie_path(raw: &str) -> Result<String, String> {
    let valid = raw.starts_with('/')
        && raw.len() <= 256
        && raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
    if valid {
        Ok(match raw.trim_end_matches('/') {
            "" => "/".to_owned(),
            path => path.to_owned(),
        })
    } else {
        Err("a path such as / or /auth".to_owned())
    }
}

/// An absolute http(s) URL with `{token}` exactly once, e.g. `https://app.example.com/reset#token={token}`.
fn parse_reset_url(raw: &str) -> Result<String, String> {
    let expected = || {
        "an absolute http(s) URL containing {token} exactly once, e.g. https://app.example.com/reset#token={token}".to_owned()
    };
    if raw.matches("{token}").count() != 1 || raw.chars().any(char::is_control) {
        return Err(expected());
    }
    let probe = raw.replace("{token}", "0");
    let url = url::Url::parse(&probe).map_err(|_| expected())?;
    let valid = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none();
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(expected())
    }
}

fn parse_product_name(raw: &str) -> Result<String, String> {
    let valid = raw.chars().count() <= MAX_PRODUCT_NAME_CHARS && !raw.chars().any(char::is_control);
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "a name of at most {MAX_PRODUCT_NAME_CHARS} characters on one line"
        ))
    }
}

fn read_theme(raw: &str) -> Result<Arc<str>, String> {
    let expected = |why: &str| format!("a readable CSS file of at most 256 KiB ({why})");
    let meta = std::fs::metadata(raw).map_err(|err| expected(&err.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_THEME_BYTES {
        return Err(expected("not a file, or too large"));
    }
    let text = std::fs::read_to_string(raw).map_err(|err| expected(&err.to_string()))?;
    Ok(Arc::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            parse_origins("https://App.Example.com, http://localhost:3000/").unwrap(),
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(
            parse_origins("https://a.test:443").unwrap(),
            vec!["https://a.test"]
        );
        for bad in [
            "https://a.test/app",
            "a.test",
            "ftp://a.test",
            "https://u@a.test",
            "https://a.test?x",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reset_url_needs_one_token_placeholder() {
        assert!(parse_reset_url("https://app.test/reset#token={token}").is_ok());
        assert!(parse_reset_url("https://app.test/reset/{token}?x=1").is_ok());
        for bad in [
            "https://app.test/reset",
            "https://app.test/{token}/{token}",
            "/reset/{token}",
            "javascript:{token}",
            "https://app.test/\n{token}",
        ] {
            assert!(parse_reset_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cookie_domain_and_path_are_checked() {
        assert_eq!(parse_cookie_domain(".Example.com").unwrap(), "example.com");
        assert!(parse_cookie_domain("localhost").is_err());
        assert!(parse_cookie_domain("a b.com").is_err());
        assert_eq!(parse_cookie_path("/auth/").unwrap(), "/auth");
        assert_eq!(parse_cookie_path("/").unwrap(), "/");
        assert!(parse_cookie_path("auth").is_err());
        assert!(parse_cookie_path("/a;b").is_err());
    }
}
