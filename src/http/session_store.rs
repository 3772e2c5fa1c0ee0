//! actix-session's `SessionStore` on the `sessions` table, on both backends. No well-kept crate
//! stores actix sessions through diesel, and the store is small.
//!
//! * The cookie holds only a random 256-bit key (encrypted by actix-session); the table holds its
//!   HMAC, so a database dump cannot be replayed as cookies.
//! * A session ends after `LATCHKEY_SESSION_IDLE_TIMEOUT` without a request, and in any case
//!   `LATCHKEY_SESSION_TTL` after it was created (absolute timeout), checked on every load. A
//!   session may ask to be kept at least until a time ([`HOLD_UNTIL`]): the reset page does, so
//!   a person who pauses longer than the idle timeout on the new-password form still finds
//!   the link working for as long as the token lives.
//! * The logged-in account is copied from the state into `user_id`, so logging out everywhere or
//!   changing the password deletes the account's sessions with one statement.
//! * Revocation is final. A request that loaded the session before it was deleted (logout, log out
//!   everywhere, a password change or reset) writes back only to a row that still exists and is
//!   still live; finding none, it continues in a *new anonymous* session: the account keys are
//!   dropped, so neither the old key nor the login can come back. A session's creation time is
//!   fixed when it is saved and every update computes its expiry from it, so activity never
//!   moves the absolute limit; only a real login (which renews the id) starts a new lifetime.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::web;
use base64::Engine;
use chrono::NaiveDateTime;

use crate::db::{self, sessions, Db};
use crate::domain::random_bytes;
use crate::secrets::TokenHasher;

/// The state key holding the logged-in account's id.
pub const USER_ID: &str = "user_id";
/// The state key holding the password stamp the session was logged in under.
pub const STAMP: &str = "stamp";
/// The state key holding a Unix time until which the session is kept even when idle (never
/// past its absolute lifetime).
pub const HOLD_UNTIL: &str = "hold_until";
/// The state key holding the random id of the login (the device list marks the current one).
pub const DEVICE: &str = "device";
/// The state key holding the client address at login (copied to its column for the device list).
pub const CLIENT_IP: &str = "client_ip";
/// The state key holding the client user agent at login.
pub const CLIENT_UA: &str = "client_ua";
/// The state keys that make a session a logged-in one; a session that has to continue under a
/// new key because its row is gone loses them.
const ACCOUNT_KEYS: [&str; 5] = [USER_ID, STAMP, DEVICE, CLIENT_IP, CLIENT_UA];
/// Idle expiry is written at most this often per session (a page view is not always a write).
const TOUCH_GRANULARITY: chrono::Duration = chrono::Duration::seconds(60);

/// Sessions in the database.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    keys: TokenHasher,
    idle: chrono::Duration,
    absolute: chrono::Duration,
}

impl DbSessionStore {
    /// A store whose sessions last `idle` without use and `absolute` at most.
    pub fn new(
        db: Db,
        keys: TokenHasher,
        idle: std::time::Duration,
        absolute: std::time::Duration,
    ) -> Self {
        let absolute = chrono::Duration::from_std(absolute).unwrap_or(chrono::Duration::MAX);
        let idle = chrono::Duration::from_std(idle)
            .unwrap_or(chrono::Duration::MAX)
            .min(absolute);
        Self {
            db,
            keys,
            idle,
            absolute,
        }
    }

    fn expiry(
        &self,
        created_at: NaiveDateTime,
        now: NaiveDateTime,
        hold: Option<NaiveDateTime>,
    ) -> NaiveDateTime {
        let idle_end = now + self.idle;
        hold.map_or(idle_end, |hold| hold.max(idle_end))
            .min(created_at + self.absolute)
    }
}

fn hold_of(state: &HashMap<String, String>) -> Option<NaiveDateTime> {
    let seconds: i64 = serde_json::from_str(state.get(HOLD_UNTIL)?).ok()?;
    chrono::DateTime::from_timestamp(seconds, 0).map(|at| at.naive_utc())
}

fn new_key() -> Result<SessionKey, anyhow::Error> {
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    SessionKey::try_from(key).map_err(anyhow::Error::from)
}

fn text_of(state: &HashMap<String, String>, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|value| serde_json::from_str(value).ok())
}

