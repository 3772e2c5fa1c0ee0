//! Who is logged in to a browser session, and where to send them after login.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{web, FromRequest, HttpRequest};

use super::site::Site;
use super::{redirect, PageError};
use crate::config::{origin_of, Config};
use crate::db::users::User;
use crate::http::session_store::{CLIENT_IP, CLIENT_UA, DEVICE, STAMP, USER_ID};
use crate::http::{blocking, AppState};
use crate::services::ClientInfo;

/// The account logged in to this session, if it is still active and its password has not
/// changed since (a session from before a password change is worthless); a worthless session
/// is ended.
pub async fn current_user(
    state: &web::Data<AppState>,
    session: &Session,
) -> Result<Option<User>, PageError> {
    let logged_in = matches!(session.get::<i64>(USER_ID), Ok(Some(_)));
    let user = session_account(state, session).await?;
    if logged_in && user.is_none() {
        session.purge();
    }
    Ok(user)
}

/// The account logged in to this session ([`current_user`]), for pages that need a login.
/// Without one the page is not run: the browser goes to the login form, which comes back to
/// this page (its route under the public URL's prefix) once logged in.
#[derive(Debug)]
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return Err(PageError::Internal.into());
            };
            match current_user(&state, &req.get_session()).await? {
                Some(user) => Ok(Self(user)),
                None => {
                    let login = Site::of(&state.config).link("/login");
                    let here = req.match_pattern().unwrap_or_default();
                    let to_login = redirect(&format!("{login}?next={here}"));
                    Err(InternalError::from_response("login required", to_login).into())
                }
            }
        })
    }
}

/// Like [`current_user`], but changes nothing (forward auth reads sessions, never ends them).
pub async fn session_account(
    state: &web::Data<AppState>,
    session: &Session,
) -> Result<Option<User>, PageError> {
    let (Ok(Some(user_id)), Ok(Some(stamp))) =
        (session.get::<i64>(USER_ID), session.get::<i64>(STAMP))
    else {
        return Ok(None);
    };
    let accounts = state.accounts.clone();
    Ok(blocking::run(move || accounts.session_user(user_id, stamp))
        .await
        .map_err(PageError::from)??)
}

/// Starts a logged-in session: a new session id (the pre-login one is dropped), the account and
/// its password stamp, and for the device list a random login id with the client's address and
/// user agent.
pub fn log_in(session: &Session, user: &User, client: &ClientInfo) -> Result<(), PageError> {
    session.renew();
    crate::http::csrf::forget(session);
    let device = hex::encode(crate::domain::random_bytes::<16>());
    session
        .insert(USER_ID, user.id)
        .and_then(|()| session.insert(STAMP, user.password_stamp))
        .and_then(|()| session.insert(DEVICE, device))
        .and_then(|()| match client.ip_text() {
            Some(ip) => session.insert(CLIENT_IP, ip),
            None => Ok(()),
        })
        .and_then(|()| match &client.user_agent {
            Some(agent) => session.insert(CLIENT_UA, agent),
            None => Ok(()),
        })
        .map_err(|err| PageError::internal(&err))
}

/// The login id of this session (see [`log_in`]), if it is logged in.
pub fn device_of(session: &Session) -> Option<String> {
    session.get::<String>(DEVICE).ok().flatten()
}

/// The account id this session is logged in to, without checking it is still valid.
pub fn user_id_of(session: &Session) -> Option<i64> {
    session.get::<i64>(USER_ID).ok().flatten()
}

/// Where to go after login: `next` if [`safe_return`] allows it, else the account page.
pub fn safe_next(config: &Config, next: &str) -> String {
    let account = format!("{}/account", config.public_url.prefix());
    safe_return(config, next, &account)
}

/// `next` if it is a local path (on this host) or an absolute URL of an origin listed in
/// `LATCHKEY_ALLOWED_RETURN_ORIGINS`, else `fallback`: after login and logout, only redirects
/// within this site or to the product's own origins.
pub fn safe_return(config: &Config, next: &str, fallback: &str) -> String {
    if is_local_path(next) || is_allowed_absolute(config, next) {
        next.to_owned()
    } else {
        fallback.to_owned()
    }
}

fn is_local_path(next: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(next).decode_utf8_lossy();
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !decoded.starts_with("//")
        && !decoded.contains('\\')
        && !decoded.chars().any(char::is_control)
}

/// An absolute http(s) URL of a listed origin, written so that browsers read it as the URL
/// parser does (printable ASCII, no backslash, no credentials).
fn is_allowed_absolute(config: &Config, next: &str) -> bool {
    if config.product.allowed_return_origins.is_empty()
        || next.len() > 1024
        || !next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return false;
    }
    let credentials = url::Url::parse(next).map_or(true, |url| {
        !url.username().is_empty() || url.password().is_some()
    });
    !credentials
        && origin_of(next).is_some_and(|origin| config.product.return_origin_allowed(&origin))
}

#[cfg(test)]
mod tests {
    use super::{safe_next, safe_return};
    use crate::config::Config;

    fn config(pairs: &'static [(&'static str, &'static str)]) -> Config {
        Config::from_vars(&|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn only_single_slash_local_paths_survive() {
        let config = config(&[]);
        assert_eq!(safe_next(&config, "/account/password"), "/account/password");
        assert_eq!(safe_next(&config, "/account?tab=1"), "/account?tab=1");
        for hostile in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "/%2F%2Fevil.test",
            "javascript:alert(1)",
            "/account%0d%0aX:1",
            "",
            "/%5Cevil.test",
        ] {
            assert_eq!(safe_next(&config, hostile), "/account", "{hostile}");
        }
    }

    #[test]
    fn absolute_next_only_to_listed_origins() {
        let config = config(&[
            ("LATCHKEY_PUBLIC_URL", "https://example.com/auth"),
            ("LATCHKEY_ALLOWED_RETURN_ORIGINS", "https://app.example.com"),
        ]);
        assert_eq!(safe_next(&config, ""), "/auth/account");
        assert_eq!(
            safe_next(&config, "https://app.example.com/inbox?x=1"),
            "https://app.example.com/inbox?x=1"
        );
        for hostile in [
            "https://evil.test/",
            "//app.example.com/inbox",
            "http://app.example.com/",
            "https://app.example.com.evil.test/",
            "https://app.example.com@evil.test/",
            "https://u:p@app.example.com/",
            "https://app.example.com\\@evil.test/",
            "https://example.com/other",
        ] {
            assert_eq!(safe_next(&config, hostile), "/auth/account", "{hostile}");
        }
        assert_eq!(
            safe_return(&config, "https://evil.test", "/auth/login"),
            "/auth/login"
        );
    }
}
