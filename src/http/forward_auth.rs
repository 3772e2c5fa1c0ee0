//! `GET`/`HEAD /auth/verify`: the endpoint a reverse proxy asks before letting a request through
//! to the product (nginx `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`).
//!
//! * It reads an `Authorization: Bearer` token when one is sent (and then only that), else the
//!   browser session cookie. It changes nothing but the session's idle clock (the session
//!   middleware's usual touch; a bearer token's last-use time likewise).
//! * Logged in: `200`, empty body, `X-Latchkey-User-Id`, `X-Latchkey-Username`,
//!   `X-Latchkey-Email` (the stored values, byte for byte) and `Cache-Control: no-store`.
//! * Otherwise `401` with `WWW-Authenticate: Bearer` and no identity. A browser (`Accept:
//!   text/html`) whose proxy names the original URL (`X-Original-URL`, or `X-Forwarded-Uri` with
//!   `X-Forwarded-Proto`/`-Host`, as Traefik and Caddy send them) gets `302` to the login page
//!   with that URL as `next` instead, when the URL is on the public URL's origin (then `next` is
//!   its path) or on an origin of `LATCHKEY_ALLOWED_RETURN_ORIGINS`. nginx's `auth_request`
//!   cannot pass a redirect on, so the nginx example sends none of those headers and turns the
//!   `401` into the redirect with `error_page`.
//! * The database out of reach: `503` (a session that cannot be loaded is the pages' `503`),
//!   so the proxy refuses rather than lets anyone through.
//! * Revocation (logout, log out everywhere, a password change or reset) deletes the session
//!   row or outdates the password stamp, both read on every call: `401` at once, everywhere.

use actix_session::Session;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::bearer::parse_bearer;
use super::pages::session::session_account;
use super::{blocking, AppState};
use crate::config::{origin_of, Config};
use crate::db::users::User;
use crate::services::account::login::AuthError;

/// The identity headers a logged-in answer carries.
pub const USER_ID: &str = "x-latchkey-user-id";
/// See [`USER_ID`].
pub const USERNAME: &str = "x-latchkey-username";
/// See [`USER_ID`].
pub const EMAIL: &str = "x-latchkey-email";

/// Longest original URL taken from a proxy header.
const MAX_ORIGINAL_URL: usize = 1024;

/// Who the request belongs to, if anyone; `Err` when the database could not say.
enum Verdict {
    User(User),
    Nobody,
    Unavailable,
}

/// `GET`/`HEAD /auth/verify`.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
) -> HttpResponse {
    let verdict = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => bearer_user(&state, value).await,
        None => match session_account(&state, &session).await {
            Ok(Some(user)) => Verdict::User(user),
            Ok(None) => Verdict::Nobody,
            Err(_) => Verdict::Unavailable,
        },
    };
    match verdict {
        Verdict::User(user) => identified(&user),
        Verdict::Nobody => refused(&state.config, &req),
        Verdict::Unavailable => HttpResponse::ServiceUnavailable()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
    }
}

async fn bearer_user(state: &AppState, value: &HeaderValue) -> Verdict {
    let Some(token) = value.to_str().ok().and_then(parse_bearer) else {
        return Verdict::Nobody;
    };
    let accounts = state.accounts.clone();
    match blocking::run(move || accounts.authenticate(&token)).await {
        Ok(Ok(authenticated)) => Verdict::User(authenticated.user),
        Ok(Err(AuthError::Invalid)) => Verdict::Nobody,
        Ok(Err(AuthError::Failed(_))) | Err(_) => Verdict::Unavailable,
    }
}

fn identified(user: &User) -> HttpResponse {
    let values = (
        HeaderValue::from_str(&user.id.to_string()),
        HeaderValue::from_bytes(user.username.as_bytes()),
        HeaderValue::from_bytes(user.email.as_bytes()),
    );
    let (Ok(id), Ok(username), Ok(email)) = values else {
        // Stored values never hold CR, LF or other controls (checked when they are set).
        tracing::error!(
            user_id = user.id,
            "account values cannot be sent as headers"
        );
        return HttpResponse::InternalServerError()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    };
    HttpResponse::Ok()
        .insert_header((USER_ID, id))
        .insert_header((USERNAME, username))
        .insert_header((EMAIL, email))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn refused(config: &Config, req: &HttpRequest) -> HttpResponse {
    if wants_html(req.headers()) {
        if let Some(next) = original_url(req.headers()).and_then(|url| return_to(config, &url)) {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &next)
                .finish();
            return HttpResponse::Found()
                .insert_header((
                    header::LOCATION,
                    format!("{}?{query}", config.public_url.join("/login")),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
    }
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty() && value.len() <= MAX_ORIGINAL_URL)
}

/// The URL the browser asked the proxy for, as the proxy reports it.
fn original_url(headers: &HeaderMap) -> Option<String> {
    if let Some(url) = text(headers, "x-original-url") {
        if url.starts_with("http://") || url.starts_with("https://") {
            return Some(url.to_owned());
        }
    }
    let path = text(headers, "x-forwarded-uri")
        .or_else(|| text(headers, "x-original-url").filter(|url| url.starts_with('/')))?;
    let proto = text(headers, "x-forwarded-proto")?;
    let host = text(headers, "x-forwarded-host")?;
    if !matches!(proto, "http" | "https") || !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    Some(format!("{proto}://{host}{path}"))
}

/// What `next` becomes for `url`: its path on the public URL's own origin, the URL itself on an
/// allowed origin, else nothing (the answer stays `401`).
fn return_to(config: &Config, url: &str) -> Option<String> {
    let origin = origin_of(url)?;
    let parsed = url::Url::parse(url).ok()?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    if origin == config.public_url.origin() {
        let path = &parsed[url::Position::BeforePath..url::Position::AfterQuery];
        return Some(path.to_owned());
    }
    config
        .product
        .return_origin_allowed(&origin)
        .then(|| parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn config() -> Config {
        Config::from_vars(&|name| match name {
            "LATCHKEY_PUBLIC_URL" => Some("https://example.com/auth".to_owned()),
            "LATCHKEY_ALLOWED_RETURN_ORIGINS" => Some("https://app.example.com".to_owned()),
            _ => None,
        })
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_original_url_comes_from_either_convention() {
        let traefik = headers(&[
            ("x-forwarded-uri", "/app/inbox?x=1"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "app.example.com"),
        ]);
        assert_eq!(
            original_url(&traefik).as_deref(),
            Some("https://app.example.com/app/inbox?x=1")
        );
        let nginx = headers(&[("x-original-url", "https://example.com/app")]);
        assert_eq!(
            original_url(&nginx).as_deref(),
            Some("https://example.com/app")
        );
        assert_eq!(original_url(&headers(&[("x-forwarded-uri", "/x")])), None);
    }

    #[test]
    fn only_the_own_or_allowed_origins_are_returned_to() {
        let config = config();
        assert_eq!(
            return_to(&config, "https://example.com/app?x=1").as_deref(),
            Some("/app?x=1")
        );
        assert_eq!(
            return_to(&config, "https://app.example.com/inbox").as_deref(),
            Some("https://app.example.com/inbox")
        );
        for other in [
            "https://evil.test/",
            "http://example.com/app",
            "https://u@app.example.com/",
            "javascript:alert(1)",
        ] {
            assert_eq!(return_to(&config, other), None, "{other}");
        }
    }
}
