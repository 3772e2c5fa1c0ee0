//! Who is logged in to a browser session, and where to send them after login.

use actix_session::Session;
use actix_web::web;

use super::PageError;
use crate::db::users::User;
use crate::http::session_store::{CLIENT_IP, CLIENT_UA, DEVICE, STAMP, USER_ID};
use crate::http::{blocking, AppState};
use crate::services::ClientInfo;

/// The account logged in to this session, if it is still active and its password has not
/// changed since (a session from before a password change is worthless).
pub async fn current_user(
    state: &web::Data<AppState>,
    session: &Session,
) -> Result<Option<User>, PageError> {
    let (Ok(Some(user_id)), Ok(Some(stamp))) =
        (session.get::<i64>(USER_ID), session.get::<i64>(STAMP))
    else {
        return Ok(None);
    };
    let accounts = state.accounts.clone();
    let user = blocking::run(move || accounts.session_user(user_id, stamp))
        .await
        .map_err(PageError::from)??;
    if user.is_none() {
        session.purge();
    }
    Ok(user)
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

/// `next` if it is a local path, else `/account`: only redirects within this site after login.
pub fn safe_next(next: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(next).decode_utf8_lossy();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !decoded.starts_with("//")
        && !decoded.contains('\\')
        && !decoded.chars().any(char::is_control);
    if local {
        next.to_owned()
    } else {
        "/account".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_single_slash_local_paths_survive() {
        assert_eq!(safe_next("/account/password"), "/account/password");
        assert_eq!(safe_next("/account?tab=1"), "/account?tab=1");
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
            assert_eq!(safe_next(hostile), "/account", "{hostile}");
        }
    }
}
