//! Session cookies made under an older secret key (`LATCHKEY_SECRET_KEY_FALLBACKS`) keep
//! working: before the session middleware reads the cookie, one that only an old key opens is
//! re-encrypted under the current key in the request. actix-session knows a single key, and
//! since sessions are extended on every request, the browser gets back a cookie under the
//! current key with the first answer, so removing the fallback later logs nobody out who came
//! back meanwhile.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, COOKIE};
use actix_web::middleware::Next;

/// The cookie's name and the keys it may be encrypted under.
#[derive(Clone)]
pub struct CookieKeys {
    name: String,
    current: Key,
    fallbacks: Vec<Key>,
}

impl std::fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieKeys")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CookieKeys {
    /// The private cookie `name` under `current`, also accepted under `fallbacks`.
    pub fn new(name: &str, current: &[u8; 64], fallbacks: &[[u8; 64]]) -> Self {
        Self {
            name: name.to_owned(),
            current: Key::from(current),
            fallbacks: fallbacks.iter().map(|key| Key::from(key)).collect(),
        }
    }

    /// True when there is nothing to upgrade from.
    pub fn is_trivial(&self) -> bool {
        self.fallbacks.is_empty()
    }

    /// The cookie's value encrypted under the current key, when only a fallback opens `value`.
    fn upgrade(&self, value: &str) -> Option<String> {
        // The header holds the value percent-encoded, as actix writes and reads it.
        let cookie = Cookie::parse_encoded(format!("{}={value}", self.name)).ok()?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie.into_owned());
        if jar.private(&self.current).get(&self.name).is_some() {
            return None;
        }
        let plain = self
            .fallbacks
            .iter()
            .find_map(|old| jar.private(old).get(&self.name))?;
        let mut fresh = CookieJar::new();
        fresh
            .private_mut(&self.current)
            .add(Cookie::new(self.name.clone(), plain.value().to_owned()));
        let encoded = fresh.get(&self.name)?.encoded().to_string();
        encoded.split_once('=').map(|(_, value)| value.to_owned())
    }

    /// A `Cookie` header with this cookie upgraded, or `None` when it needs nothing.
    fn rewrite(&self, header: &str) -> Option<String> {
        let mut changed = false;
        let parts: Vec<String> = header
            .split(';')
            .map(|part| {
                let trimmed = part.trim();
                match trimmed.split_once('=') {
                    Some((name, value)) if name == self.name => match self.upgrade(value) {
                        Some(upgraded) => {
                            changed = true;
                            format!("{name}={upgraded}")
                        }
                        None => trimmed.to_owned(),
                    },
                    _ => trimmed.to_owned(),
                }
            })
            .collect();
        changed.then(|| parts.join("; "))
    }
}

/// Re-encrypts an old-key session cookie in the request before the session middleware sees it.
pub async fn upgrade_old_cookies(
    keys: Arc<CookieKeys>,
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !keys.is_trivial() {
        let rewritten: Vec<Option<String>> = req
            .headers()
            .get_all(COOKIE)
            .map(|value| value.to_str().ok().and_then(|text| keys.rewrite(text)))
            .collect();
        if rewritten.iter().any(Option::is_some) {
            let originals: Vec<HeaderValue> = req.headers().get_all(COOKIE).cloned().collect();
            let headers = req.headers_mut();
            headers.remove(COOKIE);
            for (original, rewritten) in originals.into_iter().zip(rewritten) {
                let value = rewritten
                    .and_then(|text| HeaderValue::from_str(&text).ok())
                    .unwrap_or(original);
                headers.append(COOKIE, value);
            }
        }
    }
    next.call(req).await
}