fn user_of(state: &HashMap<String, String>) -> Option<i64> {
    state
        .get(USER_ID)
        .and_then(|value| serde_json::from_str(value).ok())
}

/// Runs database work off the async workers, inside the request's span, and flattens its errors.
async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, anyhow::Error> + Send + 'static,
) -> Result<T, anyhow::Error> {
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
        .await
        .map_err(anyhow::Error::from)?
}

impl SessionStore for DbSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let (store, hash) = (self.clone(), self.keys.hash(session_key.as_ref()));
        let older = self.keys.fallback_hashes(session_key.as_ref());
        let state = run(move || {
            let now = db::now();
            let mut conn = store.db.get()?;
            let mut found = sessions::find_live(&mut conn, &hash, now, now - store.absolute)?;
            // A session stored under an older key (rotation) is re-keyed when found, so the
            // store's later updates, under the current key, reach it.
            for old in older {
                if found.is_some() {
                    break;
                }
                found = sessions::find_live(&mut conn, &old, now, now - store.absolute)?;
                if found.is_some() {
                    conn.write(|conn| sessions::rekey(conn, &old, &hash))?;
                }
            }
            Ok(found)
        })
        .await
        .map_err(LoadError::Other)?;
        state
            .map(|text| {
                serde_json::from_str(&text).map_err(|err| LoadError::Deserialization(err.into()))
            })
            .transpose()
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = new_key().map_err(SaveError::Other)?;
        let text =
            serde_json::to_string(&state).map_err(|err| SaveError::Serialization(err.into()))?;
        let (store, hash) = (self.clone(), self.keys.hash(key.as_ref()));
        run(move || {
            let now = db::now();
            let (device, ip, agent) = (
                text_of(&state, DEVICE),
                text_of(&state, CLIENT_IP),
                text_of(&state, CLIENT_UA),
            );
            let row = sessions::NewSession {
                key_hash: &hash,
                user_id: user_of(&state),
                state: &text,
                created_at: now,
                expires_at: store.expiry(now, now, hold_of(&state)),
                device_id: device.as_deref(),
                ip_address: ip.as_deref(),
                user_agent: agent.as_deref(),
            };
            Ok(store.db.get()?.write(|conn| row.insert(conn))?)
        })
        .await
        .map_err(SaveError::Other)?;
        Ok(key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        mut state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let text =
            serde_json::to_string(&state).map_err(|err| UpdateError::Serialization(err.into()))?;
        let (store, hash, user_id, hold) = (
            self.clone(),
            self.keys.hash(session_key.as_ref()),
            user_of(&state),
            hold_of(&state),
        );
        let updated = run(move || {
            let now = db::now();
            let mut conn = store.db.get()?;
            let Some(created_at) = sessions::created_at(&mut conn, &hash)? else {
                return Ok(false);
            };
            let expires_at = store.expiry(created_at, now, hold);
            let live = sessions::Live {
                now,
                born_after: now - store.absolute,
            };
            Ok(conn.write(|conn| {
                sessions::update_live(conn, &hash, live, user_id, &text, expires_at)
            })? == 1)
        })
        .await
        .map_err(UpdateError::Other)?;
        if updated {
            Ok(session_key)
        } else {
            // Revoked or expired meanwhile: this request's other values carry on in a new,
            // anonymous session; never the old key, never the account.
            for key in ACCOUNT_KEYS {
                state.remove(key);
            }
            self.save(state, ttl)
                .await
                .map_err(|err| UpdateError::Other(err.into()))
        }
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let (store, hash) = (self.clone(), self.keys.hash(session_key.as_ref()));
        run(move || {
            let now = db::now();
            let mut conn = store.db.get()?;
            if let Some(created_at) = sessions::created_at(&mut conn, &hash)? {
                // Only ever pushes the expiry forward, so a hold already written stays.
                let expires_at = store.expiry(created_at, now, None);
                conn.write(|conn| {
                    sessions::touch(conn, &hash, now, expires_at, TOUCH_GRANULARITY)
                })?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let (store, hash) = (self.clone(), self.keys.hash(session_key.as_ref()));
        run(move || {
            store
                .db
                .get()?
                .write(|conn| sessions::delete(conn, &hash))?;
            Ok(())
        })
        .await
    }
}
